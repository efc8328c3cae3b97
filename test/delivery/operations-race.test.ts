import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { cursorRows, listParked, openCursor, parkItem } from '../../src/delivery/ledger.ts';
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
  it('an item one replica delivered is not parked again by the other replica\'s refusal, and is counted delivered once', async (t) => {
    const test = await openTestDb();
    t.after(() => test.close());
    const [tenant] = await makeTenants(test.db, 'parked-race');
    await inTenant(test.db, tenant!, async (tx) => {
      await openCursor(tx, 'test', 'audit');
      await tx.query('UPDATE delivery_cursors SET cursor = 1, parked_total = 1 WHERE tenant_id = $1 AND consumer = $2', [tx.tenantId, 'test']);
      await parkItem(tx, 'test', 'audit', { seq: 1, id: item(1).id, status: 400, reason: 'HTTP 400', response: '' }, new Date());
    });

    let aDone!: () => void;
    const aFinished = new Promise<void>((r) => (aDone = r));
    let bStarted!: () => void;
    const bSending = new Promise<void>((r) => (bStarted = r));
    // Replica A's receiver accepts the item; replica B's (the same SIEM a moment earlier, mid-reconfiguration) refuses it.
    const accepting: Sink<DeliveryItem> = { async attempt() { await bSending; return { kind: 'ok' }; }, close: async () => {} };
    const refusing: Sink<DeliveryItem> = {
      async attempt() {
        bStarted();
        await aFinished;
        return { kind: 'permanent', status: 400, reason: 'HTTP 400', response: '' };
      },
      close: async () => {},
    };
    const a = retryParked(test.db, systemClock, runtime(accepting), tenant!, 'token:alice').then((r) => (aDone(), r));
    const b = replicaB.retryParked(test.db, systemClock, runtime(refusing), tenant!, 'token:bob');
    const [ra] = await Promise.all([a, b]);
    assert.equal(ra.delivered, 1);

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
