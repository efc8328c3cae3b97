/**
 * The read path: find matching series (counting at most maxSeries + 1 rows in
 * the database, so the guard fails closed before any sample is loaded), then
 * load their samples in one statement — compacted chunks and append-table rows
 * read under one snapshot — and merge them per series.
 */
import { ProbectlError } from '../../core/errors.ts';
import type { TenantTx } from '../../store/scope.ts';
import { CHUNK_WINDOW_MS, decodeChunks, decodeRecords, intArray, lowerBound, mergeBufs, sliceBuf, type SampleBuf } from './chunks.ts';
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

/**
 * Samples of the given series with mint ≤ t ≤ maxt, merged from chunks and
 * the append table (a timestamp present in both counts once, the chunk's).
 */
export async function loadSamples(tx: TenantTx, ids: readonly number[], mint: number, maxt: number): Promise<Map<number, SampleBuf>> {
  const out = new Map<number, SampleBuf>();
  if (ids.length === 0 || maxt < mint) return out;
  // One statement, one snapshot: compaction moving rows into chunks meanwhile cannot hide them.
  const res = await tx.query<{ series_id: number; src: number; min_t: number; data: Uint8Array }>(
    `SELECT series_id, 0 AS src, min_t, data FROM metric_chunks
      WHERE tenant_id = $1 AND series_id = ANY ($2::int8[]) AND min_t > $3::int8 - ${CHUNK_WINDOW_MS} AND min_t <= $4::int8 AND max_t >= $3::int8
     UNION ALL
     SELECT series_id, 1 AS src, 0 AS min_t, string_agg(int8send(t) || int8send(v), ''::bytea ORDER BY t) AS data FROM metric_samples
      WHERE tenant_id = $1 AND series_id = ANY ($2::int8[]) AND t >= $3::int8 AND t <= $4::int8 GROUP BY series_id`,
    [tx.tenantId, intArray(ids), mint, maxt]);
  const chunks = new Map<number, Array<{ minT: number; data: Uint8Array }>>();
  const recent = new Map<number, Uint8Array>();
  for (const r of res.rows) {
    if (r.src === 1) recent.set(r.series_id, r.data);
    else {
      const list = chunks.get(r.series_id) ?? [];
      list.push({ minT: r.min_t, data: r.data });
      chunks.set(r.series_id, list);
    }
  }
  for (const id of ids) {
    const list = chunks.get(id);
    let compacted: SampleBuf | undefined;
    if (list) {
      list.sort((a, b) => a.minT - b.minT);
      const all = decodeChunks(list.map((c) => c.data));
      compacted = sliceBuf(all, lowerBound(all.ts, mint), lowerBound(all.ts, maxt + 1));
    }
    const rec = recent.get(id);
    const fresh = rec ? decodeRecords(rec) : undefined;
    const merged = compacted && fresh ? mergeBufs(compacted, fresh) : (compacted ?? fresh);
    if (merged && merged.ts.length > 0) out.set(id, merged);
  }
  return out;
}
