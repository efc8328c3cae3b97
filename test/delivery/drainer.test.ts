import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { Budget } from '../../src/core/budget.ts';
import { systemClock } from '../../src/core/clock.ts';
import { OncePerInterval } from '../../src/core/once-per-interval.ts';
import { StreamDrainer } from '../../src/delivery/drainer.ts';
import { DeliveryMetrics, type LiveStreamState } from '../../src/delivery/metrics.ts';
import type { DeliveryItem, Page, Sink, Source } from '../../src/delivery/types.ts';
import type { Db } from '../../src/store/db.ts';
import { inTenant } from '../../src/store/scope.ts';
import type { RetryPolicy } from '../../src/core/retry/policy.ts';
import type { SinkOutcome } from '../../src/delivery/outcome.ts';
import { openTestDb } from '../helpers/db.ts';
import { makeTenants } from '../helpers/tenants.ts';

const item = (seq: number): DeliveryItem => ({ seq, id: `item-${seq}` });

let metricsSeq = 0;

/** A drainer of the `test` consumer over `source` into `sink` (batches of 10, one in flight); resolves with what it ended on. */
function runDrainer(db: Db, tenant: string, source: Source<DeliveryItem>, sink: Sink<DeliveryItem>, budget: Budget, pollIntervalMs: number): Promise<unknown> {
  const state: LiveStreamState = { tenant, stream: source.stream, paused: false, pausedReason: null, lastError: null, lastErrorAt: null, retries: 0, failures: 0, lastFailureAt: null };
  const drainer = new StreamDrainer<DeliveryItem>({
    db, clock: systemClock, log: pino({ level: 'silent' }), consumer: 'test', tenantId: tenant, source, sink,
    policy: { baseMs: 5, capMs: 20, maxAttempts: Number.POSITIVE_INFINITY, maxRetryAfterMs: 100 },
    batchSize: 10, inflight: 1, pollIntervalMs, budget,
    metrics: new DeliveryMetrics(new Registry(), `probectl_test${(metricsSeq += 1)}`, { title: 'Test', items: 'Items', receiver: 'the receiver' }),
    state, parkAudit: new OncePerInterval(60_000),
  });
  const exit = new Promise<unknown>((resolve) => drainer.start(resolve));
  return Promise.race([exit, new Promise((r) => setTimeout(() => r('no exit within 5 s'), 5000))]);
}

/** A started drainer of the `test` consumer (one batch of 10 in flight) with the given retry policy, for stop tests. */
function startDrainer(db: Db, tenant: string, source: Source<DeliveryItem>, sink: Sink<DeliveryItem>, policy: RetryPolicy, shared?: { state: LiveStreamState; metrics: DeliveryMetrics }): { drainer: StreamDrainer<DeliveryItem>; exit: Promise<unknown> } {
  const state: LiveStreamState = shared?.state ?? { tenant, stream: source.stream, paused: false, pausedReason: null, lastError: null, lastErrorAt: null, retries: 0, failures: 0, lastFailureAt: null };
  const drainer = new StreamDrainer<DeliveryItem>({
    db, clock: systemClock, log: pino({ level: 'silent' }), consumer: 'test', tenantId: tenant, source, sink, policy,
    batchSize: 10, inflight: 1, pollIntervalMs: 50, budget: new Budget(100),
    metrics: shared?.metrics ?? new DeliveryMetrics(new Registry(), `probectl_test${(metricsSeq += 1)}`, { title: 'Test', items: 'Items', receiver: 'the receiver' }),
    state, parkAudit: new OncePerInterval(60_000),
  });
  const exit = new Promise<unknown>((resolve) => drainer.start(resolve));
  return { drainer, exit };
}

/** Ten items (seq 1–10), then caught up. */
const tenItems: Source<DeliveryItem> = {
  stream: 'audit',
  async read(_tx, after): Promise<Page<DeliveryItem>> {
    if (after >= 10) return { items: [], failed: [], last: after };
    return { items: Array.from({ length: 10 - after }, (_, i) => item(after + i + 1)), failed: [], last: 10 };
  },
  async readBySeq() {
    return { items: [], failed: [], last: 0 };
  },
  head: async () => 10,
  oldestUnsent: async () => null,
};

/** Resolves with how long `p` took (ms), or rejects after `limitMs` (the deadline of every stop below). */
async function timed(p: Promise<unknown>, limitMs: number): Promise<number> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`not done within ${limitMs} ms`)), limitMs); })]);
  } finally {
    clearTimeout(timer);
  }
  return Date.now() - started;
}

const cursorOf = (db: Db, tenant: string) => inTenant(db, tenant, async (tx) => (await tx.query<{ cursor: number; delivered_total: number }>("SELECT cursor::int AS cursor, delivered_total::int AS delivered_total FROM delivery_cursors WHERE tenant_id = $1 AND consumer = 'test' AND stream = 'audit'", [tenant])).rows[0]);

describe('StreamDrainer', () => {
  for (const refusal of [{ kind: 'paused', reason: 'the receiver answered 404: check the endpoint' }, { kind: 'retryable', reason: 'HTTP 503' }] as const) {
    it(`a stop does not wait out the grace for a batch backing off after ${refusal.kind === 'paused' ? 'a refusal (paused)' : 'a failure (503)'}: it ends at once, uncommitted, and the next drainer delivers it once`, async (t) => {
      const test = await openTestDb();
      t.after(() => test.close());
      const [tenant] = await makeTenants(test.db, `stop-${refusal.kind}`);
      let attempts = 0;
      const refusing: Sink<DeliveryItem> = {
        async attempt() {
          attempts += 1;
          return refusal as SinkOutcome;
        },
        close: async () => {},
      };
      // Backoffs of up to 2 s: without the fix the stop waits the whole 5 s grace.
      const slow: RetryPolicy = { baseMs: 2000, capMs: 2000, maxAttempts: Number.POSITIVE_INFINITY, maxRetryAfterMs: 2000 };
      const first = startDrainer(test.db, tenant!, tenItems, refusing, slow);
      await timed((async () => { while (attempts < 1) await new Promise((r) => setTimeout(r, 10)); })(), 5000);
      const took = await timed(first.drainer.stop(5000), 8000);
      assert.ok(took < 1000, `the stop took ${took} ms: it waited for the backoff of a receiver that refuses`);
      assert.equal(await first.exit, undefined, 'a clean stop');
      const before = attempts;
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(attempts, before, 'nothing of the stopped drainer goes on sending');
      assert.deepEqual(await cursorOf(test.db, tenant!), { cursor: 0, delivered_total: 0 }, 'the batch was not committed: nothing skipped, nothing counted');

      const got: number[] = [];
      const accepting: Sink<DeliveryItem> = {
        async attempt(items) {
          got.push(...items.map((i) => i.seq));
          return { kind: 'ok' };
        },
        close: async () => {},
      };
      const second = startDrainer(test.db, tenant!, tenItems, accepting, slow);
      await timed((async () => { while ((await cursorOf(test.db, tenant!))?.cursor !== 10) await new Promise((r) => setTimeout(r, 20)); })(), 5000);
      await timed(second.drainer.stop(5000), 8000);
      assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'each item delivered once after the restart');
      assert.deepEqual(await cursorOf(test.db, tenant!), { cursor: 10, delivered_total: 10 }, 'counted once');
    });
  }

  it('a pause left by a drainer stopped while the receiver refused is cleared (state and gauge) once the next drainer of the stream delivers', async (t) => {
    const test = await openTestDb();
    t.after(() => test.close());
    const [tenant] = await makeTenants(test.db, 'stale-pause');
    const registry = new Registry();
    const shared = {
      state: { tenant: tenant!, stream: tenItems.stream, paused: false, pausedReason: null, lastError: null, lastErrorAt: null, retries: 0, failures: 0, lastFailureAt: null } as LiveStreamState,
      metrics: new DeliveryMetrics(registry, `probectl_test${(metricsSeq += 1)}`, { title: 'Test', items: 'Items', receiver: 'the receiver' }),
    };
    const gauge = async () => (await registry.getSingleMetric(`probectl_test${metricsSeq}_paused`)?.get())?.values.find((v) => v.labels.tenant === tenant)?.value;
    let refused = 0;
    const refusing: Sink<DeliveryItem> = { async attempt() { refused += 1; return { kind: 'paused', reason: 'the receiver answered 404' } as SinkOutcome; }, close: async () => {} };
    const policy: RetryPolicy = { baseMs: 2000, capMs: 2000, maxAttempts: Number.POSITIVE_INFINITY, maxRetryAfterMs: 2000 };
    const first = startDrainer(test.db, tenant!, tenItems, refusing, policy, shared);
    await timed((async () => { while (refused < 1) await new Promise((r) => setTimeout(r, 10)); })(), 5000);
    await timed(first.drainer.stop(5000), 8000);
    assert.equal(shared.state.paused, true);
    assert.equal(await gauge(), 1);
    const accepting: Sink<DeliveryItem> = { async attempt() { return { kind: 'ok' }; }, close: async () => {} };
    const second = startDrainer(test.db, tenant!, tenItems, accepting, policy, shared);
    await timed((async () => { while ((await cursorOf(test.db, tenant!))?.cursor !== 10) await new Promise((r) => setTimeout(r, 20)); })(), 5000);
    await timed(second.drainer.stop(5000), 8000);
    assert.equal(shared.state.paused, false, 'delivering again clears the pause');
    assert.equal(shared.state.pausedReason, null);
    assert.equal(await gauge(), 0, 'and its gauge');
  });

  it('a stop still lets a batch that is making progress (an attempt under way) finish within the grace, and commits it', async (t) => {
    const test = await openTestDb();
    t.after(() => test.close());
    const [tenant] = await makeTenants(test.db, 'stop-progress');
    let started = false;
    let aborted = false;
    const slowReceiver: Sink<DeliveryItem> = {
      async attempt(_items, signal) {
        started = true;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 600);
          signal?.addEventListener('abort', () => {
            aborted = true;
            clearTimeout(timer);
            resolve();
          }, { once: true });
        });
        return { kind: 'ok' };
      },
      close: async () => {},
    };
    const policy: RetryPolicy = { baseMs: 5, capMs: 20, maxAttempts: Number.POSITIVE_INFINITY, maxRetryAfterMs: 100 };
    const d = startDrainer(test.db, tenant!, tenItems, slowReceiver, policy);
    await timed((async () => { while (!started) await new Promise((r) => setTimeout(r, 10)); })(), 5000);
    const took = await timed(d.drainer.stop(5000), 8000);
    assert.equal(aborted, false, 'the attempt under way was not aborted');
    assert.ok(took >= 300, `the stop returned after ${took} ms, before the attempt under way had finished`);
    assert.deepEqual(await cursorOf(test.db, tenant!), { cursor: 10, delivered_total: 10 }, 'the batch finished within the grace was committed');
  });

  it('a read that fails while a batch is in flight ends the drainer whole: its sender stops, and the budget is given back once', async (t) => {
    const test = await openTestDb();
    t.after(() => test.close());
    const [tenant] = await makeTenants(test.db, 'reader-fails');
    let reads = 0;
    // Page 1 reads fine; the next read fails (the database went away) while page 1 is still being delivered.
    const source: Source<DeliveryItem> = {
      stream: 'audit',
      async read(_tx, after, limit): Promise<Page<DeliveryItem>> {
        reads += 1;
        if (reads > 1) throw new Error('database unreachable');
        const items = Array.from({ length: limit }, (_, i) => item(after + i + 1));
        return { items, failed: [], last: after + limit };
      },
      async readBySeq() {
        return { items: [], failed: [], last: 0 };
      },
      head: async () => 1000,
      oldestUnsent: async () => null,
    };
    const attempts: number[] = [];
    let afterExit = 0;
    let first = true;
    let exited = false;
    const sink: Sink<DeliveryItem> = {
      async attempt(items, signal) {
        attempts.push(items[0]!.seq);
        if (exited) afterExit += 1;
        // A slow receiver: 300 ms per batch (the drainer's abort ends the wait).
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 300);
          signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          }, { once: true });
        });
        // The first answer is a 503: the batch is still being retried when the read fails.
        if (first) {
          first = false;
          return { kind: 'retryable', reason: 'HTTP 503' };
        }
        return { kind: 'ok' };
      },
      close: async () => {},
    };
    const budget = new Budget(100);
    const err = await runDrainer(test.db, tenant!, source, sink, budget, 50);
    exited = true;
    assert.match(String((err as Error | undefined)?.message ?? err), /database unreachable/, 'the drainer reports the read failure');
    assert.equal(budget.inUse, 0, 'the budget units it held were given back');
    // Another drainer takes half the budget; nothing the ended drainer does may change what it holds.
    await budget.acquire(50);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(afterExit, 0, `the drainer had ended, yet its sender made ${afterExit} more attempt(s) (a restarted drainer would send the same batch beside it)`);
    assert.equal(budget.inUse, 50, 'units were released twice: the budget no longer bounds the buffer');
  });

  it('a commit that fails (the cursor moved under it) ends the drainer whole: its reader stops polling', async (t) => {
    const test = await openTestDb();
    t.after(() => test.close());
    const [tenant] = await makeTenants(test.db, 'cursor-moved');
    let reads = 0;
    let exited = false;
    let readsAfterExit = 0;
    const source: Source<DeliveryItem> = {
      stream: 'audit',
      async read(_tx, after): Promise<Page<DeliveryItem>> {
        reads += 1;
        if (exited) readsAfterExit += 1;
        // One page of three, then caught up.
        if (after >= 3) return { items: [], failed: [], last: after };
        return { items: [item(1), item(2), item(3)], failed: [], last: 3 };
      },
      async readBySeq() {
        return { items: [], failed: [], last: 0 };
      },
      head: async () => 3,
      oldestUnsent: async () => null,
    };
    const sink: Sink<DeliveryItem> = {
      async attempt() {
        // Another replica moves the cursor while the batch is out.
        await inTenant(test.db, tenant!, (tx) => tx.query("UPDATE delivery_cursors SET cursor = 2 WHERE tenant_id = $1 AND consumer = 'test'", [tenant]));
        await new Promise((r) => setTimeout(r, 200));
        return { kind: 'ok' };
      },
      close: async () => {},
    };
    const budget = new Budget(100);
    const err = await runDrainer(test.db, tenant!, source, sink, budget, 20);
    exited = true;
    assert.match(String((err as Error | undefined)?.message ?? err), /cursor .* moved under this replica/);
    assert.ok(reads >= 2, 'the reader had caught up and was polling');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(readsAfterExit, 0, `${readsAfterExit} reads after the drainer ended: its reader kept polling beside its successor`);
    assert.equal(budget.inUse, 0, 'no units held by a reader that outlived its drainer');
  });
});
