import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getAgent, listAgents, registerAgent } from '../../src/agents/registry.ts';
import { isProbectlError } from '../../src/core/errors.ts';
import { insertTenant } from '../../src/identity/tenants.ts';
import { inSystem, inTenant } from '../../src/store/scope.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';

describe(`agent registry (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  let a: string;
  let b: string;

  before(async () => {
    t = await openTestDb();
    [a, b] = await inSystem(t.db, async (tx) => [(await insertTenant(tx, 'agents-a')).id, (await insertTenant(tx, 'agents-b')).id] as const);
  });
  after(() => t?.close());

  it('registers per tenant: names unique within a tenant only, another tenant\'s agent invisible', async () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const made = await inTenant(t.db, a, (tx) => registerAgent(tx, at, { name: 'probe-1', hostname: 'probe-1.example', address: '192.0.2.1' }));
    assert.deepEqual(made, { id: made.id, tenant: a, name: 'probe-1', hostname: 'probe-1.example', address: '192.0.2.1', created_at: at.toISOString() });
    await assert.rejects(inTenant(t.db, a, (tx) => registerAgent(tx, at, { name: 'probe-1', address: '192.0.2.2' })), (err) => isProbectlError(err, 'PROBECTL_ERR_CONFLICT'));
    await inTenant(t.db, b, (tx) => registerAgent(tx, at, { name: 'probe-1', hostname: 'b.example' }));
    assert.equal(await inTenant(t.db, b, (tx) => getAgent(tx, made.id)), undefined);
    assert.deepEqual((await inTenant(t.db, a, (tx) => listAgents(tx, 10))).map((x) => x.hostname), ['probe-1.example']);
  });

  it('the app role cannot write another tenant\'s agent, nor update or delete agents', async () => {
    await assert.rejects(inTenant(t.db, a, (tx) => tx.query("INSERT INTO agents (id, tenant_id, name, hostname, created_at) VALUES (gen_random_uuid(), $1, 'forged', 'x', now())", [b])), /row-level security/);
    for (const sql of ["UPDATE agents SET hostname = 'moved'", 'DELETE FROM agents']) {
      await assert.rejects(inTenant(t.db, a, (tx) => tx.query(sql)), /permission denied/, sql);
    }
    await assert.rejects(inTenant(t.db, a, (tx) => tx.query("INSERT INTO agents (id, tenant_id, name, created_at) VALUES (gen_random_uuid(), $1, 'nohost', now())", [a])), /check constraint/);
  });
});
