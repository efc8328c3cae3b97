import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { cursorRows, listParked, openCursor, parkItem, reparkItem } from '../../src/delivery/ledger.ts';
import { retryParked, type DeliveryRuntime } from '../../src/delivery/operations.ts';
import type { DeliveryItem, Page, Sink, Source } from '../../src/delivery/types.ts';
import { inTenant } from '../../src/store/scope.ts';
import { openTestDb } from '../helpers/db.ts';
import { makeTenants } from '../helpers/tenants.ts';

// A second replica: the same module loaded again, so its in-process "one retry at a time" guard is its own.
const secondCopy: string = '../../src/delivery/operations.ts?replica=b';
const replicaB = (await import(secondCopy)) as typeof import('../../src/delivery/operations.ts');

const item = (seq: number): DeliveryItem => ({ seq, id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}` });

const source: Source<DeliveryItem> = {
  stream: 'audit',
  async read(): Promise<Page<DeliveryItem>> {
    return { items: [], failed: [], last: 0 };
  },
  async readBySeq(_tx, seqs) {
    return { items: seqs.map(item), failed: [], last: Math.max(0, ...seqs) };
  },
  head: async () => 1,
  oldestUnsent: async () => null,
};

function runtime(sink: Sink<DeliveryItem>): DeliveryRuntime<DeliveryItem> {
  return { consumer: 'test', sources: [source], sink, policy: { baseMs: 5, capMs: 20, maxAttempts: 3, maxRetryAfterMs: 100 }, batchSize: 10, live: () => [] };
}

describe('retrying parked items on two replicas at once', () => {
  it('one retry runs, the other replica\'s is refused 409; a late refusal never parks a delivered item again, counted delivered once', async (t) => {
    const test = await openTestDb();
    t.after(() => test.close());
    const [tenant] = await makeTenants(test.db, 'parked-race');
    await inTenant(test.db, tenant!, async (tx) => {
      await openCursor(tx, 'test', 'audit');
      await tx.query('UPDATE delivery_cursors SET cursor = 1, parked_total = 1 WHERE tenant_id = $1 AND consumer = $2', [tx.tenantId, 'test']);
      await parkItem(tx, 'test', 'audit', { seq: 1, id: item(1).id, status: 400, reason: 'HTTP 400', response: '' }, new Date());
    });

    // Replica A's retry holds the tenant's retry lock while its receiver answers; replica B's retry meanwhile is refused.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let aSending!: () => void;
    const sending = new Promise<void>((r) => (aSending = r));
    const accepting: Sink<DeliveryItem> = { async attempt() { aSending(); await held; return { kind: 'ok' }; }, close: async () => {} };
    const refusing: Sink<DeliveryItem> = { async attempt() { return { kind: 'permanent', status: 400, reason: 'HTTP 400', response: '' }; }, close: async () => {} };
    const a = retryParked(test.db, systemClock, runtime(accepting), tenant!, 'token:alice');
    await sending;
    await assert.rejects(replicaB.retryParked(test.db, systemClock, runtime(refusing), tenant!, 'token:bob'), (err: Error & { code?: string }) => err.code === 'PROBECTL_ERR_CONFLICT');
    release();
    const ra = await a;
    assert.equal(ra.delivered, 1);

    // Had a refusal of the same item come after A unparked it (a retry not under the lock), its row stays gone.
    await inTenant(test.db, tenant!, (tx) => reparkItem(tx, 'test', 'audit', { seq: 1, id: item(1).id, status: 400, reason: 'HTTP 400', response: '' }, new Date()));

    const parked = await inTenant(test.db, tenant!, (tx) => listParked(tx, 'test', 10));
    const [row] = await inTenant(test.db, tenant!, (tx) => cursorRows(tx, 'test'));
    assert.deepEqual(parked.map((p) => p.seq), [], 'the item was delivered: it is not parked again');
    assert.equal(row?.parked_total, 0);
    assert.equal(row?.delivered_total, 1);

    // A later retry finds nothing to send, so the delivered item is never counted twice.
    const again = await retryParked(test.db, systemClock, runtime({ async attempt() { return { kind: 'ok' }; }, close: async () => {} }), tenant!, 'token:alice');
    assert.equal(again.delivered, 0);
    assert.equal((await inTenant(test.db, tenant!, (tx) => cursorRows(tx, 'test')))[0]?.delivered_total, 1, 'delivered once, counted once');
  });
});
