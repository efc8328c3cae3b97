/**
 * Retry policy as data; one loop (./loop.ts) applies it. Providers only
 * classify outcomes; they never loop.
 */
export interface RetryPolicy {
  /** First backoff. */
  readonly baseMs: number;
  /** Backoff never exceeds this (before honouring a longer Retry-After). */
  readonly capMs: number;
  /** Total attempts, the first included; Infinity retries without limit. */
  readonly maxAttempts: number;
  /** Longest Retry-After honoured; a longer one is clamped (a SIEM asking for a day would stall the stream). */
  readonly maxRetryAfterMs: number;
}

/** Exponential backoff with full jitter: a random delay in [0, min(cap, base·2^attempt)). */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** Parses Retry-After (delta-seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
