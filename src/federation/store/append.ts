/**
 * The write path. One append is one transaction in the tenant's scope:
 * resolve series by fingerprint, create new ones under the tenant's
 * active-series cap, move the series' coarse bounds, compare samples old
 * enough to have been compacted with their chunks, then insert the rest into
 * the narrow append table in one statement (ON CONFLICT DO NOTHING on
 * (series_id, t)). Samples identical to stored ones are duplicates (stored
 * once); a different value for a stored timestamp is refused and the stored
 * value kept; everything acceptable in the batch is stored either way.
 */
import { ProbectlError } from '../../core/errors.ts';
import { isTransactionConflict, isUniqueViolation, type Db } from '../../store/db.ts';
import type { TenantTx } from '../../store/scope.ts';
import { decodeChunks, intArray, lowerBound, windowStart } from './chunks.ts';
import { int8Text } from './float-bits.ts';
import { canonicalLabels, fingerprint } from './labels.ts';
import { activeSeriesAt, BOUNDS_SLACK_MS, inMetricsScope, lockTenant, MAINTENANCE_LOCK_CLASS, SERIES_LOCK_CLASS, type EmbeddedStoreSettings } from './settings.ts';
import type { AppendResult, SeriesSamples } from './types.ts';
import { TIMESTAMP_LIMIT } from './xor-chunk.ts';
import { TenantBoundedCache, textBytes } from '../tenant-cache.ts';

/** A series of the batch: samples ascending and unique by time, value bits as (lo, hi) words. */
interface PreparedSeries {
  readonly key: string;
  readonly labels: Record<string, string>;
  ts: number[];
  lo: number[];
  hi: number[];
  id?: number;
  readonly entry: CacheEntry;
}

/** What the database holds for a series (bounds as last written or read; the database's are never older). */
interface SeriesState {
  readonly id: number;
  readonly first: number;
  readonly last: number;
  readonly seen: number;
}

interface CacheEntry {
  readonly key: string;
  readonly labels: Record<string, string>;
  /** Set only after a commit that saw the series: a rolled-back id is never cached. */
  series?: SeriesState;
}

/**
 * Canonical form and series state of label sets seen lately, so a steady
 * stream skips validation, hashing and the lookup query. A cached id is safe
 * to use: a series whose cached seen_ms is older than the slack gets its row
 * updated by the append (which fails, and the append starts over uncached, if
 * retention deleted it), and retention never deletes a series seen within
 * twice the slack. Bounded by entries and by the label text they hold (a label
 * set may be ~150 KB, and an entry is made before the tenant's series limit
 * refuses a new series); when full, the tenant holding the most is emptied
 * (TenantBoundedCache), not every tenant.
 */
export class LabelCache {
  private readonly cache: TenantBoundedCache<CacheEntry>;
  /** Entries of frozen label objects by identity (the remote-write decoder hands out the same frozen object per label set). */
  private readonly frozen = new WeakMap<object, { tenant: string; entry: CacheEntry }>();
  /** `max`: entries; `maxBytes`: their label text (the key, and about as much again for the labels kept; bytes as V8 keeps it), 16 MiB by default. */
  constructor(max = 200_000, maxBytes = 16 * 1024 * 1024) {
    this.cache = new TenantBoundedCache(max, maxBytes, (raw, entry) => 2 * textBytes(raw) + entry.key.length);
  }

  canonical(tenant: string, labels: SeriesSamples['labels']): CacheEntry {
    const isFrozen = labels !== null && typeof labels === 'object' && Object.isFrozen(labels);
    if (isFrozen) {
      const same = this.frozen.get(labels);
      if (same && same.tenant === tenant) return same.entry;
    }
    const raw = cacheKey(tenant, labels);
    const mine = this.cache.forTenant(tenant);
    let entry = mine.entries.get(raw);
    if (!entry) {
      const pairs = canonicalLabels(tenant, labels);
      entry = { key: fingerprint(pairs).toString('hex'), labels: Object.fromEntries(pairs) };
      this.cache.add(mine, raw, entry);
    }
    if (isFrozen) this.frozen.set(labels, { tenant, entry });
    return entry;
  }
}

/**
 * An unambiguous key of (tenant, label set as given): names and values joined
 * with U+0000 and U+0001, which then must not occur in them — otherwise (a set
 * the store refuses anyway) JSON, which escapes everything. Cheaper than JSON
 * for the common case (the cache is looked up for every series of every append).
 */
function cacheKey(tenant: string, labels: SeriesSamples['labels']): string {
  let key = tenant;
  for (const name in labels) {
    if (!Object.hasOwn(labels, name)) continue;
    const value = labels[name];
    if (typeof value !== 'string' || /[\u0000\u0001]/.test(name) || /[\u0000\u0001]/.test(value)) return `${tenant}\u0002${JSON.stringify(labels)}`;
    key += `\u0001${name}\u0000${value}`;
  }
  return key;
}

interface Counts {
  stored: number;
  duplicates: number;
  conflicts: number;
  tooNew: number;
  limitedSeries: number;
  limitedSamples: number;
  seriesCreated: number;
  activeAtLimit: number;
}

function badSeries(message: string): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_METRICS_BAD_SERIES', message);
}

/** Validates and groups the input: per distinct label set, samples sorted by time with duplicates folded. */
function prepare(tenant: string, input: readonly SeriesSamples[], s: EmbeddedStoreSettings, cache: LabelCache, c: Counts): PreparedSeries[] {
  if (!Array.isArray(input)) throw badSeries('append needs an array of series');
  const maxT = s.now() + s.futureToleranceMs;
  const groups = new Map<string, PreparedSeries>();
  // One 32-bit view per underlying buffer (a decoder typically fills one buffer per request).
  const views = new Map<ArrayBufferLike, Uint32Array>();
  input.forEach((series, i) => {
    const { timestamps, values } = series ?? {};
    if (!(values instanceof Float64Array) || timestamps === undefined || timestamps === null || typeof timestamps.length !== 'number') throw badSeries(`series ${i}: values must be a Float64Array and timestamps an array`);
    if (timestamps.length !== values.length) throw badSeries(`series ${i}: ${timestamps.length} timestamps but ${values.length} values`);
    const entry = cache.canonical(tenant, series.labels);
    const key = entry.key;
    let g = groups.get(key);
    if (!g) {
      g = { key, labels: entry.labels, ts: [], lo: [], hi: [], entry };
      groups.set(key, g);
    }
    let w = views.get(values.buffer);
    if (!w) {
      w = new Uint32Array(values.buffer, 0, values.buffer.byteLength >>> 2);
      views.set(values.buffer, w);
    }
    const base = values.byteOffset >>> 2;
    for (let j = 0; j < timestamps.length; j++) {
      const t = timestamps[j] as number;
      if (!Number.isSafeInteger(t) || Math.abs(t) > TIMESTAMP_LIMIT) throw badSeries(`series ${i}: timestamp ${String(t)} is not an integer number of milliseconds within ±2^51`);
      if (t > maxT) {
        c.tooNew++;
        continue;
      }
      g.ts.push(t);
      g.lo.push(w[base + 2 * j] as number);
      g.hi.push(w[base + 2 * j + 1] as number);
    }
  });
  const out: PreparedSeries[] = [];
  for (const g of groups.values()) {
    if (g.ts.length === 0) continue;
    let sorted = true;
    for (let i = 1; i < g.ts.length && sorted; i++) sorted = (g.ts[i] as number) > (g.ts[i - 1] as number);
    if (!sorted) {
      const order = g.ts.map((_, i) => i).sort((a, b) => (g.ts[a] as number) - (g.ts[b] as number) || a - b);
      const ts: number[] = [];
      const lo: number[] = [];
      const hi: number[] = [];
      for (const i of order) {
        const k = ts.length - 1;
        if (k >= 0 && ts[k] === g.ts[i]) {
          if (lo[k] === g.lo[i] && hi[k] === g.hi[i]) c.duplicates++;
          else c.conflicts++;
          continue;
        }
        ts.push(g.ts[i] as number);
        lo.push(g.lo[i] as number);
        hi.push(g.hi[i] as number);
      }
      g.ts = ts;
      g.lo = lo;
      g.hi = hi;
    }
    out.push(g);
  }
  return out;
}

class VanishedSeries extends Error {}

/**
 * The append's transaction outlived half the compaction horizon before its insert finished: a
 * compaction started meanwhile may have moved samples newer than the `cut` it read the clock
 * for (which it did not compare with the chunks, nor hold the maintenance lock for), so a
 * different value for one of them would be inserted as new — and dropped by the next
 * compaction. Started over, on a fresh clock.
 */
class OutlivedHorizon extends Error {}

async function resolve(tx: TenantTx, series: PreparedSeries[]): Promise<Map<string, SeriesState>> {
  const res = await tx.query<{ series_id: number; f: string; first_t: number; last_t: number; seen_ms: number }>(
    `SELECT series_id, encode(fingerprint, 'hex') AS f, first_t, last_t, seen_ms FROM metric_series
      WHERE tenant_id = $1 AND fingerprint IN (SELECT decode(x, 'hex') FROM jsonb_array_elements_text($2::jsonb) AS x)`,
    [tx.tenantId, JSON.stringify(series.map((s) => s.key))]);
  return new Map(res.rows.map((r) => [r.f, { id: r.series_id, first: r.first_t, last: r.last_t, seen: r.seen_ms }]));
}

/**
 * The first of `candidates` (series not active now: new, or idle past the active window) that
 * fit under maxTenantSeries beside the tenant's active series; the rest are counted as limited
 * and lose their id. The caller holds the series lock.
 */
async function withinCap(tx: TenantTx, candidates: PreparedSeries[], s: EmbeddedStoreSettings, now: number, c: Counts): Promise<PreparedSeries[]> {
  const n = await activeSeriesAt(tx, s, now);
  const room = Math.max(0, s.maxTenantSeries - n);
  for (const refused of candidates.slice(room)) {
    c.limitedSeries++;
    c.limitedSamples += refused.ts.length;
    c.activeAtLimit = n;
    refused.id = undefined;
  }
  return candidates.slice(0, room);
}

/**
 * Creates admitted new series (exact bounds); returns the state of those another append created
 * first. Those are looked up again under the series lock, before the cap is applied: they were
 * missing when this append resolved its series, but are not new — the cap counts them already,
 * and refusing them would refuse samples of an existing series as over the limit.
 */
async function createSeries(tx: TenantTx, fresh: PreparedSeries[], s: EmbeddedStoreSettings, c: Counts): Promise<Map<string, SeriesState>> {
  const now = s.now();
  await lockTenant(tx, SERIES_LOCK_CLASS);
  // Created meanwhile by another append (which held the lock first): theirs now.
  const racedStates = await resolve(tx, fresh);
  for (const p of fresh) p.id = racedStates.get(p.key)?.id;
  const admitted = await withinCap(tx, fresh.filter((p) => p.id === undefined), s, now, c);
  if (admitted.length === 0) return racedStates;
  const rows = admitted.map((p) => ({ f: p.key, l: p.labels, lo: p.ts[0], hi: p.ts[p.ts.length - 1] }));
  const ins = await tx.query<{ series_id: number; f: string }>(
    `WITH ins AS (
       INSERT INTO metric_series (tenant_id, fingerprint, labels, first_t, last_t, seen_ms)
       SELECT $1, decode(x.f, 'hex'), x.l, x.lo, x.hi, $3 FROM jsonb_to_recordset($2::jsonb) AS x(f text, l jsonb, lo int8, hi int8)
       ON CONFLICT (tenant_id, fingerprint) DO NOTHING
       RETURNING series_id, fingerprint, labels),
     lv AS (
       INSERT INTO metric_label_values (tenant_id, name, value)
       SELECT DISTINCT $1::uuid, e.key, e.value FROM ins, jsonb_each_text(ins.labels) AS e
       ON CONFLICT DO NOTHING)
     SELECT series_id, encode(fingerprint, 'hex') AS f FROM ins`,
    [tx.tenantId, JSON.stringify(rows), now]);
  const ids = new Map(ins.rows.map((r) => [r.f, r.series_id]));
  c.seriesCreated += ids.size;
  for (const p of admitted) {
    const id = ids.get(p.key);
    // Series are created only under the lock held here: none can appear meanwhile; start over if one did.
    if (id === undefined) throw new VanishedSeries();
    p.id = id;
  }
  return racedStates;
}

/**
 * Series idle past the active window resume under the tenant's cap as new ones do (the cap counts
 * active series): without this, a tenant could create the cap's worth of series, let them idle an
 * hour, create as many again, and then revive them all. Decided under the series lock on the
 * database's seen_ms (a cached one may be stale); a refused series' samples are counted as limited.
 */
async function admitIdle(tx: TenantTx, idle: PreparedSeries[], known: Map<string, SeriesState>, s: EmbeddedStoreSettings, now: number, c: Counts): Promise<void> {
  await lockTenant(tx, SERIES_LOCK_CLASS);
  const current = await resolve(tx, idle);
  const idleCut = now - s.activeWindowMs - BOUNDS_SLACK_MS;
  const still: PreparedSeries[] = [];
  for (const p of idle) {
    const k = current.get(p.key);
    // Retention deleted it meanwhile: start over (it is recreated, under the cap).
    if (!k) throw new VanishedSeries();
    known.set(p.key, k);
    if (k.seen < idleCut) still.push(p);
  }
  if (still.length > 0) await withinCap(tx, still, s, now, c);
}

/** Moves the coarse bounds where due; returns the series whose row was updated. */
async function moveBounds(tx: TenantTx, series: PreparedSeries[], known: Map<string, SeriesState>, now: number): Promise<PreparedSeries[]> {
  const due = series.filter((p) => {
    const k = known.get(p.key);
    if (!k) return false;
    const lo = p.ts[0] as number;
    const hi = p.ts[p.ts.length - 1] as number;
    return lo < k.first || hi > k.last + BOUNDS_SLACK_MS || now > k.seen + BOUNDS_SLACK_MS;
  }).sort((a, b) => (a.id as number) - (b.id as number));
  if (due.length === 0) return due;
  const res = await tx.query(
    `UPDATE metric_series AS s SET first_t = least(s.first_t, u.lo), last_t = greatest(s.last_t, u.hi), seen_ms = greatest(s.seen_ms, $5)
       FROM unnest($2::int8[], $3::int8[], $4::int8[]) AS u(id, lo, hi)
      WHERE s.tenant_id = $1 AND s.series_id = u.id`,
    [tx.tenantId, intArray(due.map((p) => p.id as number)), intArray(due.map((p) => p.ts[0] as number)), intArray(due.map((p) => p.ts[p.ts.length - 1] as number)), now]);
  // Retention deleted a series between our lookup and now: start over (it is recreated).
  if (res.rowCount !== due.length) throw new VanishedSeries();
  return due;
}

/**
 * Drops samples that compaction already holds: identical → duplicate, different → conflict.
 * Only chunks whose [min_t, max_t] overlaps the batch's samples of that series in that
 * 2-hour window are read (a sender catching up after compaction sends samples newer
 * than every chunk: nothing is read or decoded).
 */
async function checkCompacted(tx: TenantTx, series: PreparedSeries[], cut: number, c: Counts): Promise<void> {
  const sids: number[] = [];
  const wins: number[] = [];
  const mins: number[] = [];
  const maxs: number[] = [];
  for (const p of series) {
    if ((p.ts[0] as number) >= cut) continue;
    let last = Number.NaN;
    for (const t of p.ts) {
      if (t >= cut) break;
      const w = windowStart(t);
      if (w !== last) {
        sids.push(p.id as number);
        wins.push(w);
        mins.push(t);
        maxs.push(t);
      } else maxs[maxs.length - 1] = t;
      last = w;
    }
  }
  if (sids.length === 0) return;
  const res = await tx.query<{ series_id: number; data: Uint8Array }>(
    `SELECT c.series_id, c.data FROM unnest($2::int8[], $3::int8[], $4::int8[], $5::int8[]) AS w(sid, lo, tmin, tmax)
       JOIN metric_chunks c ON c.series_id = w.sid AND c.min_t >= w.lo AND c.min_t < w.lo + 7200000 AND c.min_t <= w.tmax AND c.max_t >= w.tmin
      WHERE c.tenant_id = $1 ORDER BY c.series_id, c.min_t`,
    [tx.tenantId, intArray(sids), intArray(wins), intArray(mins), intArray(maxs)]);
  if (res.rows.length === 0) return;
  const bySeries = new Map<number, Uint8Array[]>();
  for (const r of res.rows) {
    const list = bySeries.get(r.series_id) ?? [];
    list.push(r.data);
    bySeries.set(r.series_id, list);
  }
  for (const p of series) {
    const chunks = bySeries.get(p.id as number);
    if (!chunks) continue;
    const old = decodeChunks(chunks);
    const keep: number[] = [];
    for (let i = 0; i < p.ts.length; i++) {
      const t = p.ts[i] as number;
      const j = lowerBound(old.ts, t);
      if (j < old.ts.length && old.ts[j] === t) {
        if (old.words[2 * j] === p.lo[i] && old.words[2 * j + 1] === p.hi[i]) c.duplicates++;
        else c.conflicts++;
      } else keep.push(i);
    }
    if (keep.length === p.ts.length) continue;
    p.ts = keep.map((i) => p.ts[i] as number);
    p.lo = keep.map((i) => p.lo[i] as number);
    p.hi = keep.map((i) => p.hi[i] as number);
  }
}

/**
 * Inserts the samples into the append table. `careful` false: a plain INSERT, which
 * fails with a unique violation (aborting the transaction) if any (series, t) is
 * already stored — the caller then starts over careful. `careful` true: ON CONFLICT
 * DO NOTHING, then counts duplicates and conflicts among the rows not inserted.
 * A steady stream never repeats a sample, and the plain INSERT costs PostgreSQL
 * about 40 % less than the speculative insertion ON CONFLICT needs (docs/federation.md).
 */
async function insertSamples(tx: TenantTx, series: PreparedSeries[], c: Counts, careful: boolean): Promise<void> {
  let n = 0;
  for (const p of series) n += p.ts.length;
  if (n === 0) return;
  // The three int8[] literals joined from preallocated arrays (flat strings; no copy of the arrays).
  const sids = new Array<number>(n);
  const ts = new Array<number>(n);
  const vs = new Array<string>(n);
  let k = 0;
  for (const p of series) {
    const id = p.id as number;
    for (let i = 0; i < p.ts.length; i++, k++) {
      sids[k] = id;
      ts[k] = p.ts[i] as number;
      vs[k] = int8Text(p.lo[i] as number, p.hi[i] as number);
    }
  }
  const params = [tx.tenantId, `{${sids.join(',')}}`, `{${ts.join(',')}}`, `{${vs.join(',')}}`];
  const ins = await tx.query(
    `INSERT INTO metric_samples (tenant_id, series_id, t, v)
     SELECT $1, u.sid, u.t, u.v FROM unnest($2::int8[], $3::int8[], $4::int8[]) AS u(sid, t, v)${careful ? '\n     ON CONFLICT (series_id, t) DO NOTHING' : ''}`, params);
  c.stored += ins.rowCount;
  if (ins.rowCount === n) return;
  const res = await tx.query<{ conflicts: number }>(
    `SELECT count(*)::int AS conflicts FROM unnest($2::int8[], $3::int8[], $4::int8[]) AS u(sid, t, v)
       JOIN metric_samples s ON s.series_id = u.sid AND s.t = u.t
      WHERE s.tenant_id = $1 AND s.v <> u.v`, params);
  const conflicts = res.rows[0]?.conflicts ?? 0;
  c.conflicts += conflicts;
  c.duplicates += n - ins.rowCount - conflicts;
}

function isRetryable(err: unknown): boolean {
  return err instanceof VanishedSeries || err instanceof OutlivedHorizon || isTransactionConflict(err);
}

/** `n sample(s)`. */
function samples(n: number): string {
  return `${n} sample${n === 1 ? '' : 's'}`;
}

function resultOf(c: Counts, s: EmbeddedStoreSettings): AppendResult {
  const errors: Error[] = [];
  if (c.limitedSeries > 0) errors.push(new ProbectlError('PROBECTL_ERR_METRICS_TENANT_SERIES_LIMIT', `${c.limitedSeries} new series (${samples(c.limitedSamples)}) refused: the tenant has ${c.activeAtLimit} active series and the limit (PROBECTL_METRICS_MAX_TENANT_SERIES) is ${s.maxTenantSeries}; samples of existing series were stored`));
  if (c.conflicts > 0) errors.push(new ProbectlError('PROBECTL_ERR_METRICS_SAMPLE_CONFLICT', `${samples(c.conflicts)} refused: a different value is already stored for their series and timestamp (the stored value is kept)`));
  if (c.tooNew > 0) errors.push(new ProbectlError('PROBECTL_ERR_METRICS_SAMPLE_TOO_NEW', `${samples(c.tooNew)} refused: more than ${Math.round(s.futureToleranceMs / 1000)}s in the future`));
  return {
    stored: c.stored,
    duplicates: c.duplicates,
    seriesCreated: c.seriesCreated,
    refused: { conflicts: c.conflicts, tooNew: c.tooNew, limitedSeries: c.limitedSeries, limitedSamples: c.limitedSamples },
    errors,
  };
}

/** See SeriesStore.append; invalid input throws PROBECTL_ERR_METRICS_BAD_SERIES and stores nothing. */
export async function appendSeries(db: Db, settings: EmbeddedStoreSettings, cache: LabelCache, tenant: string, input: readonly SeriesSamples[]): Promise<AppendResult> {
  const base: Counts = { stored: 0, duplicates: 0, conflicts: 0, tooNew: 0, limitedSeries: 0, limitedSamples: 0, seriesCreated: 0, activeAtLimit: 0 };
  const prepared = prepare(tenant, input, settings, cache, base);
  let careful = false;
  for (let attempt = 1; ; attempt++) {
    const c: Counts = { ...base };
    const series = prepared.map((p) => ({ ...p }));
    try {
      await inMetricsScope(db, tenant, async (tx) => {
        if (series.length === 0) return;
        const now = settings.now();
        const cut = now - settings.compactionHorizonMs / 2;
        // Samples compaction may move: the tenant's maintenance lock, shared, first (before the
        // series lock, as retention takes them). Without it a compaction claiming the stored
        // sample after checkCompacted read the chunks let a different value in as stored (its
        // delete committed, the unique check passed) — answered 2xx, dropped at the next compaction.
        if (series.some((p) => (p.ts[0] as number) < cut)) {
          await lockTenant(tx, MAINTENANCE_LOCK_CLASS, true);
        }
        const known = new Map<string, SeriesState>();
        const misses: PreparedSeries[] = [];
        for (const p of series) {
          const cached = attempt === 1 ? p.entry.series : undefined;
          if (cached) known.set(p.key, cached);
          else misses.push(p);
        }
        if (misses.length > 0) for (const [k, v] of await resolve(tx, misses)) known.set(k, v);
        for (const p of series) p.id = known.get(p.key)?.id;
        const fresh = series.filter((p) => p.id === undefined);
        const created = new Set(fresh.map((p) => p.key));
        if (fresh.length > 0) for (const [k, v] of await createSeries(tx, fresh, settings, c)) {
          known.set(k, v);
          created.delete(k);
        }
        const idleCut = now - settings.activeWindowMs - BOUNDS_SLACK_MS;
        const idle = series.filter((p) => p.id !== undefined && (known.get(p.key)?.seen ?? now) < idleCut);
        if (idle.length > 0) await admitIdle(tx, idle, known, settings, now, c);
        const admitted = series.filter((p) => p.id !== undefined);
        const moved = new Set(await moveBounds(tx, admitted, known, now));
        // The bounds as written (created, moved): of the batch's samples before checkCompacted drops
        // the compacted duplicates — a series may have none left, and NaN bounds in the cache never move again.
        const spans = admitted.map((p) => [p.ts[0] as number, p.ts[p.ts.length - 1] as number] as const);
        tx.afterCommit(() => {
          admitted.forEach((p, i) => {
            const k = known.get(p.key);
            const [lo, hi] = spans[i] as readonly [number, number];
            if (created.has(p.key)) p.entry.series = { id: p.id as number, first: lo, last: hi, seen: now };
            else if (k && moved.has(p)) p.entry.series = { id: k.id, first: Math.min(k.first, lo), last: Math.max(k.last, hi), seen: Math.max(k.seen, now) };
            else if (k) p.entry.series = k;
          });
        });
        await checkCompacted(tx, admitted, cut, c);
        await insertSamples(tx, admitted, c, careful);
        if (settings.now() - now >= settings.compactionHorizonMs / 2) throw new OutlivedHorizon();
      });
      return resultOf(c, settings);
    } catch (err) {
      // A sample already stored (a re-send): the same append again, careful about duplicates.
      if (!careful && isUniqueViolation(err, 'metric_samples_pkey')) {
        careful = true;
        attempt--;
        continue;
      }
      for (const p of prepared) delete p.entry.series;
      if (attempt >= 3 || !isRetryable(err)) throw err;
    }
  }
}
