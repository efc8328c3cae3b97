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

describe('StreamDrainer', () => {
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
