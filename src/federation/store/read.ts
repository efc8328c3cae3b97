/**
 * The read path: find matching series (counting at most maxSeries + 1 rows in
 * the database, so the guard fails closed before any sample is loaded), then
 * load their samples in one statement — compacted chunks and append-table rows
 * read under one snapshot — and merge them per series.
 */
import { TenantBoundedCache, textBytes } from '../tenant-cache.ts';
import { ProbectlError } from '../../core/errors.ts';
import type { TenantTx } from '../../store/scope.ts';
import { CHUNK_WINDOW_MS, decodeChunks, intArray, mergeBufs, sampleBuf, sliceBuf, type SampleBuf } from './chunks.ts';
import { decodeXorChunk, xorChunkCount } from './xor-chunk.ts';
import { matcherSetsSql, prepareMatchers, SqlParams, type PreparedMatcher } from './matchers.ts';
import { BOUNDS_SLACK_MS, DEFAULT_REGEX_BUDGET_MS } from './settings.ts';
import { outputLabels } from './labels.ts';
import type { Labels, Matcher, TimeBounds } from './types.ts';

export interface FoundSeries {
  readonly id: number;
  /** Output labels: the stored set plus tenant_id (from the scope), in Prometheus order. Shared: never mutate. */
  readonly labels: Labels;
}

/**
 * Output label sets by series id. A series' labels never change and its id is
 * never reused, so an entry stays true for as long as the series lives; entries
 * are kept per tenant and read only in that tenant's scope. Bounded by entries
 * and by their label text (a label set may be ~150 KB); when full, the tenant
 * holding the most is emptied (TenantBoundedCache), not every tenant.
 */
export class SeriesLabelCache {
  private readonly cache: TenantBoundedCache<Labels, number>;
  /** `max`: entries; `maxBytes`: the label text they hold (bytes as V8 keeps it), 16 MiB by default. */
  constructor(max = 200_000, maxBytes = 16 * 1024 * 1024) {
    this.cache = new TenantBoundedCache(max, maxBytes, (_id, labels) => labelBytes(labels));
  }
  get(tenant: string, id: number): Labels | undefined {
    return this.cache.forTenant(tenant).entries.get(id);
  }
  set(tenant: string, id: number, labels: Labels): void {
    this.cache.add(this.cache.forTenant(tenant), id, labels);
  }
}

/** The label text of a set (names and values, in bytes as V8 keeps them), plus a little per label for the object. */
function labelBytes(labels: Labels): number {
  let n = 0;
  for (const name in labels) n += textBytes(name) + textBytes(labels[name] ?? '') + 16;
  return n;
}

export function tooManySeries(max: number): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_METRICS_TOO_MANY_SERIES', `the selector matches more than ${max} series (PROBECTL_METRICS_MAX_SERIES); narrow the selector`);
}

export function tooManySamples(max: number): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_METRICS_TOO_MANY_SAMPLES', `query processing would load too many samples into memory in query execution (more than ${max}, PROBECTL_METRICS_QUERY_MAX_SAMPLES); narrow the selector or the time range`);
}

/** Every set prepared for `tenant`; their regular expressions share one budget of `regexBudgetMs` of CPU time (the read's). */
export function prepareSets(tenant: string, sets: readonly (readonly Matcher[])[], regexBudgetMs = DEFAULT_REGEX_BUDGET_MS): PreparedMatcher[][] {
  const budget = { limitMs: regexBudgetMs, spentMs: 0 };
  if (!Array.isArray(sets)) throw new ProbectlError('PROBECTL_ERR_METRICS_BAD_MATCHER', 'matcher sets must be an array');
  return sets.map((set) => {
    if (!Array.isArray(set)) throw new ProbectlError('PROBECTL_ERR_METRICS_BAD_MATCHER', 'a matcher set must be an array');
    return prepareMatchers(tenant, set, budget);
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

/**
 * Series matching any set, or PROBECTL_ERR_METRICS_TOO_MANY_SERIES when more
 * than `max` do. Label sets come from `cache` where it has them; only the
 * others are read (and parsed) from the database.
 */
export async function findSeries(tx: TenantTx, sets: readonly (readonly PreparedMatcher[])[], bounds: TimeBounds, max: number, cache?: SeriesLabelCache): Promise<FoundSeries[]> {
  const p = new SqlParams();
  const where = await seriesWhere(tx, sets, bounds, p);
  if (!cache) {
    const res = await tx.query<{ series_id: number; labels: Record<string, string> }>(`SELECT s.series_id, s.labels FROM metric_series s WHERE ${where} LIMIT ${p.add(max + 1)}::int8`, p.values);
    if (res.rows.length > max) throw tooManySeries(max);
    return res.rows.map((r) => ({ id: r.series_id, labels: outputLabels(tx.tenantId, r.labels) }));
  }
  const res = await tx.query<{ series_id: number }>(`SELECT s.series_id FROM metric_series s WHERE ${where} LIMIT ${p.add(max + 1)}::int8`, p.values);
  if (res.rows.length > max) throw tooManySeries(max);
  const out: FoundSeries[] = new Array(res.rows.length);
  const missing: number[] = [];
  res.rows.forEach((r, i) => {
    const labels = cache.get(tx.tenantId, r.series_id);
    if (labels) out[i] = { id: r.series_id, labels };
    else missing.push(i);
  });
  if (missing.length > 0) {
    const ids = missing.map((i) => (res.rows[i] as { series_id: number }).series_id);
    const got = await tx.query<{ series_id: number; labels: Record<string, string> }>('SELECT series_id, labels FROM metric_series WHERE tenant_id = $1 AND series_id = ANY ($2::int8[])', [tx.tenantId, intArray(ids)]);
    const byId = new Map(got.rows.map((r) => [r.series_id, r.labels]));
    for (const i of missing) {
      const id = (res.rows[i] as { series_id: number }).series_id;
      const stored = byId.get(id);
      // Deleted by retention between the two statements: not a match any more.
      if (!stored) continue;
      const labels = outputLabels(tx.tenantId, stored);
      cache.set(tx.tenantId, id, labels);
      out[i] = { id, labels };
    }
  }
  return out.filter((f) => f !== undefined);
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
 * Recent samples (the append table) of the given series, grouped: records of
 * 24 bytes (int8send of series_id, t, v) in no particular order, read as one
 * value, are placed per series (a counting sort by the series' position in
 * `ids`) and put in time order where they were not. Returns per position the
 * [start, end) of its records in `ts`/`words`.
 */
function groupRecent(blob: Uint8Array, position: Map<number, number>, n: number): { ts: Float64Array; words: Uint32Array; starts: Int32Array } {
  const count = blob.length / 24;
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const pos = new Int32Array(count);
  const starts = new Int32Array(n + 1);
  for (let i = 0; i < count; i++) {
    const p = position.get(dv.getInt32(24 * i) * 4294967296 + dv.getUint32(24 * i + 4)) ?? -1;
    pos[i] = p;
    if (p >= 0) (starts[p + 1] as number)++;
  }
  for (let p = 0; p < n; p++) starts[p + 1] = (starts[p + 1] as number) + (starts[p] as number);
  const fill = starts.slice(0, n);
  const ts = new Float64Array(starts[n] as number);
  const words = new Uint32Array(2 * ts.length);
  for (let i = 0; i < count; i++) {
    const p = pos[i] as number;
    if (p < 0) continue;
    const k = (fill[p] as number);
    fill[p] = k + 1;
    const o = 24 * i;
    ts[k] = dv.getInt32(o + 8) * 4294967296 + dv.getUint32(o + 12);
    words[2 * k + 1] = dv.getUint32(o + 16);
    words[2 * k] = dv.getUint32(o + 20);
  }
  for (let p = 0; p < n; p++) sortRun(ts, words, starts[p] as number, starts[p + 1] as number);
  return { ts, words, starts };
}

/** Insertion sort of one series' records by time (they usually arrive sorted; a late sample moves a few places). */
function sortRun(ts: Float64Array, words: Uint32Array, from: number, to: number): void {
  for (let i = from + 1; i < to; i++) {
    const t = ts[i] as number;
    if (t >= (ts[i - 1] as number)) continue;
    const lo = words[2 * i] as number;
    const hi = words[2 * i + 1] as number;
    let j = i - 1;
    while (j >= from && (ts[j] as number) > t) {
      ts[j + 1] = ts[j] as number;
      words[2 * j + 2] = words[2 * j] as number;
      words[2 * j + 3] = words[2 * j + 1] as number;
      j--;
    }
    ts[j + 1] = t;
    words[2 * j + 2] = lo;
    words[2 * j + 3] = hi;
  }
}

/** Chunks of series $2 that may hold samples in [$3, $4] (a chunk never crosses its 2-hour window). */
const CHUNKS_IN_WINDOW = `metric_chunks c JOIN unnest($2::int8[]) AS u(id) ON c.series_id = u.id
      WHERE c.tenant_id = $1 AND c.min_t > $3::int8 - ${CHUNK_WINDOW_MS} AND c.min_t <= $4::int8 AND c.max_t >= $3::int8`;
/** Append-table rows of series $2 in [$3, $4]. */
const RECENT_IN_WINDOW = `metric_samples s JOIN unnest($2::int8[]) AS u(id) ON s.series_id = u.id
                     WHERE s.tenant_id = $1 AND s.t >= $3::int8 AND s.t <= $4::int8`;
const RECENT_BLOB = `SELECT string_agg(int8send(s.series_id) || int8send(s.t) || int8send(s.v), ''::bytea) FROM ${RECENT_IN_WINDOW}`;
const LOAD_SQL = `SELECT c.series_id, c.min_t, c.data FROM ${CHUNKS_IN_WINDOW}
     UNION ALL
     SELECT -1, 0, (${RECENT_BLOB})`;
/**
 * LOAD_SQL under a sample limit $5: the samples are first counted in the database (a chunk's
 * count is its first two bytes), and when they are more than $5 no chunk and no blob leaves it
 * — only the count, as the row with series_id -2 (a query over 15 days of 10,000 series would
 * otherwise bring gigabytes into memory before the limit is checked).
 */
const GUARDED_LOAD_SQL = `WITH total AS MATERIALIZED (
       SELECT (SELECT coalesce(sum(get_byte(c.data, 0) * 256 + get_byte(c.data, 1)), 0) FROM ${CHUNKS_IN_WINDOW})
            + (SELECT count(*) FROM ${RECENT_IN_WINDOW}) AS n)
     SELECT c.series_id, c.min_t, c.data FROM ${CHUNKS_IN_WINDOW} AND (SELECT n FROM total) <= $5::int8
     UNION ALL
     SELECT -1, 0, (${RECENT_BLOB}) WHERE (SELECT n FROM total) <= $5::int8
     UNION ALL
     SELECT -2, (SELECT n FROM total)::int8, NULL`;

/**
 * Samples of the given series with mint ≤ t ≤ maxt, merged from chunks and
 * the append table (a timestamp present in both counts once, the chunk's),
 * decoded into one arena (one allocation, not one per series). One statement,
 * one snapshot: compaction moving rows into chunks meanwhile cannot hide
 * them. The append table's rows come back as one value (not a row or an
 * aggregate per series: the database's per-row and sorting work dominated).
 * With a finite `maxSamples` the database counts first and sends nothing over
 * the limit (PROBECTL_ERR_METRICS_TOO_MANY_SAMPLES).
 */
export async function loadSamples(tx: TenantTx, ids: readonly number[], mint: number, maxt: number, maxSamples = Number.POSITIVE_INFINITY): Promise<SampleArena> {
  const spans = new Map<number, { start: number; end: number }>();
  if (ids.length === 0 || maxt < mint) return { ...sampleBuf(0), spans };
  const guarded = Number.isFinite(maxSamples);
  const res = await tx.query<{ series_id: number; min_t: number; data: Uint8Array | null }>(guarded ? GUARDED_LOAD_SQL : LOAD_SQL,
    guarded ? [tx.tenantId, intArray(ids), mint, maxt, Math.floor(maxSamples)] : [tx.tenantId, intArray(ids), mint, maxt]);
  const total = res.rows.find((r) => r.series_id === -2);
  if (total && total.min_t > maxSamples) throw tooManySamples(maxSamples);
  const position = new Map<number, number>();
  ids.forEach((id, i) => position.set(id, i));
  const chunksAt: Array<Array<{ minT: number; data: Uint8Array }> | undefined> = new Array(ids.length);
  let capacity = 0;
  let recentBlob: Uint8Array = new Uint8Array(0);
  for (const r of res.rows) {
    if (r.series_id === -1) {
      if (r.data) recentBlob = r.data;
      continue;
    }
    const p = position.get(r.series_id);
    if (p === undefined || !r.data) continue;
    (chunksAt[p] ??= []).push({ minT: r.min_t, data: r.data });
    capacity += xorChunkCount(r.data);
  }
  capacity += recentBlob.length / 24;
  if (capacity > maxSamples) throw tooManySamples(maxSamples);
  const recent = groupRecent(recentBlob, position, ids.length);
  const arena = sampleBuf(capacity);
  let pos = 0;
  for (let p = 0; p < ids.length; p++) {
    const base = pos;
    const chunks = chunksAt[p];
    if (chunks) {
      if (chunks.length > 1) chunks.sort((a, b) => a.minT - b.minT);
      for (const c of chunks) pos += decodeXorChunk(c.data, arena.ts, arena.words, pos);
    }
    const start = lowerBoundIn(arena.ts, base, pos, mint);
    let end = lowerBoundIn(arena.ts, start, pos, maxt + 1);
    const r0 = recent.starts[p] as number;
    const nrec = (recent.starts[p + 1] as number) - r0;
    if (nrec > 0) {
      arena.ts.set(recent.ts.subarray(r0, r0 + nrec), end);
      arena.words.set(recent.words.subarray(2 * r0, 2 * (r0 + nrec)), 2 * end);
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
    if (end > start) spans.set(ids[p] as number, { start, end });
  }
  return { ts: arena.ts, values: arena.values, words: arena.words, spans };
}

/** The latest sample of a series: time and value bits. */
export interface Latest {
  readonly t: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * The latest sample with mint ≤ t ≤ maxt of each given series (federation,
 * instant selection), in one statement with at most two index probes per
 * series: its newest append-table row in the window (`(series_id, t)`
 * backward), then — only when that row is missing or older than `freshFrom` —
 * its newest chunk in the window (`(series_id, min_t)` backward) with the
 * chunk's last sample (max_t, last_v). `freshFrom` is now − horizon/2: a chunk
 * never holds a sample that new (compaction takes only samples older than
 * now − horizon; the other half absorbs what remains between replicas' clocks,
 * as the append's duplicate check assumes — every replica reads the database's
 * clock, store/db-clock.ts, so that is milliseconds), so under a live stream no
 * chunk is read.
 * Only the latest chunk of a series (the greatest min_t ≤ maxt) can hold its
 * latest sample ≤ maxt — chunks of a series never overlap — so one chunk per
 * series is read whatever the lookback. A chunk whose window ends after maxt,
 * or written before last_v existed, is decoded by a second statement, by
 * window, not by key (a compaction between the two cannot hide the newest
 * sample). On equal timestamps the chunk's sample wins, as in loadSamples.
 */
export async function loadLatest(tx: TenantTx, ids: readonly number[], mint: number, maxt: number, freshFrom: number): Promise<Map<number, Latest>> {
  const out = new Map<number, Latest>();
  if (ids.length === 0 || maxt < mint) return out;
  // Per series one 41-byte record: id, the append row's t and v, the chunk's max_t and last_v, and
  // flags (1: an append row, 2: a chunk, 4: the chunk has last_v).
  const res = await tx.query<{ blob: Uint8Array | null }>(
    `SELECT string_agg(int8send(u.id) || int8send(coalesce(l.t, 0)) || int8send(coalesce(l.v, 0)) || int8send(coalesce(c.max_t, 0))
                       || int8send(coalesce(c.last_v, 0))
                       || set_byte('\\x00'::bytea, 0, (l.t IS NOT NULL)::int + 2 * (c.max_t IS NOT NULL)::int + 4 * (c.last_v IS NOT NULL)::int), ''::bytea) AS blob
       FROM unnest($2::int8[]) AS u(id)
       LEFT JOIN LATERAL (SELECT s.t, s.v FROM metric_samples s
                           WHERE s.series_id = u.id AND s.tenant_id = $1 AND s.t >= $3::int8 AND s.t <= $4::int8
                           ORDER BY s.t DESC LIMIT 1) AS l ON true
       LEFT JOIN LATERAL (SELECT c.max_t, c.last_v FROM metric_chunks c
                           WHERE (l.t IS NULL OR l.t < $5::int8) AND c.series_id = u.id AND c.tenant_id = $1
                             AND c.min_t > $3::int8 - ${CHUNK_WINDOW_MS} AND c.min_t <= $4::int8 AND c.max_t >= $3::int8
                           ORDER BY c.min_t DESC LIMIT 1) AS c ON true`,
    // Whole milliseconds for the int8 comparison (now − horizon/2 need not be); rounding down reads a chunk more often, never less.
    [tx.tenantId, intArray(ids), mint, maxt, Math.floor(freshFrom)]);
  const blob = res.rows[0]?.blob;
  const need = new Set<number>();
  if (blob) {
    const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const int8 = (o: number) => dv.getInt32(o) * 4294967296 + dv.getUint32(o + 4);
    for (let o = 0; o + 41 <= blob.length; o += 41) {
      const flags = dv.getUint8(o + 40);
      const id = int8(o);
      const row = (flags & 1) !== 0 ? { t: int8(o + 8), hi: dv.getUint32(o + 16), lo: dv.getUint32(o + 20) } : undefined;
      if (row) out.set(id, row);
      if ((flags & 2) === 0) continue;
      const maxT = int8(o + 24);
      if (row && maxT < row.t) continue;
      // A chunk ending within the window gives its newest sample without decoding; it wins a tie.
      if ((flags & 4) !== 0 && maxT <= maxt) out.set(id, { t: maxT, hi: dv.getUint32(o + 32), lo: dv.getUint32(o + 36) });
      else need.add(id);
    }
  }
  if (need.size === 0) return out;
  const chunks = await tx.query<{ series_id: number; data: Uint8Array }>(
    `SELECT DISTINCT ON (c.series_id) c.series_id, c.data FROM ${CHUNKS_IN_WINDOW} ORDER BY c.series_id, c.min_t DESC`,
    [tx.tenantId, intArray(need), mint, maxt]);
  for (const c of chunks.rows) {
    const buf = decodeChunks([c.data]);
    const j = lowerBoundIn(buf.ts, 0, buf.ts.length, maxt + 1) - 1;
    if (j < 0 || (buf.ts[j] as number) < mint) continue;
    const t = buf.ts[j] as number;
    const have = out.get(c.series_id);
    if (have && have.t > t) continue;
    out.set(c.series_id, { t, lo: buf.words[2 * j] as number, hi: buf.words[2 * j + 1] as number });
  }
  return out;
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
