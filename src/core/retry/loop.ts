import { backoffMs, type RetryPolicy } from './policy.ts';

/** What one attempt came to. */
export type Outcome<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'retryable'; readonly reason: string; readonly retryAfterMs?: number | undefined }
  | { readonly kind: 'permanent'; readonly reason: string };

export interface RetryHooks {
  /** Called before each wait with the attempt number (1-based) that failed and the delay chosen. */
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
 * The one retry loop: runs `attempt` until it is ok or permanent, waiting with
 * exponential backoff and full jitter between retryable outcomes and honouring
 * a Retry-After (clamped by the policy). Aborting the signal stops the loop.
 */
export async function retry<T>(policy: RetryPolicy, attempt: (n: number) => Promise<Outcome<T>>, hooks: RetryHooks = {}): Promise<Outcome<T>> {
  const wait = hooks.sleep ?? sleep;
  for (let n = 1; ; n++) {
    if (hooks.signal?.aborted) throw new RetryAborted('aborted');
    const outcome = await attempt(n);
    if (outcome.kind !== 'retryable' || n >= policy.maxAttempts) return outcome;
    const jittered = backoffMs(policy, n - 1, hooks.random);
    const delay = outcome.retryAfterMs !== undefined ? Math.max(jittered, Math.min(outcome.retryAfterMs, policy.maxRetryAfterMs)) : jittered;
    hooks.onRetry?.(n, outcome.reason, delay);
    await wait(delay, hooks.signal);
  }
}
