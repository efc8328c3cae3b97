import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { readSection } from '../../../src/config/section.ts';
import { ProbectlError } from '../../../src/core/errors.ts';
import { embeddedBackend, type MetricsBackend } from '../../../src/federation/backend.ts';
import { metricsSettings, metricsVars, type MetricsSettings } from '../../../src/federation/config.ts';
import { MetricsJobs } from '../../../src/federation/jobs.ts';
import { metricsStore } from '../../../src/federation/runtime.ts';
import type { EmbeddedSeriesStore } from '../../../src/federation/store/embedded.ts';
import { inTenant } from '../../../src/store/scope.ts';
import { openTestDb, type TestDb } from '../../helpers/db.ts';
import { encodeWriteRequest, type WireSeriesSpec } from '../../helpers/remote-write.ts';
import { makeTenants, manualClock } from '../../helpers/tenants.ts';

const T0 = Date.parse('2026-11-23T10:00:07.000Z');
const HOUR = 3_600_000;

/**
 * Remote-write into the embedded store against PROBECTL_METRICS_RETENTION, on a real database:
 * a request holding a sample the retention job would delete is refused whole (400, nothing
 * stored — no sample, series or label value); a sample at the retention's cut is stored and
 * kept by the retention job run at the same instant (one clock for the route, the store and
 * the job, as in the server).
 */
describe(`remote-write within PROBECTL_METRICS_RETENTION (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  let clock: ReturnType<typeof manualClock>;
  let settings: MetricsSettings;
  let store: EmbeddedSeriesStore;
  let backend: MetricsBackend;
  const silent = pino({ level: 'silent' });

  before(async () => {
    t = await openTestDb();
    clock = manualClock(T0);
    const problems: never[] = [];
    settings = metricsSettings(readSection({ PROBECTL_METRICS_RETENTION: '2h' }, metricsVars, problems), problems) as MetricsSettings;
    store = metricsStore(t.db, clock, settings);
    backend = embeddedBackend({ store, settings, log: silent, metrics: undefined });
  });
  after(() => t.close());

  const write = (tenant: string, series: WireSeriesSpec[]) => backend.write({
    tenant, now: clock.now(), contentType: 'application/x-protobuf', contentEncoding: 'snappy', body: encodeWriteRequest(series),
  });
  const counts = async (tenant: string) => (await inTenant(t.db, tenant, (tx) => tx.query<Record<string, number>>(
    `SELECT (SELECT count(*) FROM metric_samples WHERE tenant_id = $1)::int AS samples, (SELECT count(*) FROM metric_chunks WHERE tenant_id = $1)::int AS chunks,
            (SELECT count(*) FROM metric_series WHERE tenant_id = $1)::int AS series, (SELECT count(*) FROM metric_label_values WHERE tenant_id = $1)::int AS label_values`,
    [tenant]))).rows[0];

  it('a sample older than now − retention among fresh ones: 400 naming the series, the time and PROBECTL_METRICS_RETENTION; nothing of the request stored', async () => {
    const [tenant] = await makeTenants(t.db, 'rw-retention-old') as [string];
    const fresh = (i: number): WireSeriesSpec => ({ labels: { __name__: 'rw_old', i: String(i) }, samples: [[T0 - 60_000, i], [T0, i]] });
    await assert.rejects(write(tenant, [fresh(0), fresh(1), { labels: { __name__: 'rw_old', i: '2' }, samples: [[T0 - 2 * HOUR - 1, 1], [T0, 2]] }, fresh(3)]), (err: unknown) => {
      assert.ok(err instanceof ProbectlError);
      assert.deepEqual([err.status, err.code], [400, 'PROBECTL_ERR_METRICS_WRITE_MALFORMED']);
      assert.equal(err.message, 'series 2 has a sample at 2026-11-23T08:00:06.999Z, older than PROBECTL_METRICS_RETENTION (2h) allows: samples before 2026-11-23T08:00:07.000Z are not kept (nothing of this request was stored)');
      return true;
    });
    assert.deepEqual(await counts(tenant), { samples: 0, chunks: 0, series: 0, label_values: 0 });
    // The same request without the old sample is stored whole.
    assert.deepEqual(await write(tenant, [fresh(0), fresh(1), fresh(3)]), { status: 204, body: '' });
    assert.deepEqual(await counts(tenant), { samples: 6, chunks: 0, series: 3, label_values: 4 });
  });

  it('a sample at the cut (now − retention) or just inside is stored, and the retention job run at the same instant keeps it', async () => {
    const [tenant] = await makeTenants(t.db, 'rw-retention-edge') as [string];
    const cut = T0 - 2 * HOUR;
    assert.deepEqual(await write(tenant, [{ labels: { __name__: 'rw_edge' }, samples: [[cut, 1], [cut + 1, 2], [T0, 3]] }]), { status: 204, body: '' });
    const jobs = new MetricsJobs({ db: t.db, clock, log: silent, store, settings, secrets: { stats: () => [] }, providerTenantId: tenant });
    const kept = async () => (await store.select(tenant, [{ name: '__name__', op: '=', value: 'rw_edge' }], cut - HOUR, T0)).map((r) => [...r.timestamps]);
    try {
      await jobs.compact();
      await jobs.expire();
      assert.deepEqual(await kept(), [[cut, cut + 1, T0]], 'the job deletes t < now − retention: the cut is kept');
      clock.advance(1);
      await jobs.expire();
      assert.deepEqual(await kept(), [[cut + 1, T0]], 'a millisecond later the sample at the old cut has expired');
      // …and is refused, as the job now deletes it.
      await assert.rejects(write(tenant, [{ labels: { __name__: 'rw_edge' }, samples: [[cut, 1]] }]), /: series 0 has a sample at 2026-11-23T08:00:07.000Z, older than PROBECTL_METRICS_RETENTION \(2h\)/);
    } finally {
      await jobs.stop();
      clock.set(T0);
    }
  });
});
