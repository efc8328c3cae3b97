import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { insertTenant } from '../../src/identity/tenants.ts';
import { doneSeqs, enqueue, markDone, outboxSource, type NewOperation } from '../../src/notify/outbox.ts';
import { incidentKey } from '../../src/notify/providers/shared/keys.ts';
import type { IncidentView } from '../../src/notify/providers/types.ts';
import { inSystem, inTenant } from '../../src/store/scope.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';

const view = (id: string, tenant: string): IncidentView => ({
  id, key: incidentKey(id), tenant, title: 't', severity: 'warning', status: 'open', target: 'x', kindFamily: 'k', signalCount: 1, openedAt: '2026-11-30T12:00:00.000Z',
});

describe(`the outbox (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  let a: string;
  let b: string;
  before(async () => {
    t = await openTestDb();
    [a, b] = await inSystem(t.db, async (tx) => [(await insertTenant(tx, 'outbox-a')).id, (await insertTenant(tx, 'outbox-b')).id] as const);
  });
  after(() => t?.close());

  it('one enqueue for several connectors keeps each connector\'s seq gapless and in the given order; the source reads them back stamped with the scope\'s tenant', async () => {
    const i1 = crypto.randomUUID();
    const i2 = crypto.randomUUID();
    const ops = (tenant: string): NewOperation[] => [
      { connector: 'jira-0000000001', action: 'open', incident: view(i1, tenant) },
      { connector: 'pagerduty-0000000001', action: 'open', incident: view(i1, tenant) },
      { connector: 'jira-0000000001', action: 'acknowledge', incident: view(i1, tenant) },
      { connector: 'jira-0000000001', action: 'update', incident: view(i2, tenant), update: { signals: 2, severityFrom: 'warning', severityTo: 'critical' } },
    ];
    await inTenant(t.db, a, (tx) => enqueue(tx, systemClock, ops(a)));
    await inTenant(t.db, a, (tx) => enqueue(tx, systemClock, ops(a).slice(0, 2)));
    await inTenant(t.db, b, (tx) => enqueue(tx, systemClock, ops(b).slice(0, 1)));
    const jira = outboxSource('jira-0000000001', a);
    const page = await inTenant(t.db, a, (tx) => jira.read(tx, 0, 100));
    assert.deepEqual(page.items.map((i) => [i.seq, i.action, i.incidentId]), [[1, 'open', i1], [2, 'acknowledge', i1], [3, 'update', i2], [4, 'open', i1]]);
    assert.deepEqual(page.items[2]?.update, { signals: 2, severityFrom: 'warning', severityTo: 'critical' });
    assert.ok(page.items.every((i) => i.tenant === a && i.incident.tenant === a));
    assert.equal(await inTenant(t.db, a, (tx) => jira.head(tx)), 4);
    const pd = outboxSource('pagerduty-0000000001', a);
    assert.deepEqual((await inTenant(t.db, a, (tx) => pd.read(tx, 0, 100))).items.map((i) => i.seq), [1, 2]);
    assert.equal(new Set(page.items.map((i) => i.id)).size, 4, 'each operation has its own idempotency key');
    // Another tenant's outbox of the same connector name is its own stream, and invisible here.
    assert.deepEqual((await inTenant(t.db, b, (tx) => outboxSource('jira-0000000001', b).read(tx, 0, 100))).items.map((i) => i.seq), [1]);
    assert.equal((await inTenant(t.db, b, (tx) => tx.query('SELECT 1 FROM notify_outbox WHERE tenant_id = $1', [a]))).rows.length, 0, 'row-level security');
  });

  it('concurrent enqueues to one connector never leave a gap or a duplicate seq', async () => {
    const id = crypto.randomUUID();
    await Promise.all(Array.from({ length: 20 }, () => inTenant(t.db, a, (tx) => enqueue(tx, systemClock, [{ connector: 'webhook-0000000009', action: 'open', incident: view(id, a) }]))));
    const seqs = (await inTenant(t.db, a, (tx) => outboxSource('webhook-0000000009', a).read(tx, 0, 100))).items.map((i) => i.seq);
    assert.deepEqual(seqs, Array.from({ length: 20 }, (_, k) => k + 1));
  });

  it('lookups by seq (readBySeq, markDone, doneSeqs) take any set of seqs: none, one, unordered with gaps, a large batch', async () => {
    const id = crypto.randomUUID();
    const c = 'webhook-0000000010';
    await inTenant(t.db, a, (tx) => enqueue(tx, systemClock, Array.from({ length: 1200 }, () => ({ connector: c, action: 'open' as const, incident: view(id, a) }))));
    const src = outboxSource(c, a);
    assert.deepEqual((await inTenant(t.db, a, (tx) => src.readBySeq(tx, []))).items, []);
    assert.deepEqual([...await inTenant(t.db, a, (tx) => doneSeqs(tx, c, []))], []);
    await inTenant(t.db, a, (tx) => markDone(tx, systemClock, c, [], 'sent', null));
    assert.deepEqual((await inTenant(t.db, a, (tx) => src.readBySeq(tx, [7]))).items.map((i) => i.seq), [7]);
    await inTenant(t.db, a, (tx) => markDone(tx, systemClock, c, [7], 'skipped', 'one'));
    const scattered = [1100, 3, 999, 10, 2];
    assert.deepEqual((await inTenant(t.db, a, (tx) => src.readBySeq(tx, [...scattered, 5000]))).items.map((i) => i.seq), [2, 3, 10, 999, 1100]);
    await inTenant(t.db, a, (tx) => markDone(tx, systemClock, c, scattered, 'skipped', 'scattered'));
    const all = Array.from({ length: 1200 }, (_, k) => 1200 - k);
    await inTenant(t.db, a, (tx) => markDone(tx, systemClock, c, all.filter((q) => q % 2 === 0 && !scattered.includes(q)), 'sent', null));
    const done = await inTenant(t.db, a, (tx) => doneSeqs(tx, c, all));
    const expected = all.filter((q) => q % 2 === 0 || q === 7 || scattered.includes(q));
    assert.deepEqual([...done].sort((x, y) => x - y), expected.sort((x, y) => x - y));
    // Another tenant's seqs in the same range are neither read nor marked.
    assert.deepEqual((await inTenant(t.db, b, (tx) => outboxSource(c, b).readBySeq(tx, all))).items, []);
  });
});
