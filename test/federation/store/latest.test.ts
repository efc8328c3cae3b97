/**
 * loadLatest (federation, instant queries) against the raw samples: on random
 * histories of appends (in order, late, re-sent), clock steps and compactions,
 * the latest sample it gives for any window [mint, maxt] is the sample with the
 * greatest t in that window that loadSamples / select() return, bit for bit
 * (NaN payloads, stale markers, -0, ±Inf), whether it sits in a chunk, in the
 * append table or in both.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createEmbeddedSeriesStore } from '../../../src/federation/store/embedded.ts';
import { DatabaseClock } from '../../../src/store/db-clock.ts';
import { STALE_HI, STALE_LO, wordsOf } from '../../../src/federation/store/float-bits.ts';
import { loadLatest, loadSamples } from '../../../src/federation/store/read.ts';
import { inMetricsScope } from '../../../src/federation/store/settings.ts';
import type { SeriesSamples } from '../../../src/federation/store/types.ts';
import { openTestDb, type TestDb } from '../../helpers/db.ts';
import { makeTenants, manualClock } from '../../helpers/tenants.ts';

const H = 3_600_000;
const T0 = Date.parse('2026-11-23T10:00:00.000Z');

/** Value bits (hi, lo): special ones often, random ones (NaN payloads included) otherwise. */
const bitsArb = fc.oneof(
  fc.constantFrom<[number, number]>([STALE_HI, STALE_LO], [0x80000000, 0], [0, 0], [0x7ff00000, 0], [0xfff00000, 0], [0x7ff80000, 0], [0x7ff00000, 1], [0xfff12345, 0x6789abcd], [0x3ff00000, 0]),
  fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })),
);

type Step =
  | { kind: 'append'; series: number; points: Array<{ dt: number; bits: [number, number] }> }
  | { kind: 'advance'; ms: number }
  | { kind: 'compact' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({
    kind: fc.constant('append' as const),
    series: fc.integer({ min: 0, max: 3 }),
    // Relative to now: up to 5 h in the past (late samples), up to the future tolerance (10 min) ahead.
    points: fc.uniqueArray(fc.record({ dt: fc.oneof(fc.integer({ min: -5 * H, max: 600_000 }), fc.integer({ min: -200_000, max: 10_000 })), bits: bitsArb }), { minLength: 1, maxLength: 25, selector: (p) => p.dt }),
  }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 120_000 }), fc.integer({ min: 0, max: 3 * H })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('compact' as const) }) },
);

/** Windows relative to now: any end from 6 h ago to 15 min ahead, lookbacks from 1 ms to 5 h. */
/** Or ending at (or just around) one of the appended timestamps: `pick` chooses it. */
const windowArb = fc.record({
  end: fc.integer({ min: -6 * H, max: 900_000 }),
  pick: fc.option(fc.record({ i: fc.nat(), delta: fc.integer({ min: -2, max: 2 }) }), { nil: undefined, freq: 2 }),
  lookback: fc.oneof(fc.integer({ min: 1, max: 600_000 }), fc.integer({ min: 1, max: 5 * H })),
});
type Win = { end: number; pick: { i: number; delta: number } | undefined; lookback: number };

describe(`latest sample of a series (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  let tenant: string;
  let run = 0;

  before(async () => {
    t = await openTestDb();
    [tenant] = (await makeTenants(t.db, 'latest-prop')) as [string];
    // Series ids above 2^32 (both 32-bit halves of the int8 records matter).
    await t.db.transaction((tx) => tx.query(`SELECT setval(pg_get_serial_sequence('metric_series', 'series_id'), 4294967296 + 12345)`));
  });
  after(() => t.close());

  async function check(base: number, horizon: number, steps: Step[], windows: Win[]): Promise<void> {
    const clock = manualClock(base);
    const store = createEmbeddedSeriesStore(t.db, { now: clock.now, compactionHorizonMs: horizon, maxTenantSeries: 1_000_000 });
    const name = `latest_prop_${run++}`;
    const appended: number[] = [];
    for (const st of steps) {
      if (st.kind === 'advance') clock.advance(st.ms);
      else if (st.kind === 'compact') await store.compact(tenant, clock.now());
      else {
        const values = new Float64Array(st.points.length);
        const w = wordsOf(values);
        st.points.forEach((p, i) => {
          w[2 * i + 1] = p.bits[0];
          w[2 * i] = p.bits[1];
        });
        const batch: SeriesSamples = { labels: { __name__: name, s: String(st.series) }, timestamps: st.points.map((p) => clock.now() + p.dt), values };
        appended.push(...Array.from(batch.timestamps));
        const res = await store.append(tenant, [batch]);
        for (const e of res.errors) assert.equal((e as { code?: string }).code, 'PROBECTL_ERR_METRICS_SAMPLE_CONFLICT', String(e));
      }
    }
    const now = clock.now();
    // Window ends relative to now.
    const ends = windows.map((w) => (w.pick && appended.length > 0 ? (appended[w.pick.i % appended.length] as number) + w.pick.delta - now : w.end));
    await inMetricsScope(t.db, tenant, async (tx) => {
      const ids = (await tx.query<{ series_id: number }>(`SELECT series_id FROM metric_series WHERE tenant_id = $1 AND labels ->> '__name__' = $2`, [tx.tenantId, name])).rows.map((r) => r.series_id);
      for (const [k, win] of windows.entries()) {
        const maxt = now + (ends[k] as number);
        const mint = maxt - win.lookback;
        const want = await loadSamples(tx, ids, mint, maxt);
        const got = await loadLatest(tx, [...ids, 987_654_321], mint, maxt, now - horizon / 2);
        for (const id of ids) {
          const span = want.spans.get(id);
          const expect = span ? { t: want.ts[span.end - 1], hi: want.words[2 * span.end - 1], lo: want.words[2 * span.end - 2] } : undefined;
          const l = got.get(id);
          assert.deepEqual(l ? { t: l.t, hi: l.hi, lo: l.lo } : undefined, expect, `series ${id} window [${mint - now}, ${maxt - now}] (relative to now)`);
        }
        assert.equal(got.size, want.spans.size);
      }
    });
    // The same through the public API: federation's lastSamples against select().
    for (const [k, win] of windows.slice(0, 2).entries()) {
      const at = now + (ends[k] as number);
      const matchers = [{ name: '__name__', op: '=' as const, value: name }];
      const fed = await store.lastSamples(tenant, [matchers], at, { lookbackMs: win.lookback });
      const raw = await store.select(tenant, matchers, at - win.lookback, at);
      const expect = raw.flatMap((r) => {
        const n = r.timestamps.length;
        const w = wordsOf(r.values);
        if (n === 0 || (w[2 * n - 1] === STALE_HI && w[2 * n - 2] === STALE_LO)) return [];
        return [`${r.labels.s} ${r.timestamps[n - 1]} ${w[2 * n - 1]}:${w[2 * n - 2]}`];
      }).sort();
      const gotFed = fed.map((f) => {
        const w = wordsOf(new Float64Array([f.v]));
        return `${f.labels.s} ${f.t} ${w[1]}:${w[0]}`;
      }).sort();
      // f.v went through a JS number: compare NaNs by class only.
      const norm = (s: string) => s.replace(/ (\d+):(\d+)$/, (_m, hi: string, lo: string) => {
        const v = new Float64Array(new Uint32Array([Number(lo), Number(hi)]).buffer)[0] as number;
        return Number.isNaN(v) ? ' NaN' : ` ${hi}:${lo}`;
      });
      assert.deepEqual(gotFed.map(norm), expect.map(norm), `lastSamples at ${at - now} lookback ${win.lookback}`);
    }
  }

  it('an odd compaction horizon (now − horizon/2 not a whole millisecond) still answers instant queries and federation', async () => {
    const clock = manualClock(T0);
    const store = createEmbeddedSeriesStore(t.db, { now: clock.now, compactionHorizonMs: 1_001, maxTenantSeries: 1_000_000 });
    const values = new Float64Array([1, 2]);
    await store.append(tenant, [{ labels: { __name__: 'latest_odd_horizon' }, timestamps: [T0 - 600_000, T0 - 1_000], values }]);
    await store.compact(tenant, clock.now());
    const matchers = [{ name: '__name__', op: '=' as const, value: 'latest_odd_horizon' }];
    assert.deepEqual((await store.lastSamples(tenant, [matchers], T0)).map((s) => [s.t, s.v]), [[T0 - 1_000, 2]]);
    assert.deepEqual((await store.lastSamples(tenant, [matchers], T0 - 300_000, { lookbackMs: 600_000 })).map((s) => [s.t, s.v]), [[T0 - 600_000, 1]]);
    const inst = await store.instant(tenant, { matchers }, T0);
    assert.deepEqual(Array.from(inst[0]?.values ?? []), [2]);
  });

  it('replicas whose clocks are 90 s apart, on the database\'s clock: a sample compacted by the one ahead still wins over an older late sample in the append table', async () => {
    // The latest-sample read skips the chunks of a series whose newest append-table row is newer
    // than now − horizon/2, trusting that compaction (older than now − horizon) cannot have moved
    // a newer one. On the replicas' own clocks 90 s apart it answered T − 50 s here while the chunk
    // holds T − 40 s; on the database's clock (store/db-clock.ts, as the server runs) they agree.
    const behind = new DatabaseClock(t.db, { now: () => Date.now() });
    const ahead = new DatabaseClock(t.db, { now: () => Date.now() + 90_000 });
    await behind.sync();
    await ahead.sync();
    const T = Math.floor(Date.now() / 1000) * 1000;
    const reader = createEmbeddedSeriesStore(t.db, { now: () => behind.now(), maxTenantSeries: 1_000_000 });
    const compactor = createEmbeddedSeriesStore(t.db, { now: () => ahead.now(), maxTenantSeries: 1_000_000 });
    const labels = { __name__: 'latest_skew' };
    await reader.append(tenant, [{ labels, timestamps: [T - 40_000], values: new Float64Array([2]) }]);
    await compactor.compact(tenant, ahead.now());
    await reader.append(tenant, [{ labels, timestamps: [T - 50_000], values: new Float64Array([1]) }]);
    const matchers = [{ name: '__name__', op: '=' as const, value: 'latest_skew' }];
    assert.deepEqual((await reader.lastSamples(tenant, [matchers], T)).map((x) => [x.t, x.v]), [[T - 40_000, 2]]);
    assert.deepEqual(Array.from((await reader.instant(tenant, { matchers }, T))[0]?.values ?? []), [2]);
  });

  it('thousands of series, some only in chunks, some only in the append table, some in both (late samples after compaction)', async () => {
    const clock = manualClock(T0);
    const store = createEmbeddedSeriesStore(t.db, { now: clock.now, maxTenantSeries: 1_000_000 });
    const n = 3000;
    const rnd = fc.sample(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 6 * H })), { numRuns: n, seed: 42 });
    const batch = (k: number, dts: number[]): SeriesSamples => ({ labels: { __name__: 'latest_many', k: String(k) }, timestamps: dts.map((d) => clock.now() - d), values: new Float64Array(dts.map((d) => d * 0.5)) });
    await store.append(tenant, rnd.map(([, d], k) => batch(k, [d])));
    clock.advance(H);
    await store.compact(tenant, clock.now());
    // Kinds 1 and 3 get a fresh sample, kind 2 a late one, kind 0 nothing more.
    await store.append(tenant, rnd.flatMap(([kind, d], k) => (kind === 1 || kind === 3 ? [batch(k, [1_000])] : kind === 2 ? [batch(k, [d + H + 5_000])] : [])));
    await inMetricsScope(t.db, tenant, async (tx) => {
      const ids = (await tx.query<{ series_id: number }>(`SELECT series_id FROM metric_series WHERE tenant_id = $1 AND labels ->> '__name__' = 'latest_many'`, [tx.tenantId])).rows.map((r) => r.series_id);
      assert.equal(ids.length, n);
      for (const [mint, maxt] of [[clock.now() - 8 * H, clock.now()], [clock.now() - 3 * H, clock.now() - H], [clock.now() - 300_000, clock.now()]] as const) {
        const want = await loadSamples(tx, ids, mint, maxt);
        const got = await loadLatest(tx, ids, mint, maxt, clock.now() - 60_000);
        assert.equal(got.size, want.spans.size);
        for (const [id, span] of want.spans) assert.deepEqual(got.get(id), { t: want.ts[span.end - 1], lo: want.words[2 * span.end - 2], hi: want.words[2 * span.end - 1] });
      }
      assert.equal((await loadLatest(tx, [], clock.now() - H, clock.now(), clock.now())).size, 0);
    });
  });

  it('gives the max-t sample of the window that loadSamples gives, on random histories', async () => {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(T0, 2 ** 51 - 10 * H, -(2 ** 51) + 10 * H, 3 * H, -3 * H),
      fc.constantFrom(120_000, 7_200_000, 1_000, 1_001),
      fc.array(stepArb, { minLength: 1, maxLength: 30 }),
      fc.array(windowArb, { minLength: 1, maxLength: 10 }),
      (base, horizon, steps, windows) => check(base, horizon, steps, windows),
    ), { numRuns: Number(process.env.LATEST_RUNS ?? 40) });
  });
});
