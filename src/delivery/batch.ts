import { isProbectlError } from '../core/errors.ts';
import { retry, RetryAborted, sleep, type Outcome } from '../core/retry/loop.ts';
import type { RetryPolicy } from '../core/retry/policy.ts';
import type { AckTicket, SinkOutcome } from './outcome.ts';
import type { DeliveryItem, ParkedItem, Sink } from './types.ts';

export interface DeliveryHooks {
  onRetry?(reason: string, delayMs: number): void;
  /** The stream is paused (401/403, receiver misconfiguration, credential unavailable) — an alarm; it keeps retrying. */
  onPaused?(reason: string): void;
  onResumed?(): void;
  signal?: AbortSignal;
  /**
   * Once aborted (a graceful stop), the delivery gives up at its next backoff
   * after a failure (retryable or paused) with RetryAborted instead of waiting
   * to try again: a receiver that refuses or fails is making no progress, and
   * the caller re-sends the batch later (same ids). An attempt in progress, the
   * next part of a split batch and an acknowledgement still awaited go on
   * (until `signal`).
   */
  stopping?: AbortSignal;
}

/** Thrown when a retry policy with a limit gave up before every item was acknowledged or parked. */
export class DeliveryIncomplete extends Error {}

/** How often a single item that made the sink throw (not an encoding error) is tried before it is parked. */
export const MAX_INTERNAL_ATTEMPTS = 3;
const ACK_POLL_FIRST_MS = 50;
const ACK_POLL_MAX_MS = 1000;

type Piece<I> =
  | { kind: 'send'; items: I[]; internalFailures: number }
  | { kind: 'ack'; items: I[]; ack: AckTicket; deadline: number; pollMs: number };

function parkedFrom(item: DeliveryItem, status: number | undefined, reason: string, response: string): ParkedItem {
  return { seq: item.seq, id: item.id, status, reason, response };
}

/** Errors that say this item cannot be rendered at all: retrying it changes nothing. */
function isEncodingFailure(err: unknown): boolean {
  return isProbectlError(err, 'PROBECTL_ERR_SIEM_ENCODING') || isProbectlError(err, 'PROBECTL_ERR_CANONICAL_ENCODING') || err instanceof RangeError;
}

/** An error's description for a parked item's reason: a ProbectlError's message, or the error's name and message. */
export function describeFailure(err: unknown): string {
  return isProbectlError(err) ? err.message : `${(err as Error | undefined)?.name ?? 'Error'}: ${(err as Error | undefined)?.message ?? String(err)}`;
}

/**
 * Delivers a batch until every item is either acknowledged or parked, in one
 * loop: each step sends the next piece of the batch or asks after an
 * acknowledgement, and the one retry loop (core/retry) waits between steps.
 *
 * - ok: the piece is delivered. pending: delivered once `sink.confirm`
 *   reports the ticket; re-sent (same ids) when it does not in time.
 * - retryable (5xx, 429, timeouts, resets): backoff and again, without limit
 *   under an unlimited policy. paused (401/403, misconfiguration): the same,
 *   with an alarm (onPaused) until an attempt gets through (onResumed).
 * - permanent for the whole piece: split in halves until the refused item is
 *   alone, which is parked with the receiver's answer.
 * - partial: refused items parked, pending ones awaited, retryable ones sent again after a backoff
 *   (with the stream paused, as for paused, when `retryPaused` says the receiver refuses the stream).
 * - the sink threw (an item probectl cannot encode): split the same way; the
 *   item alone is parked with the reason — at once for an encoding error,
 *   after MAX_INTERNAL_ATTEMPTS for anything else — so one bad item never stalls its stream.
 *
 * Returns the parked items in seq order. Throws RetryAborted when aborted (`signal`,
 * or `stopping` at a backoff after a failure) and
 * DeliveryIncomplete when a limited policy gave up.
 */
export async function deliverBatch<I extends DeliveryItem>(sink: Sink<I>, items: readonly I[], policy: RetryPolicy, hooks: DeliveryHooks = {}): Promise<ParkedItem[]> {
  const parked: ParkedItem[] = [];
  const send = (part: I[]): Piece<I> => ({ kind: 'send', items: part, internalFailures: 0 });
  const work: Piece<I>[] = items.length > 0 ? [send([...items])] : [];
  let paused = false;
  const signal = hooks.signal;

  const pause = (reason: string): Outcome<void> => {
    if (!paused) hooks.onPaused?.(reason);
    paused = true;
    return { kind: 'retryable', reason };
  };
  const resume = () => {
    if (!paused) return;
    paused = false;
    hooks.onResumed?.();
  };
  const next = (): Outcome<void> => (work.length > 0 ? { kind: 'wait', reason: 'next part of the batch', delayMs: 0 } : { kind: 'ok', value: undefined });
  const replaceHead = (...pieces: Piece<I>[]) => void work.splice(0, 1, ...pieces.filter((p) => p.items.length > 0));
  const split = (part: I[]) => {
    const mid = Math.ceil(part.length / 2);
    replaceHead(send(part.slice(0, mid)), send(part.slice(mid)));
  };
  const awaitAck = (part: I[], ack: AckTicket): Piece<I> => ({ kind: 'ack', items: part, ack, deadline: Date.now() + ack.timeoutMs, pollMs: ACK_POLL_FIRST_MS });

  const internalFailure = (piece: Extract<Piece<I>, { kind: 'send' }>, err: unknown): Outcome<void> => {
    if (piece.items.length > 1) {
      split(piece.items);
      return next();
    }
    piece.internalFailures += 1;
    const why = describeFailure(err);
    if (isEncodingFailure(err) || piece.internalFailures >= MAX_INTERNAL_ATTEMPTS) {
      parked.push(parkedFrom(piece.items[0] as I, undefined, `probectl could not encode this event: ${why}`.slice(0, 1000), ''));
      work.shift();
      return next();
    }
    return { kind: 'retryable', reason: `probectl failed on an event (${why}); trying it again` };
  };

  const sendStep = async (piece: Extract<Piece<I>, { kind: 'send' }>): Promise<Outcome<void>> => {
    let outcome: SinkOutcome;
    try {
      outcome = await sink.attempt(piece.items, signal);
    } catch (err) {
      if (err instanceof RetryAborted || signal?.aborted) throw err;
      return internalFailure(piece, err);
    }
    switch (outcome.kind) {
      case 'retryable':
        return outcome;
      case 'paused':
        return pause(outcome.reason);
      case 'ok':
        resume();
        work.shift();
        return next();
      case 'pending':
        resume();
        replaceHead(awaitAck(piece.items, outcome.ack));
        return next();
      case 'permanent':
        resume();
        if (piece.items.length > 1) {
          split(piece.items);
          return next();
        }
        parked.push(parkedFrom(piece.items[0] as I, outcome.status, outcome.tooLarge ? 'event larger than the receiver accepts' : outcome.reason, outcome.response ?? ''));
        work.shift();
        return next();
      case 'partial': {
        const again = outcome.retry.map((i) => piece.items[i] as I);
        // The rest refused because the receiver refuses the stream (a 401 on a later request): the
        // same alarm as when the first request is refused, kept up (not flapped) if already raised.
        const refusedStream = outcome.retryPaused === true && again.length > 0;
        if (!refusedStream) resume();
        for (const r of outcome.rejected) parked.push(parkedFrom(piece.items[r.index] as I, r.status, r.reason, r.response));
        const awaiting = outcome.pending;
        replaceHead(...(awaiting ? [awaitAck(awaiting.indexes.map((i) => piece.items[i] as I), awaiting.ack)] : []), send(again));
        if (refusedStream) return pause(outcome.retryReason);
        if (again.length > 0) return { kind: 'retryable', reason: outcome.retryReason, retryAfterMs: outcome.retryAfterMs };
        return next();
      }
    }
  };

  const ackStep = async (piece: Extract<Piece<I>, { kind: 'ack' }>): Promise<Outcome<void>> => {
    const resend = (reason: string): Outcome<void> => {
      replaceHead(send(piece.items));
      return { kind: 'retryable', reason };
    };
    if (!sink.confirm) return resend('the sink returned an acknowledgement ticket it cannot confirm; re-sending');
    let answer;
    try {
      answer = await sink.confirm(piece.ack, signal);
    } catch (err) {
      if (err instanceof RetryAborted || signal?.aborted) throw err;
      return { kind: 'retryable', reason: `acknowledgement query failed (${describeFailure(err)})` };
    }
    switch (answer.kind) {
      case 'confirmed':
        resume();
        work.shift();
        return next();
      case 'waiting': {
        if (Date.now() >= piece.deadline) return resend(`no acknowledgement for ticket ${piece.ack.id} within ${piece.ack.timeoutMs} ms; re-sending`);
        const delay = piece.pollMs;
        piece.pollMs = Math.min(piece.pollMs * 2, ACK_POLL_MAX_MS);
        return { kind: 'wait', reason: `waiting for acknowledgement ${piece.ack.id}`, delayMs: Math.min(delay, Math.max(0, piece.deadline - Date.now())) };
      }
      case 'paused':
        return pause(answer.reason);
      case 'retryable':
        return answer;
    }
  };

  // The retry loop calls onRetry right before each backoff after a failure (never before a `wait`):
  // that sleep, and only that one, also ends when `stopping` is aborted.
  // (Made at the first such backoff only: most batches never fail.)
  const stopping = hooks.stopping;
  let backoffSignal: AbortSignal | undefined;
  const backoffSignalOf = () => (backoffSignal ??= stopping ? (signal ? AbortSignal.any([signal, stopping]) : stopping) : signal);
  let backingOff = false;
  const final = await retry<void>(policy, async () => {
    const piece = work[0];
    if (!piece) return { kind: 'ok', value: undefined };
    return piece.kind === 'ack' ? ackStep(piece) : sendStep(piece);
  }, {
    onRetry: (_n, reason, delay) => {
      backingOff = true;
      hooks.onRetry?.(reason, delay);
    },
    sleep: (ms, s) => {
      const afterFailure = backingOff;
      backingOff = false;
      return sleep(ms, afterFailure ? backoffSignalOf() : s);
    },
    ...(signal ? { signal } : {}),
  });
  if (final.kind !== 'ok') throw new DeliveryIncomplete(`delivery gave up: ${final.reason}`);
  parked.sort((a, b) => a.seq - b.seq);
  return parked;
}
