import { backoffMs, type RetryPolicy } from './policy.ts';

/**
 * What one attempt came to:
 * - `ok`: done, with a value;
 * - `retryable`: a failure (5xx, 429, timeout, reset, a missing acknowledgement);
 *   the loop waits with exponential backoff and full jitter, or the receiver's
 *   Retry-After if longer (clamped by the policy), and counts it against maxAttempts;
 * - `wait`: no failure, work remains (an acknowledgement not yet reported, the
 *   next part of a split batch); the loop waits exactly `delayMs` (0: at once)
 *   and attempts again. It resets the failure streak and never counts as an attempt;
 * - `permanent`: a failure that retrying cannot fix; the loop stops.
 */
export type Outcome<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'retryable'; readonly reason: string; readonly retryAfterMs?: number | undefined }
  | { readonly kind: 'wait'; readonly reason: string; readonly delayMs: number }
  | { readonly kind: 'permanent'; readonly reason: string };

export interface RetryHooks {
  /** Called before each backoff with the failure number (1-based) and the delay chosen. Not called for `wait`. */
  onRetry?(attempt: number, reason: string, delayMs: number): void;
  signal?: AbortSignal;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export class RetryAborted extends Error {}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new RetryAborted('aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new RetryAborted('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The one retry loop: runs `attempt` until it is ok or permanent. Between
 * retryable outcomes it waits with exponential backoff and full jitter,
 * honouring a Retry-After (clamped by the policy); after maxAttempts failures
 * in a row it returns the last retryable outcome. `wait` outcomes are progress:
 * the loop waits the given delay, resets the failure streak and goes on.
 * Aborting the signal stops the loop with RetryAborted.
 */
export async function retry<T>(policy: RetryPolicy, attempt: (n: number) => Promise<Outcome<T>>, hooks: RetryHooks = {}): Promise<Exclude<Outcome<T>, { kind: 'wait' }>> {
  const wait = hooks.sleep ?? sleep;
  let failures = 0;
  for (let n = 1; ; n++) {
    if (hooks.signal?.aborted) throw new RetryAborted('aborted');
    const outcome = await attempt(n);
    if (outcome.kind === 'wait') {
      failures = 0;
      if (outcome.delayMs > 0) await wait(outcome.delayMs, hooks.signal);
      continue;
    }
    if (outcome.kind !== 'retryable') return outcome;
    failures += 1;
    if (failures >= policy.maxAttempts) return outcome;
    const jittered = backoffMs(policy, failures - 1, hooks.random);
    const delay = outcome.retryAfterMs !== undefined ? Math.max(jittered, Math.min(outcome.retryAfterMs, policy.maxRetryAfterMs)) : jittered;
    hooks.onRetry?.(failures, outcome.reason, delay);
    await wait(delay, hooks.signal);
  }
}
