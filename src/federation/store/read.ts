/**
 * The read path: find matching series (counting at most maxSeries + 1 rows in
 * the database, so the guard fails closed before any sample is loaded), then
 * load their samples in one statement — compacted chunks and append-table rows
 * read under one snapshot — and merge them per series.
 */
import { ProbectlError } from '../../core/errors.ts';
import type { TenantTx } from '../../store/scope.ts';
import { CHUNK_WINDOW_MS, intArray, mergeBufs, sampleBuf, sliceBuf, type SampleBuf } from './chunks.ts';
import { readSampleRecords } from './float-bits.ts';
import { decodeXorChunk, xorChunkCount } from './xor-chunk.ts';
import { matcherSetsSql, prepareMatchers, SqlParams, type PreparedMatcher } from './matchers.ts';
import { BOUNDS_SLACK_MS } from './settings.ts';
import type { Matcher, TimeBounds } from './types.ts';

export interface FoundSeries {
  readonly id: number;
  readonly labels: Record<string, string>;
}

export function tooManySeries(max: number): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_METRICS_TOO_MANY_SERIES', `the selector matches more than ${max} series (PROBECTL_METRICS_MAX_SERIES); narrow the selector`);
}

export function tooManySamples(max: number): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_METRICS_TOO_MANY_SAMPLES', `query processing would load too many samples into memory in query execution (more than ${max}, PROBECTL_METRICS_QUERY_MAX_SAMPLES); narrow the selector or the time range`);
}

export function prepareSets(tenant: string, sets: readonly (readonly Matcher[])[]): PreparedMatcher[][] {
  if (!Array.isArray(sets)) throw new ProbectlError('PROBECTL_ERR_METRICS_BAD_MATCHER', 'matcher sets must be an array');
  return sets.map((set) => {
    if (!Array.isArray(set)) throw new ProbectlError('PROBECTL_ERR_METRICS_BAD_MATCHER', 'a matcher set must be an array');
    return prepareMatchers(tenant, set);
  });
}

/** The WHERE clause (over metric_series s) for the tenant, the matcher sets and a loose time window. */
export async function seriesWhere(tx: TenantTx, sets: readonly (readonly PreparedMatcher[])[] | undefined, bounds: TimeBounds, p: SqlParams): Promise<string> {
  const conds = [`s.tenant_id = ${p.add(tx.tenantId)}`];
  if (sets !== undefined) conds.push(await matcherSetsSql(tx, sets, p));
  // last_t lags the newest sample by at most the slack; first_t never exceeds the oldest.
  if (bounds.startMs !== undefined) conds.push(`s.last_t >= ${p.add(bounds.startMs - BOUNDS_SLACK_MS)}::int8`);
  if (bounds.endMs !== undefined) conds.push(`s.first_t <= ${p.add(bounds.endMs)}::int8`);
  return conds.join(' AND ');
}

/** Series matching any set, or PROBECTL_ERR_METRICS_TOO_MANY_SERIES when more than `max` do. */
export async function findSeries(tx: TenantTx, sets: readonly (readonly PreparedMatcher[])[], bounds: TimeBounds, max: number): Promise<FoundSeries[]> {
  const p = new SqlParams();
  const where = await seriesWhere(tx, sets, bounds, p);
  const res = await tx.query<{ series_id: number; labels: Record<string, string> }>(`SELECT s.series_id, s.labels FROM metric_series s WHERE ${where} LIMIT ${p.add(max + 1)}::int8`, p.values);
  if (res.rows.length > max) throw tooManySeries(max);
  return res.rows.map((r) => ({ id: r.series_id, labels: r.labels }));
}

/** Fails closed when more than `max` series match (counted in the database, nothing loaded). */
export async function guardCount(tx: TenantTx, sets: readonly (readonly PreparedMatcher[])[], bounds: TimeBounds, max: number): Promise<number> {
  const p = new SqlParams();
  const where = await seriesWhere(tx, sets, bounds, p);
  const res = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT 1 FROM metric_series s WHERE ${where} LIMIT ${p.add(max + 1)}::int8) AS x`, p.values);
  const n = res.rows[0]?.n ?? 0;
  if (n > max) throw tooManySeries(max);
  return n;
}

/** Samples of many series in one buffer; a series' samples are [start, end) of it, ascending. */
export interface SampleArena {
  readonly ts: Float64Array;
  readonly values: Float64Array;
  readonly words: Uint32Array;
  readonly spans: Map<number, { readonly start: number; readonly end: number }>;
}

/**
 * Samples of the given series with mint ≤ t ≤ maxt, merged from chunks and
 * the append table (a timestamp present in both counts once, the chunk's),
 * decoded into one arena (one allocation, not one per series).
 */
export async function loadSamples(tx: TenantTx, ids: readonly number[], mint: number, maxt: number, maxSamples = Number.POSITIVE_INFINITY): Promise<SampleArena> {
  const spans = new Map<number, { start: number; end: number }>();
  if (ids.length === 0 || maxt < mint) return { ...sampleBuf(0), spans };
  // One statement, one snapshot: compaction moving rows into chunks meanwhile cannot hide them.
  const res = await tx.query<{ series_id: number; src: number; min_t: number; data: Uint8Array }>(
    `SELECT series_id, 0 AS src, min_t, data FROM metric_chunks
      WHERE tenant_id = $1 AND series_id = ANY ($2::int8[]) AND min_t > $3::int8 - ${CHUNK_WINDOW_MS} AND min_t <= $4::int8 AND max_t >= $3::int8
     UNION ALL
     SELECT series_id, 1 AS src, 0 AS min_t, string_agg(int8send(t) || int8send(v), ''::bytea ORDER BY t) AS data FROM metric_samples
      WHERE tenant_id = $1 AND series_id = ANY ($2::int8[]) AND t >= $3::int8 AND t <= $4::int8 GROUP BY series_id`,
    [tx.tenantId, intArray(ids), mint, maxt]);
  const bySeries = new Map<number, { chunks: Array<{ minT: number; data: Uint8Array }>; recent?: Uint8Array }>();
  let capacity = 0;
  for (const r of res.rows) {
    let e = bySeries.get(r.series_id);
    if (!e) {
      e = { chunks: [] };
      bySeries.set(r.series_id, e);
    }
    if (r.src === 1) {
      e.recent = r.data;
      capacity += r.data.length >>> 4;
    } else {
      e.chunks.push({ minT: r.min_t, data: r.data });
      capacity += xorChunkCount(r.data);
    }
  }
  if (capacity > maxSamples) throw tooManySamples(maxSamples);
  const arena = sampleBuf(capacity);
  let pos = 0;
  for (const id of ids) {
    const e = bySeries.get(id);
    if (!e) continue;
    const base = pos;
    e.chunks.sort((a, b) => a.minT - b.minT);
    for (const c of e.chunks) pos += decodeXorChunk(c.data, arena.ts, arena.words, pos);
    const start = lowerBoundIn(arena.ts, base, pos, mint);
    let end = lowerBoundIn(arena.ts, start, pos, maxt + 1);
    const nrec = e.recent ? e.recent.length >>> 4 : 0;
    if (e.recent && nrec > 0) {
      readSampleRecords(e.recent, arena.ts, arena.words, end);
      const first = arena.ts[end] as number;
      if (end > start && (arena.ts[end - 1] as number) >= first) {
        // Rare: late samples overlap compacted ones; merge (the chunk's sample wins).
        const merged = mergeBufs(copyOut(arena, start, end), copyOut(arena, end, end + nrec));
        arena.ts.set(merged.ts, start);
        arena.words.set(merged.words, 2 * start);
        end = start + merged.ts.length;
      } else end += nrec;
    }
    pos += nrec;
    if (end > start) spans.set(id, { start, end });
  }
  return { ts: arena.ts, values: arena.values, words: arena.words, spans };
}

function copyOut(a: SampleBuf, from: number, to: number): SampleBuf {
  return sliceBuf(a, from, to);
}

function lowerBoundIn(ts: Float64Array, from: number, to: number, t: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ts[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
