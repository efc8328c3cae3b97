/**
 * The one outcome vocabulary of the delivery engine (../../shared ARCHITECTURE
 * "Outcomes are values"): what a sink's attempt at a batch came to. A sink
 * classifies its receiver's answer into one of these in exactly one place; the
 * engine's one retry loop (core/retry) acts on it. An item counts as delivered
 * only on the receiver's positive acknowledgement.
 */

/** One item a receiver refused permanently, by its index in the attempted batch. */
export interface Rejection {
  index: number;
  /** The receiver's status code where it has one (HTTP); undefined otherwise. */
  status: number | undefined;
  reason: string;
  /** What the receiver answered about it (truncated), for the operator. */
  response: string;
}

/**
 * A receiver's promise to report later whether it really stored what it
 * accepted (Splunk HEC indexer acknowledgement: an ackId on a channel). Items
 * under a ticket count as delivered only once `Sink.confirm` reports it; if it
 * does not within `timeoutMs`, they are sent again (same ids).
 */
export interface AckTicket {
  readonly id: string;
  readonly timeoutMs: number;
}

/** What one acknowledgement query came to. */
export type AckAnswer =
  | { kind: 'confirmed' }
  | { kind: 'waiting' }
  | { kind: 'retryable'; reason: string; retryAfterMs?: number | undefined }
  | { kind: 'paused'; reason: string };

export type SinkOutcome =
  /** Every item acknowledged. */
  | { kind: 'ok' }
  /** Accepted, not yet acknowledged: delivered once `confirm(ack)` says so; re-sent after its timeout. */
  | { kind: 'pending'; ack: AckTicket }
  /** Nothing stored; try again later (5xx, 429, timeouts, connection errors), honouring retryAfterMs. */
  | { kind: 'retryable'; reason: string; retryAfterMs?: number | undefined }
  /** The receiver refuses this stream (401/403, its misconfiguration): alarm, keep retrying, skip nothing. */
  | { kind: 'paused'; reason: string }
  /**
   * The whole batch refused permanently (400, 422; 413 with `tooLarge`): the
   * engine splits it until the refused item is alone, which is parked.
   */
  | { kind: 'permanent'; reason: string; status?: number | undefined; response?: string; tooLarge?: boolean }
  /**
   * Per-item results (Elastic _bulk items, HEC invalid-event-number, the
   * requests of a batch sent in several): indexes not named in `rejected`,
   * `retry` or `pending` were acknowledged. `retryPaused`: the items to retry
   * were refused because the receiver refuses this stream (401/403 on a later
   * request of the batch, its misconfiguration) — the stream pauses with the
   * same alarm as a `paused` outcome while they are retried.
   */
  | { kind: 'partial'; rejected: Rejection[]; retry: number[]; retryReason: string; retryAfterMs?: number | undefined; retryPaused?: boolean | undefined; pending?: { indexes: number[]; ack: AckTicket } | undefined };
