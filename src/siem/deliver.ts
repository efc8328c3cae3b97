import { isProbectlError } from '../core/errors.ts';
import { retry, RetryAborted, type Outcome } from '../core/retry/loop.ts';
import type { RetryPolicy } from '../core/retry/policy.ts';
import type { SiemEvent } from './event.ts';
import type { AckTicket, BatchOutcome, Target } from './targets/types.ts';

/** An event that will not be delivered as it is: refused by the receiver, or impossible for probectl to read or encode. */
export interface ParkedEvent {
  seq: number;
  id: string;
  /** The receiver's HTTP status; undefined when probectl itself could not read, map or encode the event. */
  status: number | undefined;
  reason: string;
  response: string;
}

export interface DeliveryHooks {
  onRetry?(reason: string, delayMs: number): void;
  /** The stream is paused (401/403, receiver misconfiguration, credential unavailable) — an alarm; it keeps retrying. */
  onPaused?(reason: string): void;
  onResumed?(): void;
  signal?: AbortSignal;
}

/** Thrown when a retry policy with a limit gave up before every event was acknowledged or parked. */
export class DeliveryIncomplete extends Error {}

/** How often a single event that made probectl throw (not an encoding error) is tried before it is parked. */
export const MAX_INTERNAL_ATTEMPTS = 3;
const ACK_POLL_FIRST_MS = 50;
const ACK_POLL_MAX_MS = 1000;

type Piece =
  | { kind: 'send'; events: SiemEvent[]; internalFailures: number }
  | { kind: 'ack'; events: SiemEvent[]; ack: AckTicket; deadline: number; pollMs: number };

const send = (events: SiemEvent[]): Piece => ({ kind: 'send', events, internalFailures: 0 });

function parkedFrom(event: SiemEvent, status: number | undefined, reason: string, response: string): ParkedEvent {
  return { seq: event.seq, id: event.id, status, reason, response };
}

/** Errors that say this event cannot be rendered at all: retrying it changes nothing. */
function isEncodingFailure(err: unknown): boolean {
  return isProbectlError(err, 'PROBECTL_ERR_SIEM_ENCODING') || isProbectlError(err, 'PROBECTL_ERR_CANONICAL_ENCODING') || err instanceof RangeError;
}

/**
 * Delivers a batch until every event is either acknowledged or parked, in
 * one loop: each step sends the next piece of the batch or asks after an
 * acknowledgement, and the one retry loop (core/retry) waits between steps.
 *
 * - ok: the piece is delivered. pending: delivered once `target.confirm`
 *   reports the ticket true; re-sent (same ids) when it does not in time.
 * - retryable (5xx, 429, timeouts, resets): backoff and again, without limit
 *   under an unlimited policy. paused (401/403, misconfiguration): the same,
 *   with an alarm (onPaused) until an attempt gets through (onResumed).
 * - rejected / too-large for the whole piece: bisected until the refused
 *   event is alone, which is parked with the receiver's answer.
 * - partial: refused events parked, pending ones awaited, retryable ones sent again after a backoff.
 * - the target threw (an event probectl cannot encode): bisected the same
 *   way; the event alone is parked with the reason — at once for an encoding
 *   error, after MAX_INTERNAL_ATTEMPTS for anything else — so one bad event never stalls its stream.
 *
 * Returns the parked events in seq order. Throws RetryAborted when aborted and
 * DeliveryIncomplete when a limited policy gave up.
 */
export async function deliverBatch(target: Target, events: readonly SiemEvent[], policy: RetryPolicy, hooks: DeliveryHooks = {}): Promise<ParkedEvent[]> {
  const parked: ParkedEvent[] = [];
  const work: Piece[] = events.length > 0 ? [send([...events])] : [];
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
  const replaceHead = (...pieces: Piece[]) => void work.splice(0, 1, ...pieces.filter((p) => p.events.length > 0));
  const bisect = (events: SiemEvent[]) => {
    const mid = Math.ceil(events.length / 2);
    replaceHead(send(events.slice(0, mid)), send(events.slice(mid)));
  };

  const internalFailure = (piece: Extract<Piece, { kind: 'send' }>, err: unknown): Outcome<void> => {
    if (piece.events.length > 1) {
      bisect(piece.events);
      return next();
    }
    piece.internalFailures += 1;
    const why = isProbectlError(err) ? err.message : `${(err as Error | undefined)?.name ?? 'Error'}: ${(err as Error | undefined)?.message ?? String(err)}`;
    if (isEncodingFailure(err) || piece.internalFailures >= MAX_INTERNAL_ATTEMPTS) {
      parked.push(parkedFrom(piece.events[0] as SiemEvent, undefined, `probectl could not encode this event: ${why}`.slice(0, 1000), ''));
      work.shift();
      return next();
    }
    return { kind: 'retryable', reason: `probectl failed on an event (${why}); trying it again` };
  };

  const sendStep = async (piece: Extract<Piece, { kind: 'send' }>): Promise<Outcome<void>> => {
    let outcome: BatchOutcome;
    try {
      outcome = await target.attempt(piece.events, signal);
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
        replaceHead({ kind: 'ack', events: piece.events, ack: outcome.ack, deadline: Date.now() + outcome.ack.timeoutMs, pollMs: ACK_POLL_FIRST_MS });
        return next();
      case 'rejected':
      case 'too-large':
        resume();
        if (piece.events.length > 1) {
          bisect(piece.events);
          return next();
        }
        parked.push(parkedFrom(piece.events[0] as SiemEvent, outcome.status, outcome.kind === 'too-large' ? 'event larger than the receiver accepts' : outcome.reason, outcome.response));
        work.shift();
        return next();
      case 'partial': {
        resume();
        for (const r of outcome.rejected) parked.push(parkedFrom(piece.events[r.index] as SiemEvent, r.status, r.reason, r.response));
        const awaiting = outcome.pending;
        const ackPiece: Piece[] = awaiting
          ? [{ kind: 'ack', events: awaiting.indexes.map((i) => piece.events[i] as SiemEvent), ack: awaiting.ack, deadline: Date.now() + awaiting.ack.timeoutMs, pollMs: ACK_POLL_FIRST_MS }]
          : [];
        const again = outcome.retry.map((i) => piece.events[i] as SiemEvent);
        replaceHead(...ackPiece, send(again));
        if (again.length > 0) return { kind: 'retryable', reason: outcome.retryReason, retryAfterMs: outcome.retryAfterMs };
        return next();
      }
    }
  };

  const ackStep = async (piece: Extract<Piece, { kind: 'ack' }>): Promise<Outcome<void>> => {
    const resend = (reason: string): Outcome<void> => {
      replaceHead(send(piece.events));
      return { kind: 'retryable', reason };
    };
    if (!target.confirm) return resend('the target returned an acknowledgement ticket it cannot confirm; re-sending');
    let answer;
    try {
      answer = await target.confirm(piece.ack, signal);
    } catch (err) {
      if (err instanceof RetryAborted || signal?.aborted) throw err;
      return { kind: 'retryable', reason: `acknowledgement query failed (${(err as Error | undefined)?.message ?? 'error'})` };
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

  const final = await retry<void>(policy, async () => {
    const piece = work[0];
    if (!piece) return { kind: 'ok', value: undefined };
    return piece.kind === 'ack' ? ackStep(piece) : sendStep(piece);
  }, { onRetry: (_n, reason, delay) => hooks.onRetry?.(reason, delay), ...(signal ? { signal } : {}) });
  if (final.kind !== 'ok') throw new DeliveryIncomplete(`delivery gave up: ${final.reason}`);
  parked.sort((a, b) => a.seq - b.seq);
  return parked;
}
