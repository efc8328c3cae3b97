import type { SiemEvent } from '../event.ts';
import type { FormatOptions } from '../formatters/options.ts';
import type { Sender, TransportResult, WireRequest } from '../senders/types.ts';

export interface Rejection {
  /** Index into the batch. */
  index: number;
  status: number | undefined;
  reason: string;
  /** What the SIEM answered about it (truncated), for the operator. */
  response: string;
}

/**
 * A receiver's promise to report later whether it really stored what it
 * accepted (Splunk HEC indexer acknowledgement: an ackId on a channel). Events
 * under a ticket count as delivered only once `Target.confirm` reports it true;
 * if it does not within `timeoutMs`, they are sent again (same ids).
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

/**
 * What one delivery attempt of a batch came to, classified in exactly one
 * place per target. An event counts as delivered only on the receiver's
 * positive acknowledgement: a 2xx without an ack scheme, an item status, or a
 * confirmed AckTicket.
 */
export type BatchOutcome =
  | { kind: 'ok' }
  /** Accepted, not yet acknowledged: delivered once `confirm(ack)` says so; re-sent after its timeout. */
  | { kind: 'pending'; ack: AckTicket }
  | { kind: 'retryable'; reason: string; retryAfterMs?: number | undefined }
  /** 401/403 or a receiver misconfiguration: the stream pauses (with an alarm) and retries; nothing is skipped or parked. */
  | { kind: 'paused'; reason: string }
  /** The whole batch was refused permanently (400/422): bisect to find the poison event. */
  | { kind: 'rejected'; status: number; reason: string; response: string }
  /** 413: split the batch; a single event that is still too large is parked. */
  | { kind: 'too-large'; status: number; response: string }
  /**
   * Per-event results (Elastic _bulk items, HEC invalid-event-number): indexes
   * not named in `rejected`, `retry` or `pending` were acknowledged; `pending`
   * ones were accepted under an acknowledgement ticket still to be confirmed.
   */
  | { kind: 'partial'; rejected: Rejection[]; retry: number[]; retryReason: string; retryAfterMs?: number | undefined; pending?: { indexes: number[]; ack: AckTicket } | undefined };

/**
 * A target turns events into requests for one kind of receiver and judges its
 * answers. It never loops or sleeps: the one retry loop (core/retry) does.
 */
export interface Target {
  /**
   * Sends one batch once and classifies the answer. It throws only when it
   * cannot build the request (an event probectl cannot encode): the engine then
   * narrows the batch down to that event and parks it.
   */
  attempt(events: readonly SiemEvent[], signal: AbortSignal | undefined): Promise<BatchOutcome>;
  /** Asks once whether an acknowledgement ticket from `attempt` was confirmed (targets that return `pending` only). */
  confirm?(ack: AckTicket, signal: AbortSignal | undefined): Promise<AckAnswer>;
  /** The transport this target sends through (for TLS renewals). */
  readonly sender: Sender;
  close(): Promise<void>;
}

export interface TargetContext {
  sender: Sender;
  formatOptions: FormatOptions;
  timeoutMs: number;
}

export function snippet(body: Buffer | string, max = 512): string {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * The status-code rules every HTTP receiver shares: 2xx ok; 408, 429 and 5xx
 * retry (honouring Retry-After); 401/403 pause; 413 split; other 4xx reject.
 */
export function classifyHttp(result: TransportResult, now: number, parseRetryAfter: (v: string | string[] | undefined, now: number) => number | undefined): BatchOutcome {
  if (result.kind === 'failed') return result.alarm ? { kind: 'paused', reason: result.reason } : { kind: 'retryable', reason: result.reason };
  const { status } = result;
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 408 || status === 429 || status >= 500) {
    return { kind: 'retryable', reason: `HTTP ${status}`, retryAfterMs: parseRetryAfter(result.headers['retry-after'], now) };
  }
  if (status === 401 || status === 403) return { kind: 'paused', reason: `HTTP ${status}: the SIEM refused the credentials` };
  if (status === 413) return { kind: 'too-large', status, response: snippet(result.body) };
  return { kind: 'rejected', status, reason: `HTTP ${status}`, response: snippet(result.body) };
}

export type { WireRequest };
