import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { insertTenant } from '../../src/identity/tenants.ts';
import { APP_ROLE, inSystem, inTenant } from '../../src/store/scope.ts';
import { isProbectlError } from '../../src/core/errors.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';

const TENANT_TABLES = ['tokens', 'stream_heads', 'audit_events', 'incidents', 'signals', 'indicators', 'agents'];

describe(`row-level security (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  let a: string;
  let b: string;

  before(async () => {
    t = await openTestDb();
    [a, b] = await inSystem(t.db, async (tx) => [(await insertTenant(tx, 'tenant-a')).id, (await insertTenant(tx, 'tenant-b')).id] as const);
    for (const [tenant, name] of [[a, 'a-ind'], [b, 'b-ind']] as const) {
      await inTenant(t.db, tenant, (tx) => tx.query(
        `INSERT INTO indicators (id, tenant_id, kind, value, net, confidence, severity, source, origin, created_at)
         VALUES (gen_random_uuid(), $1, 'domain', $2, NULL, 50, 'warning', 'test', 'api', now())`, [tenant, `${name}.example`]));
    }
  });
  after(() => t?.close());

  it('every tenant-owned table has RLS enabled and forced, with a tenant isolation policy', async () => {
    const res = await t.db.transaction((tx) => tx.query<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean; policies: string[] }>(
      `SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
              coalesce((SELECT array_agg(p.polname::text) FROM pg_policy p WHERE p.polrelid = c.oid), '{}') AS policies
         FROM pg_class c JOIN information_schema.columns col ON col.table_name = c.relname AND col.table_schema = 'public'
        WHERE col.column_name = 'tenant_id' AND c.relkind = 'r'`));
    const tables = res.rows.map((r) => r.relname).sort();
    for (const expected of TENANT_TABLES) assert.ok(tables.includes(expected), `${expected} is tenant-owned`);
    for (const r of res.rows) {
      assert.ok(r.relrowsecurity && r.relforcerowsecurity, `${r.relname} must have RLS enabled and forced`);
      assert.ok(r.policies.includes('tenant_isolation'), `${r.relname} needs the tenant_isolation policy`);
    }
  });

  it('the application role owns nothing and cannot bypass RLS', async () => {
    const res = await t.db.transaction((tx) => tx.query<{ rolsuper: boolean; rolbypassrls: boolean; owned: number }>(
      `SELECT rolsuper, rolbypassrls, (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid) AS owned FROM pg_roles r WHERE rolname = $1`, [APP_ROLE]));
    assert.deepEqual(res.rows[0], { rolsuper: false, rolbypassrls: false, owned: 0 });
  });

  it('under tenant A a query sees only A rows, whatever its WHERE clause says', async () => {
    const seen = await inTenant(t.db, a, (tx) => tx.query<{ value: string }>('SELECT value FROM indicators'));
    assert.deepEqual(seen.rows.map((r) => r.value), ['a-ind.example']);
    const explicit = await inTenant(t.db, a, (tx) => tx.query('SELECT * FROM indicators WHERE tenant_id = $1', [b]));
    assert.equal(explicit.rows.length, 0);
    const tenants = await inTenant(t.db, a, (tx) => tx.query<{ id: string }>('SELECT id FROM tenants'));
    assert.deepEqual(tenants.rows.map((r) => r.id), [a]);
  });

  it('under tenant A an insert of a B row is refused and nothing is written', async () => {
    await assert.rejects(inTenant(t.db, a, (tx) => tx.query(
      `INSERT INTO indicators (id, tenant_id, kind, value, net, confidence, severity, source, origin, created_at)
       VALUES (gen_random_uuid(), $1, 'domain', 'forged.example', NULL, 50, 'warning', 'test', 'api', now())`, [b])),
      /row-level security/);
    const bRows = await inTenant(t.db, b, (tx) => tx.query<{ value: string }>('SELECT value FROM indicators ORDER BY value'));
    assert.deepEqual(bRows.rows.map((r) => r.value), ['b-ind.example']);
  });

  it('under tenant A an update or delete cannot reach B rows, nor move an A row to B', async () => {
    const upd = await inTenant(t.db, a, (tx) => tx.query(`UPDATE indicators SET confidence = 99 WHERE value = 'b-ind.example'`));
    assert.equal(upd.rowCount, 0);
    const del = await inTenant(t.db, a, (tx) => tx.query(`DELETE FROM indicators WHERE value = 'b-ind.example'`));
    assert.equal(del.rowCount, 0);
    await assert.rejects(inTenant(t.db, a, (tx) => tx.query('UPDATE indicators SET source = $1', ['moved']).then(() =>
      tx.query('UPDATE stream_heads SET seq = seq WHERE tenant_id = $1', [a])).then(() =>
      tx.query(`INSERT INTO stream_heads (tenant_id, stream, seq) VALUES ($1, 'x', 0)`, [b]))), /row-level security/);
    await assert.rejects(inTenant(t.db, a, (tx) => tx.query('UPDATE indicators SET tenant_id = $1', [b])), /permission denied|row-level security/);
    await assert.rejects(inTenant(t.db, a, (tx) => tx.query('UPDATE stream_heads SET tenant_id = $1', [b])), /permission denied|row-level security/);
    const aRows = await inTenant(t.db, a, (tx) => tx.query<{ source: string }>('SELECT source FROM indicators'));
    assert.deepEqual(aRows.rows.map((r) => r.source), ['test'], 'the failed transaction left nothing behind');
    const bRows = await inTenant(t.db, b, (tx) => tx.query<{ confidence: number }>('SELECT confidence FROM indicators'));
    assert.deepEqual(bRows.rows.map((r) => r.confidence), [50]);
  });

  it('as the application role with no tenant set, nothing is visible and nothing can be written', async () => {
    await t.db.transaction(async (tx) => {
      await tx.query("SELECT set_config('role', $1, true)", [APP_ROLE]);
      for (const table of [...TENANT_TABLES, 'tenants']) {
        const res = await tx.query(`SELECT count(*)::int AS n FROM ${table}`);
        assert.equal((res.rows[0] as { n: number }).n, 0, `${table} must look empty without a tenant`);
      }
    });
    await assert.rejects(t.db.transaction(async (tx) => {
      await tx.query("SELECT set_config('role', $1, true)", [APP_ROLE]);
      await tx.query(`INSERT INTO stream_heads (tenant_id, stream, seq) VALUES ($1, 'x', 0)`, [a]);
    }), /row-level security/);
  });

  it('the application role may not update or delete audit rows, nor create tenants', async () => {
    for (const sql of ['UPDATE audit_events SET actor = $1', 'DELETE FROM audit_events WHERE actor = $1', "INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), $1)"]) {
      await assert.rejects(inTenant(t.db, a, (tx) => tx.query(sql, ['x'])), /permission denied|row-level security/, sql);
    }
  });

  it('inTenant refuses anything but a tenant UUID', async () => {
    for (const bad of ['', 'a', "'; DROP TABLE tenants; --", '00000000-0000-0000-0000-00000000000g']) {
      await assert.rejects(inTenant(t.db, bad, async () => 1), (err) => isProbectlError(err, 'PROBECTL_ERR_TENANT_SCOPE'));
    }
  });

  it('the system scope sees the tenant registry, but not tenant data tables', async () => {
    const { tenants, incidents } = await inSystem(t.db, async (tx) => ({
      tenants: (await tx.query('SELECT id FROM tenants')).rows.length,
      incidents: (await tx.query('SELECT id FROM indicators')).rows.length,
    }));
    assert.equal(tenants, 2);
    // PGlite connects as a superuser, which RLS never restricts; a server role is restricted.
    if (t.driver === 'postgres') assert.equal(incidents, 0);
  });
});
