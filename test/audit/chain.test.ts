import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chainHash, GENESIS_HASH } from '../../src/audit/chain.ts';
import { appendAudit, auditHead, deferAudit, flushAudit, pageAudit, verifyAudit } from '../../src/audit/log.ts';
import { canonicalJson } from '../../src/core/canonical.ts';
import { isProbectlError } from '../../src/core/errors.ts';
import { inTenant } from '../../src/store/scope.ts';
import type { Db } from '../../src/store/db.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';
import { makeTenants, manualClock } from '../helpers/tenants.ts';

const clock = manualClock();

async function verify(db: Db, tenant: string) {
  const head = await inTenant(db, tenant, (tx) => auditHead(tx));
  return verifyAudit(tenant, (after) => inTenant(db, tenant, (tx) => pageAudit(tx, after, 7)), head);
}

/** Edits audit rows the way an attacker with the table owner's rights would. */
async function asOwner(t: TestDb, sql: string, params: unknown[]): Promise<number> {
  return t.db.transaction(async (tx) => {
    // A non-superuser owner is itself bound by FORCE ROW LEVEL SECURITY; lifting it is part of the attack.
    await tx.query('ALTER TABLE audit_events NO FORCE ROW LEVEL SECURITY');
    await tx.query('ALTER TABLE stream_heads NO FORCE ROW LEVEL SECURITY');
    const res = await tx.query(sql, params);
    await tx.query('ALTER TABLE audit_events FORCE ROW LEVEL SECURITY');
    await tx.query('ALTER TABLE stream_heads FORCE ROW LEVEL SECURITY');
    return res.rowCount;
  });
}

describe(`audit chain (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  let a: string;
  let b: string;

  before(async () => {
    t = await openTestDb();
    [a, b] = (await makeTenants(t.db, 'audit-a', 'audit-b')) as [string, string];
  });
  after(() => t?.close());

  it('canonical encoding sorts keys at every depth and refuses inexact numbers', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, 'x', null], c: true } }), '{"a":{"c":true,"d":[1,"x",null]},"b":1}');
    assert.equal(canonicalJson({ z: undefined, y: 2 }), '{"y":2}');
    for (const bad of [Number.NaN, Infinity, 2 ** 60]) {
      assert.throws(() => canonicalJson({ n: bad }), (err) => isProbectlError(err, 'PROBECTL_ERR_CANONICAL_ENCODING'));
    }
    let deep: unknown = 'leaf';
    for (let i = 0; i < 50_000; i++) deep = [deep];
    assert.throws(() => canonicalJson({ data: deep }), (err) => isProbectlError(err, 'PROBECTL_ERR_CANONICAL_ENCODING') && /\$\.data(\[0\])+: it nests deeper than 64/.test((err as Error).message), 'a depth bound, never a stack overflow');
  });

  it('appends seq from 1 without gaps, each linked to the previous hash', async () => {
    for (let i = 0; i < 20; i++) {
      await inTenant(t.db, a, (tx) => appendAudit(tx, clock, { actor: 'token:x', action: 'test.append', target: `item:${i}`, outcome: i % 3 === 0 ? 'failure' : 'success', data: { i, nested: { s: 'quote " and \\ and ]', list: [1, 2] } } }));
      clock.advance(1);
    }
    const events = await inTenant(t.db, a, (tx) => pageAudit(tx, 0, 100));
    assert.deepEqual(events.map((e) => e.seq), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.equal(events[0]?.prev_hash, GENESIS_HASH);
    for (let i = 1; i < events.length; i++) assert.equal(events[i]?.prev_hash, events[i - 1]?.hash);
    for (const e of events) assert.equal(chainHash(e, e.prev_hash), e.hash, `hash of seq ${e.seq} recomputes from the stored row`);
    assert.deepEqual(await verify(t.db, a), { ok: true, count: 20, head: { seq: 20, hash: events[19]?.hash } });
  });

  it('pages with after/limit in seq order and isolates tenants', async () => {
    await inTenant(t.db, b, (tx) => appendAudit(tx, clock, { actor: 'token:y', action: 'test.append', target: 'b', outcome: 'success' }));
    const page = await inTenant(t.db, a, (tx) => pageAudit(tx, 5, 4));
    assert.deepEqual(page.map((e) => e.seq), [6, 7, 8, 9]);
    assert.ok(page.every((e) => e.tenant_id === a));
    const bEvents = await inTenant(t.db, b, (tx) => pageAudit(tx, 0, 100));
    assert.deepEqual(bEvents.map((e) => [e.seq, e.target]), [[1, 'b']], 'each tenant has its own chain starting at 1');
  });

  it('concurrent appends for one tenant serialize into a gapless chain', async () => {
    const [c] = await makeTenants(t.db, 'audit-concurrent');
    await Promise.all(Array.from({ length: 40 }, (_, i) => inTenant(t.db, c as string, (tx) => appendAudit(tx, clock, { actor: 'a', action: 'x', target: String(i), outcome: 'success' }))));
    const verdict = await verify(t.db, c as string);
    assert.equal(verdict.ok, true);
    assert.equal(verdict.ok && verdict.count, 40);
  });

  it('an append rolled back with its action leaves no gap', async () => {
    const [d] = await makeTenants(t.db, 'audit-rollback');
    await inTenant(t.db, d as string, (tx) => appendAudit(tx, clock, { actor: 'a', action: 'x', target: '1', outcome: 'success' }));
    await assert.rejects(inTenant(t.db, d as string, async (tx) => {
      await appendAudit(tx, clock, { actor: 'a', action: 'x', target: '2', outcome: 'success' });
      throw new Error('the audited action failed');
    }));
    await inTenant(t.db, d as string, (tx) => appendAudit(tx, clock, { actor: 'a', action: 'x', target: '3', outcome: 'success' }));
    assert.deepEqual((await inTenant(t.db, d as string, (tx) => pageAudit(tx, 0, 10))).map((e) => [e.seq, e.target]), [[1, '1'], [2, '3']]);
    assert.equal((await verify(t.db, d as string)).ok, true);
  });

  it('a deferred group of records is chained in append order by one flush, and verifies with what came before and after', async () => {
    const [g] = await makeTenants(t.db, 'audit-deferred');
    const tenant = g as string;
    // The tenant's very first records deferred (no head yet), then a group on an existing head, then plain appends.
    await inTenant(t.db, tenant, async (tx) => {
      deferAudit(tx);
      for (const i of [1, 2, 3]) await appendAudit(tx, clock, { actor: 'a', action: 'deferred', target: `first:${i}`, outcome: 'success', data: { i } });
      await flushAudit(tx);
    });
    await inTenant(t.db, tenant, async (tx) => {
      await appendAudit(tx, clock, { actor: 'a', action: 'plain', target: 'before', outcome: 'success' });
      deferAudit(tx);
      for (let i = 0; i < 25; i++) await appendAudit(tx, clock, { actor: 'a', action: 'deferred', target: `group:${i}`, outcome: i % 2 ? 'failure' : 'success', data: { i, s: 'quote " \\ \u00e9' } });
      // Nothing is written before the flush.
      assert.equal((await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1', [tenant])).rows[0]?.n, 4);
      await flushAudit(tx);
    });
    await inTenant(t.db, tenant, (tx) => appendAudit(tx, clock, { actor: 'a', action: 'plain', target: 'after', outcome: 'success' }));
    const events = await inTenant(t.db, tenant, (tx) => pageAudit(tx, 0, 100));
    assert.deepEqual(events.map((e) => e.target), ['first:1', 'first:2', 'first:3', 'before', ...Array.from({ length: 25 }, (_, i) => `group:${i}`), 'after']);
    assert.deepEqual(events.map((e) => e.seq), Array.from({ length: 30 }, (_, i) => i + 1));
    const head = await inTenant(t.db, tenant, (tx) => auditHead(tx));
    assert.equal(head?.seq, 30);
    assert.equal((await verify(t.db, tenant)).ok, true);
    // A deferred group rolled back with its transaction leaves no gap and no record.
    await assert.rejects(inTenant(t.db, tenant, async (tx) => {
      deferAudit(tx);
      await appendAudit(tx, clock, { actor: 'a', action: 'deferred', target: 'lost', outcome: 'success' });
      await appendAudit(tx, clock, { actor: 'a', action: 'deferred', target: 'lost', outcome: 'success' });
      await flushAudit(tx);
      throw new Error('the audited action failed');
    }));
    await inTenant(t.db, tenant, (tx) => appendAudit(tx, clock, { actor: 'a', action: 'plain', target: 'last', outcome: 'success' }));
    const last = await inTenant(t.db, tenant, (tx) => pageAudit(tx, 30, 10));
    assert.deepEqual(last.map((e) => [e.seq, e.target]), [[31, 'last']]);
    assert.equal((await verify(t.db, tenant)).ok, true);
  });

  it('verify names the seq of a record edited by the table owner', async () => {
    assert.equal(await asOwner(t, `UPDATE audit_events SET data = jsonb_set(data, '{i}', '999') WHERE tenant_id = $1 AND seq = 13`, [a]), 1);
    const verdict = await verify(t.db, a);
    assert.equal(verdict.ok, false);
    assert.equal(!verdict.ok && verdict.seq, 13);
    assert.match(!verdict.ok ? verdict.reason : '', /hash does not match/);
  });

  it('verify names a deleted record and a truncated tail', async () => {
    const [e] = await makeTenants(t.db, 'audit-deleted');
    for (let i = 0; i < 6; i++) await inTenant(t.db, e as string, (tx) => appendAudit(tx, clock, { actor: 'a', action: 'x', target: String(i), outcome: 'success' }));
    await asOwner(t, 'DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 6', [e]);
    const tail = await verify(t.db, e as string);
    assert.equal(!tail.ok && tail.seq, 6, 'the stored head exposes a removed last record');
    await asOwner(t, 'DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 3', [e]);
    const gap = await verify(t.db, e as string);
    assert.equal(!gap.ok && gap.seq, 3);
  });

  it('verify detects a record rewritten with a recomputed hash (the link to the next record breaks)', async () => {
    const [f] = await makeTenants(t.db, 'audit-rehash');
    for (let i = 0; i < 4; i++) await inTenant(t.db, f as string, (tx) => appendAudit(tx, clock, { actor: 'a', action: 'x', target: String(i), outcome: 'success' }));
    const [two] = await inTenant(t.db, f as string, (tx) => pageAudit(tx, 1, 1));
    const forged = { ...two!, actor: 'someone-else' };
    await asOwner(t, 'UPDATE audit_events SET actor = $3, hash = $4 WHERE tenant_id = $1 AND seq = $2', [f, 2, forged.actor, chainHash(forged, forged.prev_hash)]);
    const verdict = await verify(t.db, f as string);
    assert.equal(!verdict.ok && verdict.seq, 3);
  });
});
