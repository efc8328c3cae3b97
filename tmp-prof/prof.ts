import pg from 'pg';
import { createEmbeddedSeriesStore } from '../src/federation/store/embedded.ts';
import { findSeries, loadSamples, prepareSets } from '../src/federation/store/read.ts';
import { insertTenant } from '../src/identity/tenants.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/postgres.ts';
import { inSystem, inTenant } from '../src/store/scope.ts';
import { freshDatabaseOn } from '../test/helpers/pg.ts';
import { timed } from '../bench/harness.ts';

const fresh = await freshDatabaseOn(process.env.PROBECTL_TEST_DATABASE_URL as string, 'probectl_prof');
const db = await openPostgres({ connectionString: fresh.url, poolSize: 8 });
try {
  await migrate(db);
  const tenant = await inSystem(db, async (tx) => (await insertTenant(tx, 'prof')).id);
  const END = Date.parse('2026-11-23T12:00:00.000Z');
  const N = 10_000;
  const STEPS = Number(process.env.STEPS ?? 81);
  // Fast fill: SQL directly.
  await inTenant(db, tenant, async (tx) => {
    await tx.query(`INSERT INTO metric_series (tenant_id, fingerprint, labels, first_t, last_t, seen_ms)
      SELECT $1, sha256(i::text::bytea), jsonb_build_object('__name__', 'bench_metric_' || (i % 20), 'job', 'bench', 'instance', 'host-' || (i / 20)), $2, $3, $3 FROM generate_series(1, ${N}) i`, [tenant, END - STEPS * 15000, END]);
    await tx.query(`INSERT INTO metric_label_values SELECT DISTINCT $1::uuid, e.key, e.value FROM metric_series, jsonb_each_text(labels) e`, [tenant]);
    await tx.query(`INSERT INTO metric_samples (tenant_id, series_id, t, v) SELECT $1, s.series_id, $2::int8 - k * 15000, (s.series_id * 1000 + k)::float8::text::float8::int8 FROM metric_series s, generate_series(0, ${STEPS - 1}) k`, [tenant, END]);
  });
  const store = createEmbeddedSeriesStore(db, { now: () => END, maxSeries: 10_000 });
  console.log('compact', (await timed(() => store.compact(tenant, END))).seconds);
  const c = new pg.Client({ connectionString: fresh.url }); await c.connect(); await c.query('VACUUM ANALYZE'); await c.end();
  const sets = prepareSets(tenant, [[{ name: 'job', op: '=', value: 'bench' }]]);
  for (let i = 0; i < 3; i++) {
    const f = await timed(() => inTenant(db, tenant, (tx) => findSeries(tx, sets, { startMs: END - 3_900_000, endMs: END }, 10_000)));
    const l = await timed(() => inTenant(db, tenant, (tx) => loadSamples(tx, f.result.map((x) => x.id), END - 3_900_000, END)));
    const r = await timed(() => store.range(tenant, { matchers: [{ name: 'job', op: '=', value: 'bench' }] }, END - 3_600_000, END, 15000));
    console.log('find', f.seconds, 'load', l.seconds, 'range total', r.seconds, r.result.length);
  }
} finally {
  await db.close();
  await fresh.drop();
}
