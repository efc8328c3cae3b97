/**
 * The embedded store's races that need a second PostgreSQL session to interleave
 * deterministically (npm run test:pg).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createEmbeddedSeriesStore, type EmbeddedSeriesStore } from '../../../src/federation/store/embedded.ts';
import { SERIES_LOCK_CLASS } from '../../../src/federation/store/settings.ts';
import { inTenant } from '../../../src/store/scope.ts';
import { openTestDb, type TestDb } from '../../helpers/db.ts';
import { makeTenants, manualClock } from '../../helpers/tenants.ts';
import { samples } from './helpers.ts';

if (!process.env.PROBECTL_TEST_DATABASE_URL) throw new Error('race.pg.ts needs PROBECTL_TEST_DATABASE_URL (a PostgreSQL server)');
const T0 = Date.parse('2026-11-23T10:00:00.000Z');

/** Resolves once some backend of the database waits for a lock (or fails after 10 s). */
async function untilWaiting(admin: pg.Client, n = 1): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    // pg_stat_activity is a snapshot per transaction: cleared for each look.
    await admin.query('SELECT pg_stat_clear_snapshot()');
    const r = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    if ((r.rows[0] as { n: number }).n >= n) return;
    if (Date.now() > deadline) throw new Error('no backend waited for a lock');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('embedded metrics store races (postgres)', () => {
  let t: TestDb;
  let a: string;
  let clock: ReturnType<typeof manualClock>;
  let store: EmbeddedSeriesStore;
  let admin: pg.Client;

  before(async () => {
    t = await openTestDb();
    [a] = (await makeTenants(t.db, 'race-a')) as [string];
    clock = manualClock(T0);
    store = createEmbeddedSeriesStore(t.db, { now: clock.now });
    admin = new pg.Client({ connectionString: t.url, connectionTimeoutMillis: 10_000, query_timeout: 30_000 });
    await admin.connect();
  });
  after(async () => {
    await admin.end().catch(() => undefined);
    await t.close();
  });

  const rows = (sql: string, params: unknown[] = []) => inTenant(t.db, a, (tx) => tx.query<Record<string, unknown>>(sql, params)).then((r) => r.rows);

  it('a different value re-sent while compaction moves the stored one into a chunk is refused, never answered stored and dropped later', async () => {
    const at = T0 - 600_000;
    const labels = { __name__: 'race_compact', job: 'x' };
    assert.equal((await store.append(a, [samples(labels, [[at, 1]])])).stored, 1);
    // Compaction stalls after claiming the row (its chunk insert waits for this lock).
    await admin.query('BEGIN');
    await admin.query('LOCK TABLE metric_chunks IN SHARE MODE');
    let compacted: Promise<unknown> | undefined;
    let appended: ReturnType<EmbeddedSeriesStore['append']> | undefined;
    try {
      compacted = store.compact(a, T0);
      await untilWaiting(admin, 1);
      appended = store.append(a, [samples(labels, [[at, 2]])]);
      await Promise.race([untilWaiting(admin, 2), appended]);
    } finally {
      await admin.query('COMMIT');
    }
    await compacted;
    const res = await appended!;
    // Either refused as a conflict now, or (if stored) kept: never a 2xx for a value compaction later drops.
    await store.compact(a, T0);
    const got = await store.select(a, [{ name: '__name__', op: '=', value: 'race_compact' }], at - 1, at + 1);
    if (res.refused.conflicts === 0) assert.deepEqual([...(got[0]?.values ?? [])], [2], `answered ${JSON.stringify({ stored: res.stored, duplicates: res.duplicates, refused: res.refused })} but the value kept is not the one sent`);
    else assert.deepEqual([res.stored, res.refused.conflicts, [...(got[0]?.values ?? [])]], [0, 1, [1]]);
    const n = await rows(`SELECT (SELECT count(*)::int FROM metric_samples) AS samples, (SELECT count(*)::int FROM metric_chunks) AS chunks`);
    assert.deepEqual(n[0], { samples: 0, chunks: 1 });
  });
  it('an append stalled past half the compaction horizon before its insert does not answer a different value as stored while compaction moved the stored one', async () => {
    const [a] = (await makeTenants(t.db, 'race-stalled')) as [string];
    const clock = manualClock(T0);
    const store = createEmbeddedSeriesStore(t.db, { now: clock.now });
    const at = T0 - 30_000;
    const labels = { __name__: 'race_stalled', job: 'x' };
    assert.equal((await store.append(a, [samples(labels, [[at, 1]])])).stored, 1);
    // The re-send (a different value) waits for the series lock (it creates a series too), holding no
    // maintenance lock: its samples were too recent for compaction when it read the clock.
    await admin.query('BEGIN');
    await admin.query('SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))', [SERIES_LOCK_CLASS, a]);
    let appended: ReturnType<EmbeddedSeriesStore['append']> | undefined;
    try {
      appended = store.append(a, [samples(labels, [[at, 2]]), samples({ __name__: 'race_stalled', job: 'new' }, [[at, 3]])]);
      await Promise.race([untilWaiting(admin, 1), appended]);
      // Meanwhile time passes and compaction moves the stored sample into a chunk.
      clock.advance(200_000);
      assert.equal((await store.compact(a, clock.now())).samples >= 1, true);
    } finally {
      await admin.query('COMMIT');
    }
    const res = await appended;
    await store.compact(a, clock.now());
    const got = await store.select(a, [{ name: '__name__', op: '=', value: 'race_stalled' }, { name: 'job', op: '=', value: 'x' }], at - 1, at + 1);
    if (res.refused.conflicts === 0) assert.deepEqual([...(got[0]?.values ?? [])], [2], `answered ${JSON.stringify({ stored: res.stored, duplicates: res.duplicates, refused: res.refused })} but the value kept is not the one sent`);
    else assert.deepEqual([res.refused.conflicts, [...(got[0]?.values ?? [])]], [1, [1]]);
  });
  it('a connection killed mid-append fails the append (nothing kept); the re-send stores every sample exactly once', async () => {
    const batch = [0, 1, 2].map((j) => samples({ __name__: 'race_killed', j: String(j) }, [[T0 - 30_000, j], [T0 - 15_000, j + 10]]));
    await admin.query('BEGIN');
    await admin.query('LOCK TABLE metric_samples IN EXCLUSIVE MODE');
    let failed: unknown;
    try {
      const appended = store.append(a, batch).then(() => undefined, (err: unknown) => { failed = err; });
      await untilWaiting(admin, 1);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
      await appended;
    } finally {
      await admin.query('ROLLBACK');
    }
    assert.equal((failed as { code?: string } | undefined)?.code, '57P01');
    assert.deepEqual(await rows(`SELECT count(*)::int AS n FROM metric_samples s JOIN metric_series m USING (series_id) WHERE m.labels ->> '__name__' = 'race_killed'`), [{ n: 0 }]);
    const again = await store.append(a, batch);
    assert.deepEqual([again.stored, again.duplicates, again.seriesCreated, again.errors.length], [6, 0, 3, 0]);
    const twice = await store.append(a, batch);
    assert.deepEqual([twice.stored, twice.duplicates, twice.errors.length], [0, 6, 0]);
    assert.deepEqual(await rows(`SELECT count(*)::int AS n FROM metric_samples s JOIN metric_series m USING (series_id) WHERE m.labels ->> '__name__' = 'race_killed'`), [{ n: 6 }]);
  });
  it('the tenant series cap holds against writers racing to create series', async () => {
    const [c] = (await makeTenants(t.db, 'race-cap')) as [string];
    const capped = createEmbeddedSeriesStore(t.db, { now: clock.now, maxTenantSeries: 7 });
    const batch = (w: number) => Array.from({ length: 3 }, (_, j) => samples({ __name__: 'race_cap', w: String(w), j: String(j) }, [[T0 - 15_000, j]]));
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map((w) => capped.append(c, batch(w))));
    assert.equal(results.reduce((n, r) => n + r.seriesCreated, 0), 7);
    assert.equal(results.reduce((n, r) => n + r.refused.limitedSeries, 0), 18 - 7);
    assert.equal(await capped.activeSeries(c), 7);
  });
  it('a new series another writer created meanwhile is not refused by the cap: the tenant at its limit still takes its samples', async () => {
    const [c] = (await makeTenants(t.db, 'race-cap-known')) as [string];
    const capped = createEmbeddedSeriesStore(t.db, { now: clock.now, maxTenantSeries: 2 });
    assert.equal((await capped.append(c, [samples({ __name__: 'race_known', j: 'old' }, [[T0 - 60_000, 0]])])).seriesCreated, 1);
    // Both writers look the new series up (missing) before either takes the series lock.
    await admin.query('BEGIN');
    await admin.query('SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))', [SERIES_LOCK_CLASS, c]);
    let appended: Array<Awaited<ReturnType<EmbeddedSeriesStore['append']>>> = [];
    try {
      const both = Promise.all([[T0 - 30_000, 1], [T0 - 15_000, 2]].map(([at, v]) => capped.append(c, [samples({ __name__: 'race_known', j: 'new' }, [[at as number, v as number]])])));
      await Promise.race([untilWaiting(admin, 2), both]);
      await admin.query('COMMIT');
      appended = await both;
    } finally {
      await admin.query('ROLLBACK').catch(() => undefined);
    }
    assert.deepEqual(appended.map((r) => [r.stored, r.refused.limitedSeries]), [[1, 0], [1, 0]], JSON.stringify(appended.map((r) => r.errors.map((e) => e.message))));
    const got = await capped.select(c, [{ name: 'j', op: '=', value: 'new' }], T0 - 60_000, T0);
    assert.deepEqual([...(got[0]?.timestamps ?? [])], [T0 - 30_000, T0 - 15_000]);
  });
});
