/**
 * The embedded series store: SeriesStore over the project's database (PGlite
 * or PostgreSQL), every call in the caller's tenant scope (inTenant + RLS, via inMetricsScope).
 * Schema: src/store/migrations/0005_metrics.sql; design notes in
 * docs/federation.md ("Storage").
 */
import { ProbectlError } from '../../core/errors.ts';
import type { Db } from '../../store/db.ts';
import { appendSeries, LabelCache } from './append.ts';
import { evalLatest, evalRange, evalRangeVector, instantWindow, referenceTime, sortResult, type LoadedSeries } from './eval.ts';
import { STALE_HI, STALE_LO } from './float-bits.ts';
import { compareUtf8, TENANT_LABEL } from './labels.ts';
import { compactTenant, countActive, expireTenant } from './maintenance.ts';
import { SqlParams, type PreparedMatcher } from './matchers.ts';
import { findSeries, guardCount, loadLatest, loadSamples, prepareSets, SeriesLabelCache, seriesWhere, type SampleArena } from './read.ts';
import { DEFAULT_SETTINGS, inMetricsScope, type EmbeddedStoreSettings } from './settings.ts';
import type { Labels, LastSample, Matcher, QueryOptions, RawSeries, ReadOptions, ResultSeries, Selector, SeriesStore, SeriesStoreMaintenance, TimeBounds } from './types.ts';

export type EmbeddedSeriesStore = SeriesStore & SeriesStoreMaintenance;

function checkTime(name: string, v: number): void {
  if (!Number.isSafeInteger(v)) throw new RangeError(`${name} must be an integer number of milliseconds`);
}

function checkSelector(sel: Selector): void {
  if (sel === null || typeof sel !== 'object' || !Array.isArray(sel.matchers)) throw new ProbectlError('PROBECTL_ERR_METRICS_BAD_MATCHER', 'a selector needs matchers');
  if (sel.offsetMs !== undefined) checkTime('offset', sel.offsetMs);
  if (typeof sel.at === 'number') checkTime('@', sel.at);
  if (sel.rangeMs !== undefined) checkTime('range', sel.rangeMs);
}

/** Creates the store; `settings` override DEFAULT_SETTINGS field by field. */
export function createEmbeddedSeriesStore(db: Db, settings: Partial<EmbeddedStoreSettings> = {}): EmbeddedSeriesStore {
  const s: EmbeddedStoreSettings = { ...DEFAULT_SETTINGS, ...settings };
  const maxOf = (o?: ReadOptions) => o?.maxSeries ?? s.maxSeries;
  const labelCache = new LabelCache();
  const seriesLabels = new SeriesLabelCache();

  /** Finds the series (guarded) and loads their samples in [mint, maxt], in one tenant transaction. */
  async function load(tenant: string, matchers: readonly Matcher[], mint: number, maxt: number, max: number, bounds: TimeBounds, maxSamples?: number): Promise<{ arena: SampleArena; series: LoadedSeries[] }> {
    const sets = prepareSets(tenant, [matchers], s.regexBudgetMs);
    return inMetricsScope(db, tenant, async (tx) => {
      const found = await findSeries(tx, sets, bounds, max, seriesLabels);
      const arena = await loadSamples(tx, found.map((f) => f.id), mint, maxt, maxSamples);
      const series: LoadedSeries[] = [];
      for (const f of found) {
        const span = arena.spans.get(f.id);
        if (span) series.push({ labels: f.labels, start: span.start, end: span.end });
      }
      return { arena, series };
    });
  }

  async function distinctOver(tenant: string, column: string, extra: string, sets: readonly (readonly PreparedMatcher[])[] | undefined, bounds: TimeBounds, max: number, bind: (p: SqlParams) => void = () => {}): Promise<{ values: string[]; any: boolean }> {
    return inMetricsScope(db, tenant, async (tx) => {
      if (sets !== undefined) await guardCount(tx, sets, bounds, max);
      const p = new SqlParams();
      bind(p);
      const where = await seriesWhere(tx, sets, bounds, p);
      const res = await tx.query<{ v: string | null }>(`SELECT DISTINCT ${column} AS v FROM metric_series s${extra} WHERE ${where}`, p.values);
      return { values: res.rows.map((r) => r.v).filter((v): v is string => v !== null && v !== ''), any: res.rows.length > 0 };
    });
  }

  const setsOrAll = (tenant: string, sets: readonly (readonly Matcher[])[]) => (sets.length === 0 ? undefined : prepareSets(tenant, sets, s.regexBudgetMs));

  return {
    append: (tenant, series) => appendSeries(db, s, labelCache, tenant, series),

    async select(tenant, matchers, startMs, endMs, options): Promise<RawSeries[]> {
      checkTime('start', startMs);
      checkTime('end', endMs);
      const { arena, series } = await load(tenant, matchers, startMs, endMs, maxOf(options), { startMs, endMs }, options?.maxSamples);
      return sortResult(series.map((l) => ({ labels: l.labels, timestamps: arena.ts.subarray(l.start, l.end), values: arena.values.subarray(l.start, l.end) })));
    },

    async instant(tenant, selector, tMs, options?: QueryOptions): Promise<ResultSeries[]> {
      checkSelector(selector);
      checkTime('time', tMs);
      const lookback = options?.lookbackMs ?? s.lookbackMs;
      const ref = referenceTime(selector, tMs, tMs, tMs);
      const w = instantWindow(ref, lookback);
      const picked = await inMetricsScope(db, tenant, async (tx) => {
        const found = await findSeries(tx, prepareSets(tenant, [selector.matchers], s.regexBudgetMs), { startMs: w.mint, endMs: w.maxt }, maxOf(options), seriesLabels);
        const latest = await loadLatest(tx, found.map((f) => f.id), w.mint, w.maxt, s.now() - s.compactionHorizonMs / 2);
        return found.flatMap((f) => {
          const l = latest.get(f.id);
          return l ? [{ labels: f.labels, latest: l }] : [];
        });
      });
      return evalLatest(picked, tMs);
    },

    async range(tenant, selector, startMs, endMs, stepMs, options?: QueryOptions): Promise<ResultSeries[]> {
      checkSelector(selector);
      checkTime('start', startMs);
      checkTime('end', endMs);
      if (!Number.isSafeInteger(stepMs) || stepMs <= 0) throw new RangeError('step must be a positive integer number of milliseconds');
      if (endMs < startMs) throw new RangeError('end must not be before start');
      const lookback = options?.lookbackMs ?? s.lookbackMs;
      const offset = selector.offsetMs ?? 0;
      const fixed = selector.at === undefined ? undefined : referenceTime(selector, startMs, startMs, endMs);
      const mint = (fixed ?? startMs - offset) - lookback + 1;
      const maxt = fixed ?? endMs - offset;
      const { arena, series } = await load(tenant, selector.matchers, mint, maxt, maxOf(options), { startMs: mint, endMs: maxt }, options?.maxSamples);
      return evalRange(arena, series, startMs, endMs, stepMs, offset, lookback, fixed, options?.maxSamples);
    },

    async rangeVector(tenant, selector, tMs, options): Promise<ResultSeries[]> {
      checkSelector(selector);
      checkTime('time', tMs);
      const range = selector.rangeMs;
      if (range === undefined || range <= 0) throw new RangeError('a range vector needs a positive range');
      const ref = referenceTime(selector, tMs, tMs, tMs);
      const { arena, series } = await load(tenant, selector.matchers, ref - range + 1, ref, maxOf(options), { startMs: ref - range + 1, endMs: ref }, options?.maxSamples);
      return evalRangeVector(arena, series, ref, range);
    },

    async series(tenant, matcherSets, bounds = {}, options): Promise<Labels[]> {
      const sets = prepareSets(tenant, matcherSets, s.regexBudgetMs);
      const found = await inMetricsScope(db, tenant, (tx) => findSeries(tx, sets, bounds, maxOf(options), seriesLabels));
      return sortResult(found.map((f) => ({ labels: f.labels }))).map((x) => x.labels);
    },

    async labelNames(tenant, matcherSets, bounds = {}, options): Promise<string[]> {
      const r = await distinctOver(tenant, 'k', ', jsonb_object_keys(s.labels) AS k', setsOrAll(tenant, matcherSets), bounds, maxOf(options));
      return r.any ? [...r.values, TENANT_LABEL].sort(compareUtf8) : [];
    },

    async labelValues(tenant, name, matcherSets, bounds = {}, options): Promise<string[]> {
      if (typeof name !== 'string' || name === '') throw new ProbectlError('PROBECTL_ERR_METRICS_BAD_MATCHER', 'a label name is required');
      const sets = setsOrAll(tenant, matcherSets);
      if (name === TENANT_LABEL) {
        const r = await distinctOver(tenant, '1::text', '', sets, bounds, maxOf(options));
        return r.any ? [tenant] : [];
      }
      // The name is bound first, so it is $1.
      const r = await distinctOver(tenant, 's.labels ->> $1::text', '', sets, bounds, maxOf(options), (p) => void p.add(name));
      return r.values.sort(compareUtf8);
    },

    async lastSamples(tenant, matcherSets, atMs, options?: QueryOptions): Promise<LastSample[]> {
      checkTime('time', atMs);
      const lookback = options?.lookbackMs ?? s.lookbackMs;
      const sets = prepareSets(tenant, matcherSets, s.regexBudgetMs);
      const mint = atMs - lookback;
      const out = await inMetricsScope(db, tenant, async (tx) => {
        const found = await findSeries(tx, sets, { startMs: mint, endMs: atMs }, maxOf(options), seriesLabels);
        const latest = await loadLatest(tx, found.map((f) => f.id), mint, atMs, s.now() - s.compactionHorizonMs / 2);
        const res: LastSample[] = [];
        const cell = new Float64Array(1);
        const w = new Uint32Array(cell.buffer);
        for (const f of found) {
          const l = latest.get(f.id);
          // Prometheus's federation drops a series whose latest sample is a stale marker.
          if (!l || (l.hi === STALE_HI && l.lo === STALE_LO)) continue;
          w[0] = l.lo;
          w[1] = l.hi;
          res.push({ labels: f.labels, t: l.t, v: cell[0] as number });
        }
        return res;
      });
      // In label-set order (the exposition groups them into families by name, keeping this order within).
      return sortResult(out);
    },

    compact: (tenant, beforeMs) => compactTenant(db, s, tenant, beforeMs),
    deleteBefore: (tenant, cutoffMs) => expireTenant(db, s, tenant, cutoffMs),
    activeSeries: (tenant) => countActive(db, s, tenant),
  };
}
