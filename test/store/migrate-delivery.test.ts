import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { migrate, shippedMigrations } from '../../src/store/migrate.ts';
import { loadLegacyPlaintext } from '../../src/store/sealed.ts';
import { inSystem, inTenant } from '../../src/store/scope.ts';
import { cursorRows, listParked } from '../../src/delivery/ledger.ts';
import { openTestDb } from '../helpers/db.ts';
import { makeTenants } from '../helpers/tenants.ts';

describe(`migration 0003: SIEM delivery state moves to the shared delivery tables without loss (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  it('a database populated under 0002 keeps every cursor, counter and parked event as consumer siem', async (t) => {
    const test = await openTestDb({ migrate: false });
    t.after(() => test.close());
    const { db } = test;
    await migrate(db, shippedMigrations().filter((m) => m.version <= 2));
    const [a, b] = await makeTenants(db, 'mig-a', 'mig-b');
    const success = new Date('2026-11-20T10:00:00.000Z');
    const delivered = new Date('2026-11-20T09:59:59.123Z');
    // Rows as the 0002 schema held them, written through the tenant scope like the old code did.
    for (const [tenant, cursor] of [[a!, 120], [b!, 7]] as const) {
      await inTenant(db, tenant, async (tx) => {
        await tx.query(`INSERT INTO siem_delivery (tenant_id, stream, cursor, delivered_total, parked_total, last_success_at, last_delivered_time)
          VALUES ($1, 'audit', $2, $3, 1, $4, $5), ($1, 'threat', $6, $6, 0, NULL, NULL)`, [tenant, cursor, cursor - 1, success, delivered, cursor * 2]);
        await tx.query(`INSERT INTO siem_parked (tenant_id, stream, seq, event_id, parked_at, status, reason, response, attempts)
          VALUES ($1, 'audit', 18, '6d2f1f4e-1b3a-5c5d-8e6f-0a1b2c3d4e5f', $2, 422, 'unprocessable', '{"error":"x"}', 3)`, [tenant, success]);
      });
    }
    await inSystem(db, (tx) => tx.query(`INSERT INTO siem_replicas (id, seen_at) VALUES ('11111111-2222-4333-8444-555555555555', $1)`, [success]));

    const report = await migrate(db);
    await loadLegacyPlaintext(db); // as the service does after migrating: the plaintext rows from before 0008 still read
    assert.deepEqual(report.applied.filter((n) => n.startsWith('0003')), ['0003_delivery']);

    for (const [tenant, cursor] of [[a!, 120], [b!, 7]] as const) {
      const rows = await inTenant(db, tenant, (tx) => cursorRows(tx, 'siem'));
      assert.deepEqual(rows.map((r) => [r.stream, r.cursor, r.delivered_total, r.parked_total]), [['audit', cursor, cursor - 1, 1], ['threat', cursor * 2, cursor * 2, 0]]);
      assert.equal(rows[0]?.last_success_at?.toISOString(), success.toISOString());
      assert.equal(rows[0]?.last_delivered_time?.toISOString(), delivered.toISOString());
      const parked = await inTenant(db, tenant, (tx) => listParked(tx, 'siem', 10));
      assert.deepEqual(parked.map((p) => [p.stream, p.seq, p.event_id, p.status, p.reason, p.response, p.attempts]), [['audit', 18, '6d2f1f4e-1b3a-5c5d-8e6f-0a1b2c3d4e5f', 422, 'unprocessable', '{"error":"x"}', 3]]);
      assert.deepEqual(await inTenant(db, tenant, (tx) => cursorRows(tx, 'notify')), [], 'keyed by consumer');
    }
    // Row-level security holds on the new tables: a tenant sees only its own rows even without a WHERE.
    const seen = await inTenant(db, a!, async (tx) => (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM delivery_cursors')).rows[0]?.n);
    assert.equal(seen, 2);
    const replicas = await inSystem(db, async (tx) => (await tx.query<{ consumer: string }>('SELECT consumer FROM delivery_replicas')).rows);
    assert.deepEqual(replicas, [{ consumer: 'siem' }]);
    const old = await db.transaction(async (tx) => (await tx.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE tablename IN ('siem_delivery', 'siem_parked', 'siem_replicas')")).rows[0]?.n);
    assert.equal(old, 0, 'the SIEM-only tables are gone');
  });
});
