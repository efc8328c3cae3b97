import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { metricsSettings, metricsVars } from '../../src/federation/config.ts';
import { jobLockKey, MetricsJobs, type JobName } from '../../src/federation/jobs.ts';
import { metricsStore } from '../../src/federation/runtime.ts';
import { recordTenants, tickTime } from '../../src/federation/self-metrics.ts';
import type { EmbeddedSeriesStore } from '../../src/federation/store/embedded.ts';
import { readSection } from '../../src/config/section.ts';
import type { MetricsSettings } from '../../src/federation/config.ts';
import { inTenant } from '../../src/store/scope.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';
import { makeTenants, manualClock } from '../helpers/tenants.ts';
import { samples } from './store/helpers.ts';

const T0 = Date.parse('2026-11-23T10:00:07.000Z');

/** The metrics background jobs on a real database: one replica at a time, idempotent self-metrics, compaction and retention. */
describe(`metrics background jobs (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  let tenants: string[];
  let clock: ReturnType<typeof manualClock>;
  let store: EmbeddedSeriesStore;
  let settings: MetricsSettings;
  const silent = pino({ level: 'silent' });
  const stats = () => [{ scheme: 'env' as const, configured: true, resolves: 3, failures: 1, retries: 0, cacheHits: 0, cachedLeases: 2, lastOkAt: undefined, lastErrorAt: undefined }];

  before(async () => {
    t = await openTestDb();
    tenants = await makeTenants(t.db, 'jobs-a', 'jobs-b');
    clock = manualClock(T0);
    const problems: never[] = [];
    settings = metricsSettings(readSection({ PROBECTL_METRICS_RETENTION: '2h' }, metricsVars, problems), problems) as MetricsSettings;
    store = metricsStore(t.db, clock, settings);
  });
  after(() => t.close());

  const jobs = (runs: Array<[JobName, string]>) => new MetricsJobs({
    db: t.db, clock, log: silent, store, settings, secrets: { stats }, providerTenantId: tenants[0] as string,
    onRun: (job, outcome) => runs.push([job, outcome]),
  });
  const count = async (tenant: string, name: string) => (await store.series(tenant, [[{ name: '__name__', op: '=', value: name }]])).length;

  it('a run another replica holds is skipped, and runs once the lock is free', async () => {
    const runs: Array<[JobName, string]> = [];
    const j = jobs(runs);
    const other = await t.db.lockSession();
    try {
      assert.ok(await other.tryLock(jobLockKey('compaction')));
      await j.compact();
      assert.deepEqual(runs, [['compaction', 'skipped']]);
      await other.unlock(jobLockKey('compaction'));
      await j.compact();
      assert.deepEqual(runs.at(-1), ['compaction', 'ok']);
    } finally {
      await other.close();
      await j.stop();
    }
  });

  it('self-metrics: aligned timestamps, so a second replica recording the same tick stores nothing twice', async () => {
    const deps = { db: t.db, store, secrets: { stats }, providerTenantId: tenants[0] as string, intervalMs: 15_000, now: clock.now };
    const first = await recordTenants(deps, tenants);
    assert.ok(first.stored >= 12, `${first.stored} samples`);
    const second = await recordTenants(deps, tenants);
    assert.equal(second.stored, 0, 'the same tick again: duplicates');
    const raw = await store.select(tenants[1] as string, [{ name: '__name__', op: '=', value: 'probectl_incidents_open' }], T0 - 60_000, T0);
    assert.deepEqual(raw.map((r) => [r.labels.severity, r.labels.tenant_id, [...r.timestamps]]), [
      ['critical', tenants[1], [tickTime(T0, 15_000)]], ['info', tenants[1], [tickTime(T0, 15_000)]], ['warning', tenants[1], [tickTime(T0, 15_000)]],
    ]);
  });

  it('the provider tenant gets this replica\'s secret-backend counters; other tenants never', async () => {
    const runs: Array<[JobName, string]> = [];
    const j = jobs(runs);
    clock.advance(15_000);
    await j.recordSelf();
    await j.stop();
    assert.deepEqual(runs, [['self-metrics', 'ok']]);
    assert.equal(await count(tenants[0] as string, 'probectl_secrets_resolves_total'), 1);
    assert.equal(await count(tenants[1] as string, 'probectl_secrets_resolves_total'), 0);
    const v = await store.instant(tenants[0] as string, { matchers: [{ name: '__name__', op: '=', value: 'probectl_secrets_failures_total' }] }, clock.now());
    assert.deepEqual(v.map((r) => [r.labels.scheme, r.values[0]]), [['env', 1]]);
  });

  it('compaction moves samples into chunks and retention deletes what is older than PROBECTL_METRICS_RETENTION', async () => {
    const tenant = tenants[1] as string;
    const old = clock.now() - 3 * 3_600_000;
    const res = await store.append(tenant, [samples({ __name__: 'jobs_metric' }, [[old, 1], [old + 15_000, 2], [clock.now() - 600_000, 3]])]);
    assert.equal(res.stored, 3);
    const j = jobs([]);
    await j.compact();
    const recent = await inTenant(t.db, tenant, (tx) => tx.query<{ n: number }>('SELECT count(*)::int AS n FROM metric_samples WHERE tenant_id = $1 AND t < $2', [tenant, clock.now() - settings.compactionIntervalMs * 2]));
    assert.equal(recent.rows[0]?.n, 0, 'older samples left the append table');
    await j.expire();
    await j.stop();
    const left = await store.select(tenant, [{ name: '__name__', op: '=', value: 'jobs_metric' }], old - 1, clock.now());
    assert.deepEqual(left.map((r) => [...r.values]), [[3]]);
  });
});
