/**
 * Remote-write 1.0 decoding straight into the store's input (SeriesSamples: label set, and
 * timestamps and values as columns), for the write route. Same checks, same answers as
 * decodeRemoteWrite (decode.ts), which it falls back to for anything but the common shape.
 *
 * A Prometheus sender re-sends the same label sets in every request, byte for byte: the
 * validated, tenant-forced label set of a series is cached under its exact label bytes (and
 * the tenant), so a steady stream decodes a series as one map lookup plus its samples, read
 * off the wire into one Float64Array per request — no object per label or sample.
 *
 * The fast path takes a WriteRequest whose series carry their labels as one run of `Label`
 * fields and samples encoded as Prometheus encodes them (`value` as a fixed64 double,
 * `timestamp` as a non-negative varint of at most 7 bytes, ≈ year 19800), in timestamp
 * order, no metadata, exemplars or histograms; two series of one label set (a sender catching
 * up sends one series per sample) are merged as decodeRemoteWrite merges them (mergeSeries).
 * Anything else — or any label set not cached whose `Label` bytes protobufjs refuses — is
 * decoded by decodeRemoteWrite from the start, so errors and results are exactly its own.
 * The body is walked completely before the first series is validated, as decodeRemoteWrite
 * parses it completely first: a malformed body is refused as malformed either way.
 */
import type { SeriesSamples } from '../store/types.ts';
import { TenantBoundedCache, textBytes, type TenantEntries } from '../tenant-cache.ts';
import { isStaleMarker, STALE_NAN_BITS } from '../stale.ts';
import { decodeInflated, labelSetKey, inflateRequest, maxTimestampOf, minTimestampOf, seriesLabels, tooFarAhead, tooOld, type DecodedWriteRequest, type DecodeOptions } from './decode.ts';
import type { RemoteWriteLimits } from './errors.ts';
import { LabelType, type WireLabel } from './schema.ts';
import { readVarint, varintAt } from './varint.ts';
import type { WireCounts } from './wire-scan.ts';

/** What the write route needs of a decoded request. */
export interface ColumnarWriteRequest {
  /** One entry per distinct label set, samples ascending; labels sorted, `tenant_id` forced. */
  readonly series: SeriesSamples[];
  /** Samples in the request (before merging; series without samples included). */
  readonly sampleCount: number;
  /** Series that carried a `tenant_id` label of their own (replaced by the caller's tenant). */
  readonly tenantOverridden: number;
}

export interface CachedLabels {
  /** Frozen: the store may memoise its canonical form by identity. */
  readonly labels: Readonly<Record<string, string>>;
  /** The label set as a string (names and values joined), to merge series with equal sets. */
  readonly key: string;
  readonly overridden: boolean;
  /**
   * Upstream mode's forward (upstream/splice.ts; undefined in embedded mode and in an entry the
   * decoder made): `bytes`, the label bytes as sent (the map's key, as bytes to compare with a
   * request's), and `run`, this label set's encoded `TimeSeries.labels` run for the entry's
   * tenant (upstream/encode.ts labelRun: sorted, `tenant_id` forced). Both count in the cache's
   * size, so they are set before the entry is added and never after.
   */
  readonly bytes: Buffer | undefined;
  readonly run: Uint8Array | undefined;
  /** The entry of the series that followed this one when it was last not guessed (splice.ts's guess for the series after this one). */
  next: CachedLabels | undefined;
  /**
   * The tenant entries' epoch (TenantEntries.epoch) under which splice.ts added this entry (0:
   * not held): an entry of the current epoch is the one the map holds for its bytes (a `next`
   * of another epoch may have been evicted).
   */
  epoch: number;
  /** splice.ts: shared by the entries of one label set (`key`) added in one epoch, to tell a request's repeated label sets by (LabelSetMark). */
  mark: LabelSetMark | undefined;
}

/** What the entries of one label set share (CachedLabels.mark): the last request that had it. */
export interface LabelSetMark {
  stamp: number;
}

/** The cache entry of a label set as sent (`labels`, decoded by protobufjs): validated (seriesLabels, which throws its RemoteWriteError), sorted, frozen. */
export function cachedLabels(labels: WireLabel[], index: number, tenant: string, limits: RemoteWriteLimits): CachedLabels {
  const { labels: sorted, overridden } = seriesLabels({ labels }, index, tenant, limits);
  return { labels: Object.freeze(labelRecord(sorted)), key: labelSetKey(sorted), overridden, bytes: undefined, run: undefined, next: undefined, epoch: 0, mark: undefined };
}

/** `entry` with upstream mode's forward fields (CachedLabels.bytes, .run), as a new entry to add in its place. */
export function forwardEntry(entry: CachedLabels, bytes: Buffer, run: Uint8Array): CachedLabels {
  return { labels: entry.labels, key: entry.key, overridden: entry.overridden, bytes, run, next: undefined, epoch: 0, mark: undefined };
}

/** One tenant's cached label sets (by their exact label bytes). */
export type TenantLabels = TenantEntries<CachedLabels>;

/**
 * Validated label sets by tenant and exact label bytes (the run of `Label` fields as sent, one
 * byte per char: the map's key, so a hit is an exact match), at most `max` entries and about
 * `maxBytes` of label text in all: a label set may be ~150 KB under the default limits (64
 * labels of 2 KiB values), so a count alone would let a sender fill gigabytes. When full, the
 * tenant holding the most label text is emptied (TenantBoundedCache): a tenant churning
 * through series costs the other tenants none of their entries. Entries depend on the label
 * limits: a call with other limits empties it.
 */
export class RemoteWriteLabelCache {
  private readonly cache: TenantBoundedCache<CachedLabels>;
  private limitsKey = '';
  /** `max`: entries; `maxBytes`: label text held (bytes: the byte key, the merge key and the label record, and upstream mode's bytes and run), 32 MiB by default. */
  constructor(max = 50_000, maxBytes = 32 * 1024 * 1024) {
    this.cache = new TenantBoundedCache(max, maxBytes, (bytes, entry) => bytes.length + 2 * textBytes(entry.key) + (entry.bytes?.length ?? 0) + (entry.run?.length ?? 0));
  }

  /** The tenant's label sets under `limits` (everything emptied when they differ from the last call's). */
  forTenant(tenant: string, limits: RemoteWriteLimits): TenantLabels {
    const key = `${limits.maxLabelsPerSeries},${limits.maxLabelNameBytes},${limits.maxLabelValueBytes}`;
    if (key !== this.limitsKey) {
      this.cache.clear();
      this.limitsKey = key;
    }
    return this.cache.forTenant(tenant);
  }

  add(t: TenantLabels, bytes: string, entry: CachedLabels): void {
    this.cache.add(t, bytes, entry);
  }
}

const STALE_HI = Number(STALE_NAN_BITS >> 32n);
const STALE_LO = Number(STALE_NAN_BITS & 0xffffffffn);

/** decodeRemoteWrite's result as store input: one value buffer for the request, stale markers bit for bit. */
export function toColumns(decoded: DecodedWriteRequest): ColumnarWriteRequest {
  return seriesOf(columnsOf(decoded));
}

/** Per series walked, four int32 in `Walk.series`: label bytes [start, end) (-1 without labels), samples [first, end) of the request's columns. */
export interface Walk {
  readonly series: Int32Array;
  readonly count: number;
}

/** Skips a field of `wireType` at `pos`: the next position, or -1 (the wire scan already refused malformed ones). */
function skip(buf: Uint8Array, pos: number, end: number, wireType: number): number {
  if (wireType === 0) return readVarint(buf, pos, end, 10) === -1 ? -1 : varintAt.end;
  if (wireType === 1) return pos + 8 <= end ? pos + 8 : -1;
  if (wireType === 5) return pos + 4 <= end ? pos + 4 : -1;
  if (wireType === 2) {
    const len = readVarint(buf, pos, end, 10);
    return len !== -1 && varintAt.end + len <= end ? varintAt.end + len : -1;
  }
  return -1;
}

/** The end of the length-delimited payload starting at `pos` (its length varint), within `end`, or -1; `varintAt.end` is its start. */
function delimited(buf: Uint8Array, pos: number, end: number): number {
  const len = readVarint(buf, pos, end, 5);
  return len !== -1 && varintAt.end + len <= end ? varintAt.end + len : -1;
}

/**
 * Whether the `Sample` at [p, end) of `raw` (its tag at p), read as `time`, is written exactly as
 * upstream/encode.ts writes it: tag, one-byte length, `value` (fixed64) then `timestamp` as the
 * shortest varint, nothing else. Then its bytes are the ones encodeTenantColumns would write.
 */
function canonicalSample(raw: Buffer, p: number, end: number, time: number): boolean {
  let len = 1;
  for (let n = time; n >= 128; n = Math.floor(n / 128)) len++;
  return end - p === 12 + len && raw[p + 1] === 10 + len && raw[p + 2] === 0x09 && raw[p + 11] === 0x10;
}

/**
 * The fast path's walk: series and samples of the common shape into `ts` and `words`, or
 * undefined for anything else. With `spans` (three int32 per series), it also records per
 * series the bytes [start, end) from its first `Sample` field to the end of its last, and 1 when
 * those are its samples only, each canonical (canonicalSample), else 0 (upstream/splice.ts
 * copies such a run as it came). What is accepted does not depend on `spans`. `scratch`, when
 * long enough (four int32 per series), is used for `Walk.series` instead of a new array.
 */
export function walk(raw: Buffer, ts: Float64Array, words: Uint32Array, seriesCount: number, spans?: Int32Array, scratch?: Int32Array): Walk | undefined {
  const out = scratch !== undefined && scratch.length >= 4 * seriesCount ? scratch : new Int32Array(4 * seriesCount);
  let count = 0;
  let n = 0;
  let pos = 0;
  const end = raw.length;
  while (pos < end) {
    const t = readVarint(raw, pos, end, 5);
    if (t === -1) return undefined;
    const field = Math.floor(t / 8);
    if (field !== 1) {
      if (field === 3) return undefined;
      const after = skip(raw, varintAt.end, end, t % 8);
      if (after === -1) return undefined;
      pos = after;
      continue;
    }
    if (t % 8 !== 2) return undefined;
    const seriesEnd = delimited(raw, varintAt.end, end);
    if (seriesEnd === -1) return undefined;
    if (count >= seriesCount) return undefined;
    let labelStart = -1;
    let labelEnd = -1;
    const first = n;
    let p = varintAt.end;
    let lastTs = -1;
    let spanStart = -1;
    let spanEnd = -1;
    let canonical = 1;
    while (p < seriesEnd) {
      const tag = raw[p] as number;
      if (tag === 0x0a) {
        // A Label: part of the one run of labels, or not the common shape.
        if (labelStart === -1) labelStart = p;
        else if (labelEnd !== p) return undefined;
        p = delimited(raw, p + 1, seriesEnd);
        if (p === -1) return undefined;
        labelEnd = p;
      } else if (tag === 0x12) {
        const sampleEnd = delimited(raw, p + 1, seriesEnd);
        if (sampleEnd === -1) return undefined;
        let q = varintAt.end;
        let lo = 0;
        let hi = 0;
        let time = 0;
        while (q < sampleEnd) {
          const st = raw[q] as number;
          if (st === 0x09 && q + 9 <= sampleEnd) {
            lo = raw.readUInt32LE(q + 1);
            hi = raw.readUInt32LE(q + 5);
            q += 9;
          } else if (st === 0x10) {
            time = readVarint(raw, q + 1, sampleEnd, 7);
            if (time === -1) return undefined;
            q = varintAt.end;
          } else return undefined;
        }
        if (time < lastTs) return undefined;
        lastTs = time;
        ts[n] = time;
        words[2 * n] = lo;
        words[2 * n + 1] = hi;
        n++;
        if (spans !== undefined) {
          if (spanStart === -1) spanStart = p;
          else if (p !== spanEnd) canonical = 0;
          if (canonical === 1 && !canonicalSample(raw, p, sampleEnd, time)) canonical = 0;
          spanEnd = sampleEnd;
        }
        p = sampleEnd;
      } else {
        const ft = readVarint(raw, p, seriesEnd, 5);
        if (ft === -1) return undefined;
        const f = Math.floor(ft / 8);
        if (f >= 1 && f <= 4) return undefined;
        p = skip(raw, varintAt.end, seriesEnd, ft % 8);
        if (p === -1) return undefined;
      }
    }
    out[4 * count] = labelStart;
    out[4 * count + 1] = labelEnd;
    out[4 * count + 2] = first;
    out[4 * count + 3] = n;
    if (spans !== undefined) {
      spans[3 * count] = spanStart;
      spans[3 * count + 1] = spanEnd;
      spans[3 * count + 2] = canonical;
    }
    count++;
    pos = seriesEnd;
  }
  return { series: out, count };
}

/** The Label messages of one run, decoded by protobufjs; undefined when it refuses one. */
export function decodeLabels(raw: Buffer, start: number, end: number): WireLabel[] | undefined {
  const labels: WireLabel[] = [];
  let p = start;
  try {
    while (p < end) {
      const after = delimited(raw, p + 1, end);
      labels.push(LabelType.decode(raw.subarray(varintAt.end, after)) as unknown as WireLabel);
      p = after;
    }
  } catch {
    return undefined;
  }
  return labels;
}

/**
 * A decoded request's samples as columns: series k (label set `labels[k]`, distinct, at least
 * one sample) owns samples [bounds[k], bounds[k + 1]) of `timestamps` and `values`, ascending.
 */
export interface SampleColumns {
  /** Sorted by name, `tenant_id` forced; frozen (and shared between requests) on the fast path. */
  readonly labels: ReadonlyArray<Readonly<Record<string, string>>>;
  readonly bounds: Int32Array;
  /** Milliseconds since the Unix epoch (integers). */
  readonly timestamps: Float64Array;
  /** float64, stale markers and every NaN payload bit for bit. */
  readonly values: Float64Array;
  /** Samples in the request (before merging; series without samples included). */
  readonly sampleCount: number;
  /** Series that carried a `tenant_id` label of their own (replaced by the caller's tenant). */
  readonly tenantOverridden: number;
}

/**
 * A label set as a record, every name an own property (in the order given): built by
 * Object.fromEntries, not by assignment, which takes a label named `__proto__` — a valid
 * Prometheus name — for the record's prototype and drops it, merging series that differ in it.
 */
function labelRecord(labels: ReadonlyArray<{ readonly name: string; readonly value: string }>): Record<string, string> {
  return Object.fromEntries(labels.map((l) => [l.name, l.value]));
}

/** decodeRemoteWrite's result as SampleColumns (the slow path): one value buffer, stale markers bit for bit. */
function columnsOf(decoded: DecodedWriteRequest): SampleColumns {
  let n = 0;
  for (const s of decoded.series) n += s.samples.length;
  const values = new Float64Array(n);
  const words = new Uint32Array(values.buffer);
  const timestamps = new Float64Array(n);
  const bounds = new Int32Array(decoded.series.length + 1);
  const labels: Array<Record<string, string>> = [];
  let pos = 0;
  for (const s of decoded.series) {
    labels.push(labelRecord(s.labels));
    for (const sample of s.samples) {
      timestamps[pos] = sample.timestampMs;
      if (isStaleMarker(sample.value)) {
        words[2 * pos] = STALE_LO;
        words[2 * pos + 1] = STALE_HI;
      } else values[pos] = sample.value;
      pos++;
    }
    bounds[labels.length] = pos;
  }
  return { labels, bounds, timestamps, values, sampleCount: decoded.sampleCount, tenantOverridden: decoded.tenantOverridden };
}

/** Sample columns as store input: one SeriesSamples per label set, views of the columns. */
function seriesOf(c: SampleColumns): ColumnarWriteRequest {
  const series: SeriesSamples[] = new Array(c.labels.length);
  for (let k = 0; k < c.labels.length; k++) {
    const first = c.bounds[k] as number;
    const end = c.bounds[k + 1] as number;
    series[k] = { labels: c.labels[k] as Readonly<Record<string, string>>, timestamps: c.timestamps.subarray(first, end), values: c.values.subarray(first, end) };
  }
  return { series, sampleCount: c.sampleCount, tenantOverridden: c.tenantOverridden };
}

/**
 * Decodes and validates a remote-write 1.0 body into sample columns, with decodeRemoteWrite's
 * checks and errors (RemoteWriteError; TypeError for a programming error in `options`).
 * `cache` keeps validated label sets between calls (one per process is enough: keyed by tenant).
 */
export function decodeRemoteWriteSamples(body: Uint8Array, options: DecodeOptions, cache: RemoteWriteLabelCache): SampleColumns {
  const { raw, limits, counts } = inflateRequest(body, options);
  return decodeInflatedSamples(raw, limits, counts, options, cache);
}

/** decodeRemoteWriteSamples of a body inflateRequest accepted (its result: the inflated body, limits and counts). */
export function decodeInflatedSamples(raw: Buffer, limits: RemoteWriteLimits, counts: WireCounts, options: DecodeOptions, cache: RemoteWriteLabelCache): SampleColumns {
  const slow = () => columnsOf(decodeInflated(raw, options, limits));
  if (counts.metadata > 0 || counts.exemplars > 0 || counts.histograms > 0) return slow();
  const values = new Float64Array(counts.samples);
  const ts = new Float64Array(counts.samples);
  const walked = walk(raw, ts, new Uint32Array(values.buffer), counts.series);
  if (!walked) return slow();
  const at = walked.series;
  const tenant = options.tenant;
  const known = cache.forTenant(tenant, limits);
  // Every label set the cache lacks is decoded before any is validated (decodeRemoteWrite parses all first).
  const keys = new Array<string>(walked.count);
  const found: Array<CachedLabels | WireLabel[]> = new Array(walked.count);
  // Label bytes the cache lacks, decoded once per request (a sender catching up after a restart sends them many times).
  const decoded = new Map<string, WireLabel[]>();
  for (let i = 0; i < walked.count; i++) {
    const start = at[4 * i] as number;
    const end = at[4 * i + 1] as number;
    if (start === -1) {
      found[i] = [];
      continue;
    }
    const bytes = raw.toString('latin1', start, end);
    keys[i] = bytes;
    const hit = known.entries.get(bytes) ?? decoded.get(bytes);
    if (hit !== undefined) found[i] = hit;
    else {
      const labels = decodeLabels(raw, start, end);
      if (!labels) return slow();
      found[i] = labels;
      decoded.set(bytes, labels);
    }
  }
  // Their validated entries, made once per request: validated in wire order, so the first of equal bytes is the one refused.
  const made = new Map<WireLabel[], CachedLabels>();
  const maxTimestamp = maxTimestampOf(options);
  const minTimestamp = minTimestampOf(options);
  const labels: Array<Readonly<Record<string, string>>> = [];
  const bounds = new Int32Array(walked.count + 1);
  // Label set key → its index in `labels`; per series kept (with samples), that index and its samples.
  const groupOf = new Map<string, number>();
  const kept = new Int32Array(3 * walked.count);
  let keptCount = 0;
  let repeated = false;
  let tenantOverridden = 0;
  for (let i = 0; i < walked.count; i++) {
    const first = at[4 * i + 2] as number;
    const end = at[4 * i + 3] as number;
    let entry = found[i] as CachedLabels | WireLabel[];
    if (Array.isArray(entry)) {
      const wire = entry;
      entry = made.get(wire) ?? cachedLabels(wire, i, tenant, limits);
      if (!made.has(wire)) {
        made.set(wire, entry);
        if (keys[i] !== undefined) cache.add(known, keys[i] as string, entry);
      }
    }
    if (entry.overridden) tenantOverridden++;
    // The walk keeps a series' samples ascending: its first sample is its oldest (and the first
    // refused in wire order, as decodeRemoteWrite refuses it).
    if (minTimestamp !== undefined && end > first && (ts[first] as number) < minTimestamp) throw tooOld(i, ts[first] as number, minTimestamp, options);
    if (maxTimestamp !== undefined) {
      for (let j = first; j < end; j++) if ((ts[j] as number) > maxTimestamp) throw tooFarAhead(i, ts[j] as number, maxTimestamp, options);
    }
    // A series without samples holds no column entries: the next series' samples follow the last one kept.
    if (end === first) continue;
    let g = groupOf.get(entry.key);
    if (g === undefined) {
      g = labels.length;
      groupOf.set(entry.key, g);
      labels.push(entry.labels);
    } else repeated = true;
    bounds[labels.length] = end;
    kept[3 * keptCount] = g;
    kept[3 * keptCount + 1] = first;
    kept[3 * keptCount + 2] = end;
    keptCount++;
  }
  if (repeated) {
    // A label set sent more than once (a sender catching up sends one series per sample): merged.
    const merged = mergeSeries(ts, new Uint32Array(values.buffer), kept.subarray(0, 3 * keptCount), labels.length);
    return { labels, bounds: merged.bounds, timestamps: merged.timestamps, values: merged.values, sampleCount: counts.samples, tenantOverridden };
  }
  return { labels, bounds: bounds.subarray(0, labels.length + 1), timestamps: ts, values, sampleCount: counts.samples, tenantOverridden };
}

/**
 * Series of one label set merged as decodeRemoteWrite merges them: label sets in the order they
 * first appear, each one's samples in wire order, then stably sorted by timestamp when they are
 * not ascending. `kept`: per series with samples, three int32 — its label set's index (below
 * `groups`), and its samples [first, end) in `ts` and `words` (two uint32 per value). Returns new
 * columns: label set g owns samples [bounds[g], bounds[g + 1]).
 */
export function mergeSeries(ts: Float64Array, words: Uint32Array, kept: Int32Array, groups: number): { timestamps: Float64Array; values: Float64Array; bounds: Int32Array } {
  const bounds = new Int32Array(groups + 1);
  for (let k = 0; k < kept.length; k += 3) {
    const g = (kept[k] as number) + 1;
    bounds[g] = (bounds[g] as number) + (kept[k + 2] as number) - (kept[k + 1] as number);
  }
  for (let g = 0; g < groups; g++) bounds[g + 1] = (bounds[g + 1] as number) + (bounds[g] as number);
  const total = bounds[groups] as number;
  const timestamps = new Float64Array(total);
  const values = new Float64Array(total);
  const out = new Uint32Array(values.buffer);
  const fill = bounds.slice(0, groups);
  for (let k = 0; k < kept.length; k += 3) {
    const g = kept[k] as number;
    const first = kept[k + 1] as number;
    const end = kept[k + 2] as number;
    const at = fill[g] as number;
    timestamps.set(ts.subarray(first, end), at);
    out.set(words.subarray(2 * first, 2 * end), 2 * at);
    fill[g] = at + end - first;
  }
  for (let g = 0; g < groups; g++) sortStably(timestamps, out, bounds[g] as number, bounds[g + 1] as number);
  return { timestamps, values, bounds };
}

/** Samples [from, to) of `ts` and `words` stably sorted by timestamp (ties keep their order), if not ascending already. */
function sortStably(ts: Float64Array, words: Uint32Array, from: number, to: number): void {
  let ascending = true;
  for (let j = from + 1; j < to && ascending; j++) ascending = (ts[j] as number) >= (ts[j - 1] as number);
  if (ascending) return;
  const n = to - from;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = from + i;
  order.sort((a, b) => (ts[a] as number) - (ts[b] as number) || a - b);
  const t = new Float64Array(n);
  const w = new Uint32Array(2 * n);
  for (let k = 0; k < n; k++) {
    const i = order[k] as number;
    t[k] = ts[i] as number;
    w[2 * k] = words[2 * i] as number;
    w[2 * k + 1] = words[2 * i + 1] as number;
  }
  ts.set(t, from);
  words.set(w, 2 * from);
}

/**
 * Decodes and validates a remote-write 1.0 body into store input (one SeriesSamples per
 * distinct label set), with decodeRemoteWrite's checks and errors; see decodeRemoteWriteSamples.
 */
export function decodeRemoteWriteColumns(body: Uint8Array, options: DecodeOptions, cache: RemoteWriteLabelCache): ColumnarWriteRequest {
  return seriesOf(decodeRemoteWriteSamples(body, options, cache));
}
