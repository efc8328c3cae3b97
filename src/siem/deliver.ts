import { retry, sleep, type Outcome } from '../core/retry/loop.ts';
import { backoffMs, type RetryPolicy } from '../core/retry/policy.ts';
import type { SiemEvent } from './event.ts';
import type { BatchOutcome, Target } from './targets/types.ts';

export interface ParkedEvent {
  event: SiemEvent;
  status: number | undefined;
  reason: string;
  response: string;
}

export interface DeliveryHooks {
  onRetry?(reason: string, delayMs: number): void;
  /** The stream is paused (401/403, receiver misconfiguration) — an alarm; it keeps retrying. */
  onPaused?(reason: string): void;
  onResumed?(): void;
  signal?: AbortSignal;
}

/**
 * Delivers a batch until every event is either acknowledged or parked, in
 * order. Retryable outcomes (5xx, 429, timeouts, resets, missing acks) and
 * pauses (401/403) retry without limit through the one retry loop. A batch
 * refused as a whole is bisected until the refused event is alone, which is
 * then parked; per-event answers park exactly the refused events and retry
 * the rest. Returns the parked events; throws only when aborted.
 */
export async function deliverBatch(target: Target, events: readonly SiemEvent[], policy: RetryPolicy, hooks: DeliveryHooks = {}): Promise<ParkedEvent[]> {
  const parked: ParkedEvent[] = [];
  const work: SiemEvent[][] = [[...events]];
  let paused = false;
  let partialRounds = 0;
  while (work.length > 0) {
    const batch = work.shift() as SiemEvent[];
    if (batch.length === 0) continue;
    const final = await retry<BatchOutcome>(policy, async (): Promise<Outcome<BatchOutcome>> => {
      const outcome = await target.attempt(batch, hooks.signal);
      if (outcome.kind === 'retryable') return outcome;
      if (outcome.kind === 'paused') {
        if (!paused) hooks.onPaused?.(outcome.reason);
        paused = true;
        return { kind: 'retryable', reason: outcome.reason };
      }
      if (paused) {
        paused = false;
        hooks.onResumed?.();
      }
      return { kind: 'ok', value: outcome };
    }, { onRetry: (_n, reason, delay) => hooks.onRetry?.(reason, delay), ...(hooks.signal ? { signal: hooks.signal } : {}) });
    if (final.kind !== 'ok') continue; // unreachable with an unlimited policy; a limited one leaves the rest for the next run
    const outcome = final.value;
    switch (outcome.kind) {
      case 'ok':
        break;
      case 'rejected':
      case 'too-large':
        if (batch.length === 1) {
          parked.push({ event: batch[0] as SiemEvent, status: outcome.status, reason: outcome.kind === 'too-large' ? 'event larger than the receiver accepts' : outcome.reason, response: outcome.response });
        } else {
          const mid = Math.ceil(batch.length / 2);
          work.unshift(batch.slice(0, mid), batch.slice(mid));
        }
        break;
      case 'partial': {
        for (const r of outcome.rejected) parked.push({ event: batch[r.index] as SiemEvent, status: r.status, reason: r.reason, response: r.response });
        const again = outcome.retry.map((i) => batch[i] as SiemEvent);
        if (again.length > 0) {
          // A Retry-After the receiver gave with its partial answer is honoured, as for a whole batch.
          const delay = Math.max(backoffMs(policy, partialRounds++), Math.min(outcome.retryAfterMs ?? 0, policy.maxRetryAfterMs));
          hooks.onRetry?.(outcome.retryReason, delay);
          await sleep(delay, hooks.signal);
          work.unshift(again);
        }
        break;
      }
      default:
        break;
    }
  }
  parked.sort((a, b) => a.event.seq - b.event.seq);
  return parked;
}
