import { appendAudit } from '../audit/log.ts';
import type { Clock } from '../core/clock.ts';
import { ProbectlError } from '../core/errors.ts';
import { RetryAborted } from '../core/retry/loop.ts';
import type { RetryPolicy } from '../core/retry/policy.ts';
import type { Db } from '../store/db.ts';
import { inTenant } from '../store/scope.ts';
import { deliverBatch, DeliveryIncomplete } from './batch.ts';
import { lockKey } from './engine.ts';
import { cursorRows, listParked, parkedPositions, reparkItem, unpark, type ParkedRow } from './ledger.ts';
import type { ConsumerWords, LiveStreamState } from './metrics.ts';
import type { DeliveryItem, Sink, Source } from './types.ts';

/** What the operations on a consumer's delivery need: its sources, its sink and retry policy, and this replica's live state. */
export interface DeliveryRuntime<I extends DeliveryItem> {
  consumer: string;
  sources: readonly Source<I>[];
  sink: Sink<I>;
  policy: RetryPolicy;
  batchSize: number;
  live(): LiveStreamState[];
  /** How this consumer's answers name what it sends and to whom (default: events, the receiver). */
  words?: Pick<ConsumerWords, 'items' | 'receiver'>;
}

/** One stream's delivery status for a tenant, as `GET /v1/<consumer>/status` shows it. */
export interface StreamStatus {
  stream: string;
  cursor: number;
  head: number;
  lag_events: number;
  lag_seconds: number;
  delivered_total: number;
  /** Events parked now (a retry that delivers them takes them off). */
  parked: number;
  last_success_at: string | null;
  drained_here: boolean;
  paused: boolean;
  paused_reason: string | null;
  last_error: string | null;
  last_error_at: string | null;
  retries: number;
  /** Times the drainer stopped on an error and restarted (alarm when it grows). */
  failures: number;
  last_failure_at: string | null;
}

/** Every stream of the consumer for one tenant: the durable cursor and counters, and this replica's live state. */
export async function streamStatuses<I extends DeliveryItem>(db: Db, clock: Clock, tenantId: string, runtime: DeliveryRuntime<I>): Promise<StreamStatus[]> {
  const live = new Map(runtime.live().filter((s) => s.tenant === tenantId).map((s) => [s.stream, s]));
  return inTenant(db, tenantId, async (tx) => {
    const rows = new Map((await cursorRows(tx, runtime.consumer)).map((r) => [r.stream, r]));
    const out: StreamStatus[] = [];
    for (const source of runtime.sources) {
      const row = rows.get(source.stream);
      const cursor = row?.cursor ?? 0;
      const head = await source.head(tx);
      const oldest = await source.oldestUnsent(tx, cursor);
      const l = live.get(source.stream);
      out.push({
        stream: source.stream, cursor, head, lag_events: Math.max(0, head - cursor),
        lag_seconds: oldest ? Math.max(0, Math.round((clock.now() - oldest.getTime()) / 1000)) : 0,
        delivered_total: row?.delivered_total ?? 0, parked: row?.parked_total ?? 0,
        last_success_at: row?.last_success_at?.toISOString() ?? null,
        drained_here: l !== undefined, paused: l?.paused ?? false, paused_reason: l?.pausedReason ?? null,
        last_error: l?.lastError ?? null, last_error_at: l?.lastErrorAt ?? null, retries: l?.retries ?? 0,
        failures: l?.failures ?? 0, last_failure_at: l?.lastFailureAt ?? null,
      });
    }
    return out;
  });
}

/**
 * An operator's re-send (parked retry, replay) runs while the operator waits, so unlike a drainer it
 * gives up on a batch: after OPERATION_ATTEMPTS failed attempts in a row (backoff capped at 5 s), or
 * when one batch has not been acknowledged within OPERATION_DEADLINE_MS. What was not delivered stays
 * as it was (parked events stay parked).
 */
export const OPERATION_ATTEMPTS = 6;
export const OPERATION_DEADLINE_MS = 120_000;

function operationPolicy(policy: RetryPolicy): RetryPolicy {
  return { ...policy, maxAttempts: OPERATION_ATTEMPTS, capMs: Math.min(policy.capMs, 5000), maxRetryAfterMs: Math.min(policy.maxRetryAfterMs, 10_000) };
}

/** Delivers one batch for an operation: the items refused for good, or a 503 naming why the receiver could not be reached. */
async function deliverForOperation<I extends DeliveryItem>(runtime: DeliveryRuntime<I>, items: readonly I[], cancel?: AbortSignal) {
  const deadline = AbortSignal.timeout(OPERATION_DEADLINE_MS);
  try {
    return await deliverBatch(runtime.sink, items, operationPolicy(runtime.policy), { signal: cancel ? AbortSignal.any([deadline, cancel]) : deadline });
  } catch (err) {
    if (err instanceof RetryAborted && cancel?.aborted) throw new ProbectlError('PROBECTL_ERR_DELIVERY_UNAVAILABLE', 'cancelled: the client went away');
    if (err instanceof DeliveryIncomplete || err instanceof RetryAborted) {
      const why = err instanceof RetryAborted ? `a batch was not acknowledged within ${OPERATION_DEADLINE_MS / 1000} s` : err.message;
      const { receiver = 'the receiver', items: what = 'events' } = runtime.words ?? {};
      throw new ProbectlError('PROBECTL_ERR_DELIVERY_UNAVAILABLE', `${receiver} did not accept the ${what.toLowerCase()} (${why}); what it did not acknowledge stays as it was — try again later`);
    }
    throw err;
  }
}

/** Most parked items one retry re-sends (the oldest first per stream); run it again for the rest. */
const MAX_RETRIED = 100_000;

/** Tenants whose parked items are being re-sent, and tenant streams being replayed, by this process (a second one at the same time is refused). */
const retrying = new Set<string>();
const replaying = new Set<string>();

/** Runs `fn` unless the same `key` is already running in this process (409). */
async function once<T>(running: Set<string>, key: string, what: string, fn: () => Promise<T>): Promise<T> {
  if (running.has(key)) throw new ProbectlError('PROBECTL_ERR_CONFLICT', `${what} is already running; wait for it to finish`);
  running.add(key);
  try {
    return await fn();
  } finally {
    running.delete(key);
  }
}

export async function parkedItems(db: Db, consumer: string, tenantId: string, limit = 1000): Promise<ParkedRow[]> {
  return inTenant(db, tenantId, (tx) => listParked(tx, consumer, limit));
}

/**
 * Sends the parked items again (after the operator fixed what made the
 * receiver refuse them). Delivered ones leave the parked table; refused ones
 * stay, with the new answer and one more attempt counted. Audited as
 * `<consumer>.parked.retry` with the actor.
 */
export async function retryParked<I extends DeliveryItem>(db: Db, clock: Clock, runtime: DeliveryRuntime<I>, tenantId: string, actor: string): Promise<{ retried: number; delivered: number; still_parked: number }> {
  const what = 'a retry of this tenant\'s parked events';
  return once(retrying, `${runtime.consumer}|${tenantId}`, what, () => acrossReplicas(db, lockKey(`${runtime.consumer}.parked-retry`, tenantId, ''), what, () => retryParkedOnce(db, clock, runtime, tenantId, actor)));
}

/**
 * Runs `fn` under a session-level advisory lock, refused 409 while another
 * replica holds it. The in-process `once` alone let two replicas (the same
 * request sent twice through a load balancer, two operators) re-send the same
 * parked items together: both read them before either unparked them, and a
 * receiver without idempotency got them twice (a Jira issue searched for
 * before either create: two issues).
 */
async function acrossReplicas<T>(db: Db, key: bigint, what: string, fn: () => Promise<T>): Promise<T> {
  const session = await db.lockSession();
  try {
    if (!(await session.tryLock(key))) throw new ProbectlError('PROBECTL_ERR_CONFLICT', `${what} is already running on another replica; wait for it to finish`);
    try {
      return await fn();
    } finally {
      await session.unlock(key).catch(() => undefined);
    }
  } finally {
    await session.close().catch(() => undefined);
  }
}

interface RetryTally {
  delivered: number;
  still: number;
}

async function retryParkedOnce<I extends DeliveryItem>(db: Db, clock: Clock, runtime: DeliveryRuntime<I>, tenantId: string, actor: string): Promise<{ retried: number; delivered: number; still_parked: number }> {
  const { consumer } = runtime;
  const parked = await inTenant(db, tenantId, (tx) => parkedPositions(tx, consumer, MAX_RETRIED));
  const tally: RetryTally = { delivered: 0, still: 0 };
  const audit = (outcome: 'success' | 'failure', extra: Record<string, unknown> = {}) => inTenant(db, tenantId, (tx) => appendAudit(tx, clock, {
    actor, action: `${consumer}.parked.retry`, target: consumer, outcome, data: { retried: parked.length, delivered: tally.delivered, still_parked: tally.still, ...extra },
  }));
  try {
    await resendParked(db, clock, runtime, tenantId, parked, tally);
  } catch (err) {
    if (!(err instanceof ProbectlError && err.code === 'PROBECTL_ERR_DELIVERY_UNAVAILABLE')) throw err;
    await audit('failure', { error: err.message });
    throw new ProbectlError(err.code, `${err.message} (${tally.delivered} of ${parked.length} delivered before it gave up)`);
  }
  await audit(tally.still === 0 ? 'success' : 'failure');
  return { retried: parked.length, delivered: tally.delivered, still_parked: tally.still };
}

/** Re-sends the parked rows stream by stream, a batch at a time, unparking what was acknowledged as it goes. */
async function resendParked<I extends DeliveryItem>(db: Db, clock: Clock, runtime: DeliveryRuntime<I>, tenantId: string, parked: ReadonlyArray<{ stream: string; seq: number }>, tally: RetryTally): Promise<void> {
  const { consumer } = runtime;
  for (const source of runtime.sources) {
    const seqs = parked.filter((p) => p.stream === source.stream).map((p) => p.seq);
    for (let i = 0; i < seqs.length; i += runtime.batchSize) {
      const chunk = seqs.slice(i, i + runtime.batchSize);
      const page = await inTenant(db, tenantId, (tx) => source.readBySeq(tx, chunk));
      const refused = [...page.failed, ...(await deliverForOperation(runtime, page.items))];
      const refusedSeqs = new Set(refused.map((r) => r.seq));
      const ok = page.items.map((e) => e.seq).filter((s) => !refusedSeqs.has(s));
      tally.delivered += await inTenant(db, tenantId, async (tx) => {
        const unparked = await unpark(tx, clock, consumer, source.stream, ok);
        const at = new Date(clock.now());
        for (const r of refused) await reparkItem(tx, consumer, source.stream, r, at);
        return unparked;
      });
      tally.still += refused.length;
    }
  }
}

export interface ReplayProgress {
  sent: number;
  total: number;
  rejected: number;
}

/**
 * Re-sends a range of a tenant's stream (for a receiver that lost data)
 * without touching the delivery cursor. Ids are the same as the first time,
 * so a receiver that deduplicates keeps one copy. Refused items are counted,
 * not parked. Audited as `<consumer>.replay`. One replay per tenant stream
 * runs at a time in this process (409 otherwise); `cancel` (the client went
 * away) stops it before its next batch.
 */
export async function replay<I extends DeliveryItem>(db: Db, clock: Clock, runtime: DeliveryRuntime<I>, tenantId: string, actor: string, range: { stream: string; from: number; to?: number | undefined }, onProgress: (p: ReplayProgress) => void, cancel?: AbortSignal): Promise<ReplayProgress> {
  const source = runtime.sources.find((s) => s.stream === range.stream);
  if (!source) throw new RangeError(`no stream ${range.stream}`);
  return once(replaying, `${runtime.consumer}|${tenantId}|${range.stream}`, `a replay of this tenant's ${range.stream} stream`, () => replayRange(db, clock, runtime, tenantId, actor, source, range, onProgress, cancel));
}

async function replayRange<I extends DeliveryItem>(db: Db, clock: Clock, runtime: DeliveryRuntime<I>, tenantId: string, actor: string, source: Source<I>, range: { stream: string; from: number; to?: number | undefined }, onProgress: (p: ReplayProgress) => void, cancel: AbortSignal | undefined): Promise<ReplayProgress> {
  const head = await inTenant(db, tenantId, (tx) => source.head(tx));
  const last = Math.min(range.to ?? head, head);
  const progress: ReplayProgress = { sent: 0, total: Math.max(0, last - range.from + 1), rejected: 0 };
  await inTenant(db, tenantId, (tx) => appendAudit(tx, clock, { actor, action: `${runtime.consumer}.replay`, target: `${runtime.consumer}:${range.stream}`, outcome: 'success', data: { from: range.from, to: last } }));
  onProgress({ ...progress });
  let after = range.from - 1;
  while (after < last) {
    const page = await inTenant(db, tenantId, (tx) => source.read(tx, after, Math.min(runtime.batchSize, last - after)));
    if (page.items.length === 0 && page.failed.length === 0) break;
    const refused = await deliverForOperation(runtime, page.items, cancel);
    progress.sent += page.items.length - refused.length;
    progress.rejected += refused.length + page.failed.length;
    after = page.last;
    onProgress({ ...progress });
  }
  return progress;
}
