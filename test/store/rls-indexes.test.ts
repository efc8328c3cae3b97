/**
 * Row-level security lets the planner use an index for a tenant's statement only
 * through leakproof operators (the tenant policy is applied first; a function that
 * is not leakproof runs only on rows that passed it). These lookups once went
 * through a GIN on ref_keys (`@>`) and an expression index on labels (`->>`):
 * neither is leakproof, so each read all of the tenant's rows. With sequential
 * scans disabled, the plan shows whether the index can serve under the tenant's
 * role at all: an unusable index leaves a (disabled) sequential scan.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { prepareSets, seriesWhere } from '../../src/federation/store/read.ts';
import { inMetricsScope } from '../../src/federation/store/settings.ts';
import { SqlParams } from '../../src/federation/store/matchers.ts';
import { insertTenant } from '../../src/identity/tenants.ts';
import { FIND_DELIVERY_LINKS } from '../../src/notify/inbound/apply.ts';
import { inSystem, inTenant, type TenantTx } from '../../src/store/scope.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';

async function plan(tx: TenantTx, sql: string, params: unknown[]): Promise<string> {
  await tx.query('SET LOCAL enable_seqscan = off');
  const res = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
  return res.rows.map((r) => r['QUERY PLAN']).join('\n');
}

describe(`tenant lookups use their indexes under row-level security (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  let tenant: string;

  before(async () => {
    t = await openTestDb();
    tenant = await inSystem(t.db, async (tx) => (await insertTenant(tx, 'rls-indexes')).id);
    // A tenant with 2,000 incidents mirrored to two connectors, analysed: the planner weighs the
    // indexes as it would in production (on empty tables every path costs about the same).
    await inTenant(t.db, tenant, async (tx) => {
      await tx.query(`INSERT INTO incidents (id, tenant_id, correlation_key, kind_family, target, title, status, severity, opened_at, updated_at, last_signal_at)
                      SELECT gen_random_uuid(), $1, 'k' || g, 'probe', 'target', 'title', 'open', 'info', now(), now(), now() FROM generate_series(1, 2000) g`, [tenant]);
      await tx.query(`INSERT INTO notify_links (tenant_id, connector, incident_id, provider, state, status, created_at, updated_at)
                      SELECT $1, c, i.id, 'webhook', 'open', 'open', now(), now() FROM incidents i, unnest(ARRAY['webhook-0123456789', 'webhook-abcdef0123']) c
                       WHERE i.tenant_id = $1`, [tenant]);
    });
    await t.db.transaction(async (tx) => {
      await tx.query('ANALYZE incidents');
      await tx.query('ANALYZE notify_links');
    });
  });
  after(() => t?.close());

  it('an inbound delivery finds its link by vendor ref through notify_link_refs, and by incident id through an index of notify_links', async () => {
    const text = await inTenant(t.db, tenant, (tx) => plan(tx, FIND_DELIVERY_LINKS, [
      tenant, [0], ['hook'], ['webhook'], ['sig'], ['OPS-1'], [null], [null], [true], new Date(), ['webhook-0123456789'],
    ]));
    assert.doesNotMatch(text, /Seq Scan on notify_links\b/, text);
    assert.doesNotMatch(text, /Seq Scan on notify_link_refs/, text);
    assert.match(text, /Index (Only )?Scan using notify_link_refs_pkey on notify_link_refs/, text);
    assert.match(text, /Index Cond: .*ref = it\.ref/, text);
    // By incident id: notify_links_incident, or the primary key (tenant, connector, incident) now that the
    // credential names its connectors — either way the incident id is in the index condition.
    assert.match(text, /Index Scan using (notify_links_incident|notify_links_pkey) on notify_links \w+[^\n]*\n\s+Index Cond: [^\n]*incident_id = ANY/, text);
  });

  it('a selector\'s metric name finds its series through metric_series_name', async () => {
    const text = await inMetricsScope(t.db, tenant, async (tx) => {
      const p = new SqlParams();
      const where = await seriesWhere(tx, prepareSets(tenant, [[{ name: '__name__', op: '=', value: 'up' }, { name: 'job', op: '=', value: 'node' }]]), {}, p);
      return plan(tx, `SELECT s.series_id FROM metric_series s WHERE ${where}`, p.values);
    });
    assert.doesNotMatch(text, /Seq Scan on metric_series/, text);
    assert.match(text, /metric_series_name/, text);
    assert.match(text, /Index Cond: .*name = /, text);
  });
});
