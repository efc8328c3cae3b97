/**
 * Upstream mode's remote-write forward in one pass: a sender's snappy-compressed
 * `prometheus.WriteRequest` in, the snappy-compressed WriteRequest for the engine out — byte for
 * byte what decodeRemoteWriteSamples (remote-write/columns.ts) then encodeTenantColumns
 * (encode.ts) write, with their checks, their errors and their label cache.
 *
 * A steady sender re-sends the same label sets, byte for byte, with samples written as
 * Prometheus writes them. For such a request the outgoing body is spliced rather than
 * re-encoded: per series the `TimeSeries` framing, the label set's encoded run (tenant forced,
 * sorted: labelRun, kept on the label cache's entry) and the series' `Sample` fields copied as
 * they came — they are the bytes encodeTenantColumns would write (canonicalSample in
 * columns.ts); a series whose samples are written otherwise gets them written as
 * encodeTenantColumns writes them. No value or timestamp column is built for the output.
 *
 * The label cache is decodeRemoteWriteSamples's (keyed by the exact label bytes); its entries
 * here also hold those bytes, the encoded run, and the entry of the label set that followed
 * them last time (CachedLabels.next). A sender's batches keep their order, so a series is first
 * compared with that guess (one Buffer compare, ~60 ns for 100 bytes) before its bytes are made
 * a key string and hashed (~250 ns; both measured on the label sets of bench/federation.ts at 10,000 series).
 * Two series of one label set are told by a per-label-set mark stamped with the request
 * (markOf), instead of a set of label-set keys per request, while no entry is added.
 *
 * Anything else goes through decodeRemoteWriteSamples and encodeTenantColumns unchanged, from
 * the inflated body on, so answers and refusals are theirs: the shapes columns.ts's fast path
 * does not take (metadata, exemplars, histograms, a series without labels, samples not in
 * timestamp order, a label set protobufjs refuses…), a label set the validation refuses, a
 * sample out of the time bounds. Two series of one label set (a sender catching up sends one
 * series per sample) are merged as the decoder merges them (spliceMerged).
 */
import { compressSync } from 'snappy';
import { cachedLabels, decodeInflatedSamples, decodeLabels, forwardEntry, walk, type CachedLabels, type LabelSetMark, type RemoteWriteLabelCache, type TenantLabels } from '../remote-write/columns.ts';
import { inflateRequest, maxTimestampOf, minTimestampOf, type DecodeOptions } from '../remote-write/decode.ts';
import { RemoteWriteError } from '../remote-write/errors.ts';
import { encodeTenantColumns, labelRun, putSample, putVarint, sampleLength, varintLength } from './encode.ts';

/** A remote-write ready to forward. */
export interface ForwardWrite {
  /** The snappy-compressed WriteRequest for the engine (encodeTenantColumns's bytes). */
  readonly body: Buffer;
  /** Distinct label sets forwarded (series with samples, merged). */
  readonly series: number;
  /** Samples in the request as sent (before merging; series without samples included). */
  readonly sampleCount: number;
}

/** The last request number handed out (LabelSetMark.stamp). */
let stamps = 0;

/**
 * The mark of label set `key` in the tenant's current epoch: one object for every entry of this
 * label set added in this epoch, whatever bytes they were sent as (label order, a `tenant_id`
 * label, an empty value), so that two series of one label set in a request meet on it. Kept on
 * the tenant's entries (TenantEntries.attached), which drop them when emptied (a new epoch),
 * whether or not the tenant writes again: at most one per label set the entries hold or held in it.
 */
function markOf(known: TenantLabels, key: string): LabelSetMark {
  let marks = known.attached as Map<string, LabelSetMark> | undefined;
  if (marks === undefined) {
    marks = new Map();
    known.attached = marks;
  }
  let mark = marks.get(key);
  if (mark === undefined) {
    mark = { stamp: 0 };
    marks.set(key, mark);
  }
  return mark;
}

/**
 * Working arrays of spliceRemoteWrite, kept between calls (it is synchronous: nothing of them
 * outlives a call) and grown to the largest request: a request's own ~100 KB of typed arrays
 * (2,000 series) are off-heap memory V8 counts as external, which, with little else to collect
 * young, brought a mark-compact every ~200 ms on bench/federation-upstream.ts's 10,000 series
 * and more CPU on V8's worker threads than the splice saved.
 */
interface Scratch {
  /** Per sample: timestamp (ms), value words (two uint32). */
  ts: Float64Array;
  words: Uint32Array;
  /** Per series: walk's four int32, the sample span's three, the kept series' index and its TimeSeries's size (bytes). */
  walk: Int32Array;
  spans: Int32Array;
  kept: Int32Array;
  sizes: Int32Array;
}

let scratch: Scratch = { ts: new Float64Array(0), words: new Uint32Array(0), walk: new Int32Array(0), spans: new Int32Array(0), kept: new Int32Array(0), sizes: new Int32Array(0) };

function scratchFor(series: number, samples: number): Scratch {
  if (scratch.ts.length < samples) scratch = { ...scratch, ts: new Float64Array(samples), words: new Uint32Array(2 * samples) };
  if (scratch.kept.length < series) scratch = { ...scratch, walk: new Int32Array(4 * series), spans: new Int32Array(3 * series), kept: new Int32Array(series), sizes: new Int32Array(series) };
  return scratch;
}

/** The largest WriteRequest written into the kept output buffer (larger ones get their own). */
const SCRATCH_OUT_BYTES = 1024 * 1024;
let out = Buffer.alloc(0);

function outScratch(bytes: number): Buffer {
  if (out.length < bytes) out = Buffer.allocUnsafeSlow(Math.min(SCRATCH_OUT_BYTES, Math.max(bytes, 2 * out.length)));
  return out;
}

/** Below this many bytes a run is copied by a loop (a sample run is ~20 bytes): Buffer#set takes a subarray and a native call. */
const SHORT_COPY = 64;

function copy(from: Uint8Array, start: number, end: number, to: Buffer, pos: number): number {
  if (end - start < SHORT_COPY) {
    for (let i = start; i < end; i++) to[pos++] = from[i] as number;
    return pos;
  }
  to.set(from.subarray(start, end), pos);
  return pos + end - start;
}

/**
 * Decodes, validates and re-encodes a remote-write 1.0 body for `options.tenant`: the body
 * encodeTenantColumns(tenant, decodeRemoteWriteSamples(body, options, cache)) would give, or its
 * error (RemoteWriteError; TypeError for a programming error in `options`).
 */
export function spliceRemoteWrite(body: Uint8Array, options: DecodeOptions, cache: RemoteWriteLabelCache): ForwardWrite {
  const { raw, limits, counts } = inflateRequest(body, options);
  const tenant = options.tenant;
  const slow = (): ForwardWrite => {
    const c = decodeInflatedSamples(raw, limits, counts, options, cache);
    return { body: encodeTenantColumns(tenant, c), series: c.labels.length, sampleCount: c.sampleCount };
  };
  if (counts.metadata > 0 || counts.exemplars > 0 || counts.histograms > 0) return slow();
  const s = scratchFor(counts.series, counts.samples);
  const ts = s.ts;
  const words = s.words;
  const spans = s.spans;
  const walked = walk(raw, ts, words, counts.series, spans, s.walk);
  if (!walked) return slow();
  const at = walked.series;
  const known = cache.forTenant(tenant, limits);
  const epoch = known.epoch;
  const stamp = ++stamps;
  const maxTimestamp = maxTimestampOf(options);
  const minTimestamp = minTimestampOf(options);
  // Per series kept (with samples): its walk index, TimeSeries size and label cache entry.
  const kept = s.kept;
  const sizes = s.sizes;
  const entries = new Array<CachedLabels>(walked.count);
  let keptCount = 0;
  let added = false;
  let repeated = false;
  let prev: CachedLabels | undefined;
  let total = 0;
  for (let i = 0; i < walked.count; i++) {
    const start = at[4 * i] as number;
    const end = at[4 * i + 1] as number;
    const first = at[4 * i + 2] as number;
    const last = at[4 * i + 3] as number;
    if (start === -1) return slow();
    // The label set that followed the previous one last time, if its bytes are these (a
    // sender's batches keep their order): no key string to build and hash.
    const guess = prev?.next;
    let entry: CachedLabels;
    if (guess !== undefined && guess.epoch === known.epoch && (guess.bytes as Buffer).length === end - start && (guess.bytes as Buffer).compare(raw, start, end) === 0) entry = guess;
    else {
      const key = raw.toString('latin1', start, end);
      let hit = known.entries.get(key);
      if (hit === undefined || hit.bytes === undefined) {
        if (hit === undefined) {
          const labels = decodeLabels(raw, start, end);
          if (!labels) return slow();
          try {
            hit = cachedLabels(labels, i, tenant, limits);
          } catch (err) {
            // Refused: decodeRemoteWriteSamples refuses the request, with the error it finds first.
            if (err instanceof RemoteWriteError) return slow();
            throw err;
          }
        }
        // New, or made by the decoder (the slow path): added (again) with the forward's fields.
        // Held by the cache: copied into storage of its own (a slice of Buffer's shared pool, as
        // Buffer.from gives, would keep the whole 64 KiB slab alive for as long as the entry).
        const bytes = Buffer.allocUnsafeSlow(end - start);
        raw.copy(bytes, 0, start, end);
        hit = forwardEntry(hit, bytes, labelRun(hit.labels, tenant));
        cache.add(known, key, hit);
        added = true;
        // Not held (larger than the whole cache), it stays of no epoch: never guessed, never marked.
        if (known.entries.get(key) === hit) {
          hit.epoch = known.epoch;
          hit.mark = markOf(known, hit.key);
        }
      }
      entry = hit;
      if (prev !== undefined) prev.next = entry;
    }
    prev = entry;
    if (last === first) continue;
    // Samples are ascending (the walk): the first is the oldest, the last the newest.
    if (minTimestamp !== undefined && (ts[first] as number) < minTimestamp) return slow();
    if (maxTimestamp !== undefined && (ts[last - 1] as number) > maxTimestamp) return slow();
    // A label set twice (a sender catching up sends one series per sample): merged below.
    // Entries of one label set share their mark while no entry was added (compared by key otherwise).
    const mark = entry.mark;
    if (mark !== undefined) {
      if (mark.stamp === stamp) repeated = true;
      mark.stamp = stamp;
    }
    const run = entry.run as Uint8Array;
    let size = run.length;
    if (spans[3 * i + 2] === 1) size += (spans[3 * i + 1] as number) - (spans[3 * i] as number);
    else for (let j = first; j < last; j++) size += sampleLength(ts[j] as number);
    total += 1 + varintLength(size) + size;
    kept[keptCount] = i;
    sizes[keptCount] = size;
    entries[keptCount] = entry;
    keptCount++;
  }
  // With an entry added, an entry of no epoch, or of the one before an eviction, may share its
  // label set with another that has not its mark: the label sets are compared as the decoder does.
  if (repeated || added || known.epoch !== epoch) {
    const groups = new Map<string, number[]>();
    for (let k = 0; k < keptCount; k++) {
      const key = (entries[k] as CachedLabels).key;
      const parts = groups.get(key);
      if (parts === undefined) groups.set(key, [k]);
      else parts.push(k);
    }
    if (groups.size < keptCount) return { body: spliceMerged(raw, walked.series, spans, ts, words, kept, entries, [...groups.values()]), series: groups.size, sampleCount: counts.samples };
  }
  const buf = total <= SCRATCH_OUT_BYTES ? outScratch(total) : Buffer.allocUnsafe(total);
  let pos = 0;
  for (let k = 0; k < keptCount; k++) {
    const i = kept[k] as number;
    const run = (entries[k] as CachedLabels).run as Uint8Array;
    const first = at[4 * i + 2] as number;
    const last = at[4 * i + 3] as number;
    const spanStart = spans[3 * i] as number;
    const spanEnd = spans[3 * i + 1] as number;
    const canonical = spans[3 * i + 2] === 1;
    buf[pos++] = (1 << 3) | 2; // WriteRequest.timeseries = 1
    pos = putVarint(buf, pos, sizes[k] as number);
    if (run.length < SHORT_COPY) pos = copy(run, 0, run.length, buf, pos);
    else {
      buf.set(run, pos);
      pos += run.length;
    }
    if (canonical) pos = copy(raw, spanStart, spanEnd, buf, pos);
    else for (let j = first; j < last; j++) pos = putSample(buf, pos, words[2 * j] as number, words[2 * j + 1] as number, ts[j] as number);
  }
  // As encodeTenantColumns: copied into a V8-allocated Buffer (never the scratch).
  return { body: compressSync(buf.subarray(0, total), { copyOutputData: true }), series: keptCount, sampleCount: counts.samples };
}

/**
 * The WriteRequest of a request with label sets sent more than once, as encodeTenantColumns writes
 * what decodeRemoteWriteSamples merges (mergeSeries in columns.ts): one TimeSeries per label set,
 * in the order they first appear, its samples in wire order — stably sorted by timestamp when not
 * ascending. `groups`: per label set, its kept series (indices into `kept` and `entries`) in wire
 * order. Sample runs the walk found canonical are copied when the merged samples stay in wire order.
 */
function spliceMerged(raw: Buffer, at: Int32Array, spans: Int32Array, ts: Float64Array, words: Uint32Array, kept: Int32Array, entries: CachedLabels[], groups: number[][]): Buffer {
  // Per group: its samples' order when it must be sorted (indices into ts/words), and its TimeSeries size.
  const orders: Array<number[] | undefined> = new Array(groups.length);
  const sizes = new Array<number>(groups.length);
  let total = 0;
  groups.forEach((parts, g) => {
    let ascending = true;
    let previous = -Infinity;
    for (const k of parts) {
      const i = kept[k] as number;
      const first = at[4 * i + 2] as number;
      if ((ts[first] as number) < previous) ascending = false;
      previous = ts[(at[4 * i + 3] as number) - 1] as number;
    }
    let size = ((entries[parts[0] as number] as CachedLabels).run as Uint8Array).length;
    if (ascending) {
      for (const k of parts) {
        const i = kept[k] as number;
        if (spans[3 * i + 2] === 1) size += (spans[3 * i + 1] as number) - (spans[3 * i] as number);
        else for (let j = at[4 * i + 2] as number; j < (at[4 * i + 3] as number); j++) size += sampleLength(ts[j] as number);
      }
    } else {
      const order: number[] = [];
      for (const k of parts) {
        const i = kept[k] as number;
        for (let j = at[4 * i + 2] as number; j < (at[4 * i + 3] as number); j++) order.push(j);
      }
      // Array.prototype.sort is stable: equal timestamps keep wire order, as the decoder's sort.
      order.sort((a, b) => (ts[a] as number) - (ts[b] as number));
      for (const j of order) size += sampleLength(ts[j] as number);
      orders[g] = order;
    }
    sizes[g] = size;
    total += 1 + varintLength(size) + size;
  });
  const buf = total <= SCRATCH_OUT_BYTES ? outScratch(total) : Buffer.allocUnsafe(total);
  let pos = 0;
  groups.forEach((parts, g) => {
    const run = (entries[parts[0] as number] as CachedLabels).run as Uint8Array;
    buf[pos++] = (1 << 3) | 2; // WriteRequest.timeseries = 1
    pos = putVarint(buf, pos, sizes[g] as number);
    pos = copy(run, 0, run.length, buf, pos);
    const order = orders[g];
    if (order !== undefined) {
      for (const j of order) pos = putSample(buf, pos, words[2 * j] as number, words[2 * j + 1] as number, ts[j] as number);
      return;
    }
    for (const k of parts) {
      const i = kept[k] as number;
      if (spans[3 * i + 2] === 1) pos = copy(raw, spans[3 * i] as number, spans[3 * i + 1] as number, buf, pos);
      else for (let j = at[4 * i + 2] as number; j < (at[4 * i + 3] as number); j++) pos = putSample(buf, pos, words[2 * j] as number, words[2 * j + 1] as number, ts[j] as number);
    }
  });
  return compressSync(buf.subarray(0, total), { copyOutputData: true });
}
