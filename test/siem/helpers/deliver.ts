import type { RetryPolicy } from '../../../src/core/retry/policy.ts';
import { deliverBatch, type DeliveryHooks } from '../../../src/delivery/batch.ts';
import type { ParkedItem } from '../../../src/delivery/types.ts';
import type { SiemEvent } from '../../../src/siem/event.ts';
import type { Target } from '../../../src/siem/targets/types.ts';

/** A quick retry policy for tests: retries without limit, honours Retry-After up to 3 s. */
export const TEST_POLICY: RetryPolicy = { baseMs: 5, capMs: 50, maxAttempts: Number.POSITIVE_INFINITY, maxRetryAfterMs: 3000 };

export interface Delivered {
  parked: ParkedItem[];
  retries: { reason: string; delayMs: number }[];
  paused: string[];
  resumed: number;
}

/** Delivers a batch through the real engine (deliverBatch) with a deadline, recording what the engine was told. */
export async function deliverWithin(target: Target, events: readonly SiemEvent[], timeoutMs = 20_000): Promise<Delivered> {
  const seen = { retries: [] as Delivered['retries'], paused: [] as string[], resumed: 0 };
  const hooks: DeliveryHooks = {
    signal: AbortSignal.timeout(timeoutMs),
    onRetry: (reason, delayMs) => void seen.retries.push({ reason, delayMs }),
    onPaused: (reason) => void seen.paused.push(reason),
    onResumed: () => void seen.resumed++,
  };
  return { parked: await deliverBatch(target, events, TEST_POLICY, hooks), ...seen };
}

/** Delivers until the engine reports a pause, then aborts; returns the pause reasons (a misconfiguration never parks). */
export async function pausesWith(target: Target, events: readonly SiemEvent[], timeoutMs = 10_000): Promise<string[]> {
  const controller = new AbortController();
  const paused: string[] = [];
  const run = deliverBatch(target, events, TEST_POLICY, { signal: controller.signal, onPaused: (r) => void paused.push(r) });
  const deadline = Date.now() + timeoutMs;
  while (paused.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  controller.abort();
  await run.catch(() => undefined);
  return paused;
}
