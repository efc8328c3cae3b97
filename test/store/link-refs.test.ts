/**
 * notify_link_refs (migration 0010): the vendor refs inbound webhooks look a
 * link up by. Kept in step with notify_links.ref_keys by recordOpens, filled
 * from ref_keys on upgrade, and isolated per tenant like notify_links.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { insertTenant } from '../../src/identity/tenants.ts';
import type { InboundConfig } from '../../src/notify/config/connectors.ts';
import { applyInbound, FIND_DELIVERY_LINKS } from '../../src/notify/inbound/apply.ts';
import { NOTIFY_PROVIDERS } from '../../src/notify/providers/registry.ts';
import { insertLinks, recordOpens } from '../../src/notify/links.ts';
import type { Db } from '../../src/store/db.ts';
import { migrate, shippedMigrations } from '../../src/store/migrate.ts';
import { inMetricsScope } from '../../src/federation/store/settings.ts';
import { inSystem, inTenant } from '../../src/store/scope.ts';
import { seedIncident } from '../helpers/seed.ts';
import { openTestDb } from '../helpers/db.ts';

const DRIVER = process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite';

/** The incidents a delivery naming `ref` finds in `tenant` (FIND_DELIVERY_LINKS, as applyInboundGroup runs it). */
async function lookup(db: Db, tenant: string, provider: string, ref: string, connectors = ['jira', 'jira-a', 'jira-b']): Promise<Array<[string, string]>> {
  const res = await inTenant(db, tenant, (tx) => tx.query<{ connector: string | null; incident_id: string | null }>(FIND_DELIVERY_LINKS, [
    tenant, [0], ['hook'], [provider], [null], [ref], [null], [null], [true], new Date(), [connectors.join(',')],
  ]));
  return res.rows.filter((r) => r.incident_id !== null).map((r) => [r.connector as string, r.incident_id as string]);
}

async function refRows(db: Db, tenant: string): Promise<string[]> {
  return (await inTenant(db, tenant, (tx) => tx.query<{ r: string }>("SELECT connector || ':' || ref AS r FROM notify_link_refs WHERE tenant_id = $1 ORDER BY 1", [tenant]))).rows.map((r) => r.r);
}

describe(`notify_link_refs (${DRIVER})`, () => {
  it('an upgrade from 0009 fills it from ref_keys per tenant (no empty refs), and the series get their generated name', async (t) => {
    const test = await openTestDb({ migrate: false });
    t.after(() => test.close());
    const { db } = test;
    await migrate(db, shippedMigrations().filter((m) => m.version <= 9));
    const [a, b] = await inSystem(db, async (tx) => [(await insertTenant(tx, 'up-a')).id, (await insertTenant(tx, 'up-b')).id] as const);
    const ia = await seedIncident(db, a);
    const ia2 = await seedIncident(db, a);
    const ib = await seedIncident(db, b);
    const link = (tenant: string, connector: string, incident: string, state: string, keys: string[]) => inTenant(db, tenant, (tx) => tx.query(
      `INSERT INTO notify_links (tenant_id, connector, incident_id, provider, state, status, ref_id, ref_keys, created_at, updated_at)
       VALUES ($1, $2, $3, 'jira', $4, 'open', $5, $6::text[], now(), now())`, [tenant, connector, incident, state, keys[0] ?? null, keys]));
    await link(a, 'jira-a', ia, 'open', ['OPS-1', '10001', '']);
    await link(a, 'jira-b', ia, 'open', ['OPS-1']);
    await link(a, 'jira-a', ia2, 'pending', []);
    await link(b, 'jira-a', ib, 'open', ['OPS-1', 'we"ird \\ ref']);
    await inMetricsScope(db, a, (tx) => tx.query(
      `INSERT INTO metric_series (tenant_id, fingerprint, labels, first_t, last_t, seen_ms) VALUES ($1, $2, '{"__name__":"up","job":"node"}', 0, 0, 0)`,
      [a, Buffer.alloc(32, 1)]));
    const report = await migrate(db);
    assert.deepEqual(report.applied, ['0010_notify_link_refs', '0011_metric_series_name', '0012_notify_link_skipped']);
    assert.deepEqual(await refRows(db, a), ['jira-a:10001', 'jira-a:OPS-1', 'jira-b:OPS-1']);
    assert.deepEqual(await refRows(db, b), ['jira-a:OPS-1', 'jira-a:we"ird \\ ref']);
    assert.deepEqual((await lookup(db, a, 'jira', 'OPS-1')).sort(), [['jira-a', ia], ['jira-b', ia]]);
    assert.deepEqual(await lookup(db, a, 'jira', 'OPS-1', ['jira-b']), [['jira-b', ia]], 'only the links of the credential\'s connectors');
    assert.deepEqual(await lookup(db, a, 'jira', 'OPS-1', ['jira-c']), [], 'a connector with no link names nothing');
    assert.deepEqual(await lookup(db, b, 'jira', 'OPS-1'), [['jira-a', ib]], 'tenant b never sees tenant a\'s link');
    assert.deepEqual(await lookup(db, b, 'jira', 'we"ird \\ ref'), [['jira-a', ib]]);
    assert.deepEqual(await lookup(db, a, 'jira', ''), [], 'no link is found by an empty ref');
    const names = await inMetricsScope(db, a, (tx) => tx.query<{ name: string }>('SELECT name FROM metric_series WHERE tenant_id = $1', [a]));
    assert.deepEqual(names.rows.map((r) => r.name), ['up']);
  });

  it('an upgrade from 0011 marks a pager link whose open was skipped before (still pending for good) skipped', async (t) => {
    const test = await openTestDb({ migrate: false });
    t.after(() => test.close());
    const { db } = test;
    await migrate(db, shippedMigrations().filter((m) => m.version <= 11));
    const a = await inSystem(db, async (tx) => (await insertTenant(tx, 'skip-a')).id);
    const skippedInc = await seedIncident(db, a);
    const waitingInc = await seedIncident(db, a);
    await inTenant(db, a, async (tx) => {
      for (const [seq, inc, result] of [[1, skippedInc, 'skipped'], [2, waitingInc, null]] as const) {
        await tx.query(`INSERT INTO notify_links (tenant_id, connector, incident_id, provider, state, status, created_at, updated_at)
          VALUES ($1, 'pd', $2, 'pagerduty', 'pending', 'resolved', now(), now())`, [a, inc]);
        await tx.query(`INSERT INTO notify_outbox (tenant_id, connector, seq, id, incident_id, action, incident, created_at, done_at, result, reason)
          VALUES ($1, 'pd', $2, gen_random_uuid(), $3, 'open', '\\x00'::bytea, now(), ${result ? 'now()' : 'NULL'}, $4, $5)`,
        [a, seq, inc, result, result ? Buffer.from('the incident was resolved before the page could be sent: nobody was paged') : null]);
      }
    });
    await migrate(db);
    const states = await inTenant(db, a, (tx) => tx.query<{ incident_id: string; state: string }>('SELECT incident_id, state FROM notify_links WHERE tenant_id = $1', [a]));
    assert.deepEqual(new Map(states.rows.map((r) => [r.incident_id, r.state])), new Map([[skippedInc, 'skipped'], [waitingInc, 'pending']]));
  });

  it('recordOpens replaces a link\'s refs, a tenant cannot write or read another tenant\'s refs', async (t) => {
    const test = await openTestDb();
    t.after(() => test.close());
    const { db } = test;
    const [a, b] = await inSystem(db, async (tx) => [(await insertTenant(tx, 'ref-a')).id, (await insertTenant(tx, 'ref-b')).id] as const);
    const ia = await seedIncident(db, a);
    const ib = await seedIncident(db, b);
    for (const [tenant, inc] of [[a, ia], [b, ib]] as const) {
      await inTenant(db, tenant, async (tx) => {
        await insertLinks(tx, systemClock, inc, 'open', [{ id: 'jira', provider: 'jira' }]);
        await recordOpens(tx, systemClock, 'jira', [{ incidentId: inc, ref: { id: 'OPS-1', aliases: ['10001', '', 'OPS-1'] } }]);
      });
    }
    assert.deepEqual(await refRows(db, a), ['jira:10001', 'jira:OPS-1']);
    // A lookup that found the object under another key: the old refs go.
    await inTenant(db, a, (tx) => recordOpens(tx, systemClock, 'jira', [{ incidentId: ia, ref: { id: 'OPS-2' } }]));
    assert.deepEqual(await refRows(db, a), ['jira:OPS-2']);
    assert.deepEqual(await lookup(db, a, 'jira', 'OPS-1'), []);
    assert.deepEqual(await lookup(db, a, 'jira', 'OPS-2'), [['jira', ia]]);
    assert.deepEqual(await refRows(db, b), ['jira:10001', 'jira:OPS-1'], 'tenant b\'s refs untouched');
    // Tenant a's scope cannot see, write or delete tenant b's refs.
    await assert.rejects(inTenant(db, a, (tx) => tx.query("INSERT INTO notify_link_refs (tenant_id, ref, connector, incident_id) VALUES ($1, 'X', 'jira', $2)", [b, ib])), /row-level security|violates/);
    await assert.rejects(inTenant(db, a, (tx) => tx.query("INSERT INTO notify_link_refs (tenant_id, ref, connector, incident_id) VALUES ($1, 'X', 'jira', $2)", [a, ib])), /foreign key/);
    await inTenant(db, a, (tx) => tx.query('DELETE FROM notify_link_refs WHERE tenant_id = $1', [b]));
    assert.deepEqual(await refRows(db, b), ['jira:10001', 'jira:OPS-1']);
    await assert.rejects(inTenant(db, a, (tx) => tx.query("UPDATE notify_link_refs SET ref = 'Y'")), /permission denied/);
  });
});

describe(`notify_link_refs under concurrent recordOpens (${DRIVER})`, () => {
  it('two transactions recording refs for the same link leave exactly the refs of the one that committed last', async (t) => {
    const test = await openTestDb();
    t.after(() => test.close());
    const { db } = test;
    const a = await inSystem(db, async (tx) => (await insertTenant(tx, 'race-a')).id);
    const ia = await seedIncident(db, a);
    await inTenant(db, a, async (tx) => {
      await insertLinks(tx, systemClock, ia, 'open', [{ id: 'jira', provider: 'jira' }]);
      await recordOpens(tx, systemClock, 'jira', [{ incidentId: ia, ref: { id: 'OPS-0' } }]);
    });
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    let recorded!: () => void;
    const first = new Promise<void>((r) => { recorded = r; });
    const t1 = inTenant(db, a, async (tx) => {
      await recordOpens(tx, systemClock, 'jira', [{ incidentId: ia, ref: { id: 'OPS-1' } }]);
      recorded();
      await held;
    });
    await first;
    const t2 = inTenant(db, a, (tx) => recordOpens(tx, systemClock, 'jira', [{ incidentId: ia, ref: { id: 'OPS-2' } }]));
    await new Promise((r) => setTimeout(r, 300));
    release();
    await Promise.all([t1, t2]);
    const keys = await inTenant(db, a, (tx) => tx.query<{ ref_keys: string[] }>('SELECT ref_keys FROM notify_links WHERE tenant_id = $1', [a]));
    assert.deepEqual(keys.rows[0]?.ref_keys, ['OPS-2']);
    assert.deepEqual(await refRows(db, a), ['jira:OPS-2'], 'no ref of the overwritten open lingers');
    assert.deepEqual(await lookup(db, a, 'jira', 'OPS-1'), []);
  });
});

describe(`inbound deliveries resolved through notify_link_refs (${DRIVER})`, () => {
  it('a ref recorded for two incidents is ambiguous; for one incident at two connectors it is that incident; another tenant\'s ref is unknown', async (t) => {
    const test = await openTestDb();
    t.after(() => test.close());
    const { db } = test;
    const [a, b] = await inSystem(db, async (tx) => [(await insertTenant(tx, 'amb-a')).id, (await insertTenant(tx, 'amb-b')).id] as const);
    const [i1, i2, i3] = [await seedIncident(db, a), await seedIncident(db, a), await seedIncident(db, a)];
    const ib = await seedIncident(db, b);
    await inTenant(db, a, async (tx) => {
      await insertLinks(tx, systemClock, i1, 'open', [{ id: 'jira-x', provider: 'jira' }]);
      await insertLinks(tx, systemClock, i2, 'open', [{ id: 'jira-y', provider: 'jira' }]);
      await insertLinks(tx, systemClock, i3, 'open', [{ id: 'jira-x', provider: 'jira' }, { id: 'jira-y', provider: 'jira' }]);
      await recordOpens(tx, systemClock, 'jira-x', [{ incidentId: i1, ref: { id: 'OPS-1' } }, { incidentId: i3, ref: { id: 'OPS-3' } }]);
      await recordOpens(tx, systemClock, 'jira-y', [{ incidentId: i2, ref: { id: 'OPS-1' } }, { incidentId: i3, ref: { id: 'OPS-3' } }]);
    });
    await inTenant(db, b, async (tx) => {
      await insertLinks(tx, systemClock, ib, 'open', [{ id: 'jira-x', provider: 'jira' }]);
      await recordOpens(tx, systemClock, 'jira-x', [{ incidentId: ib, ref: { id: 'SEC-9' } }]);
    });
    const jira = NOTIFY_PROVIDERS.find((p) => p.name === 'jira');
    assert.ok(jira);
    const inbound = { id: 'jira-in', position: 0, tenant: a, provider: jira, connectors: ['jira-x', 'jira-y'], secret: {} } as unknown as InboundConfig;
    const apply = (ref: string, status: 'acknowledged' | 'resolved') => applyInbound(db, systemClock, inbound, { ref, status }, undefined, [], 'test');
    assert.deepEqual(await apply('OPS-1', 'resolved'), { result: 'ambiguous_ref' });
    assert.deepEqual(await apply('SEC-9', 'resolved'), { result: 'unknown_ref' }, 'tenant b\'s ref, delivered with tenant a\'s credential');
    assert.deepEqual(await apply('OPS-3', 'acknowledged'), { result: 'applied', incident: i3, status: 'acknowledged' });
    const statuses = async (tenant: string) => (await inTenant(db, tenant, (tx) => tx.query<{ status: string }>('SELECT status FROM incidents WHERE tenant_id = $1 ORDER BY opened_at, id', [tenant]))).rows.map((r) => r.status);
    assert.deepEqual((await statuses(a)).sort(), ['acknowledged', 'open', 'open']);
    assert.deepEqual(await statuses(b), ['open']);
  });
});
