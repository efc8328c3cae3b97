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
 * Anything else goes through decodeRemoteWriteSamples and encodeTenantColumns unchanged, from
 * the inflated body on, so answers and refusals are theirs: the shapes columns.ts's fast path
 * does not take (metadata, exemplars, histograms, a series without labels, samples not in
 * timestamp order, a label set protobufjs refuses…), a label set the validation refuses, a
 * sample out of the time bounds, and two series of one label set (the decoder merges them).
 */
import { compressSync } from 'snappy';
import { cachedLabels, decodeInflatedSamples, decodeLabels, walk, type CachedLabels, type RemoteWriteLabelCache } from '../remote-write/columns.ts';
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

/** Below this many bytes a run is copied by a loop: Buffer#set and #copy cost more per call than they save. */
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
  const ts = new Float64Array(counts.samples);
  const words = new Uint32Array(2 * counts.samples);
  const spans = new Int32Array(3 * counts.series);
  const walked = walk(raw, ts, words, counts.series, spans);
  if (!walked) return slow();
  const at = walked.series;
  const known = cache.forTenant(tenant, limits);
  const maxTimestamp = maxTimestampOf(options);
  const minTimestamp = minTimestampOf(options);
  // Per series kept (with samples): its walk index and label cache entry.
  const kept = new Int32Array(walked.count);
  const entries = new Array<CachedLabels>(walked.count);
  let keptCount = 0;
  let seen: Set<string> | undefined;
  let total = 0;
  for (let i = 0; i < walked.count; i++) {
    const start = at[4 * i] as number;
    const end = at[4 * i + 1] as number;
    const first = at[4 * i + 2] as number;
    const last = at[4 * i + 3] as number;
    if (start === -1) return slow();
    const bytes = raw.toString('latin1', start, end);
    let entry = known.entries.get(bytes);
    if (entry === undefined) {
      const labels = decodeLabels(raw, start, end);
      if (!labels) return slow();
      try {
        entry = cachedLabels(labels, i, tenant, limits);
      } catch (err) {
        // Refused: decodeRemoteWriteSamples refuses the request, with the error it finds first.
        if (err instanceof RemoteWriteError) return slow();
        throw err;
      }
      cache.add(known, bytes, entry);
    }
    if (last === first) continue;
    // Samples are ascending (the walk): the first is the oldest, the last the newest.
    if (minTimestamp !== undefined && (ts[first] as number) < minTimestamp) return slow();
    if (maxTimestamp !== undefined && (ts[last - 1] as number) > maxTimestamp) return slow();
    // Two series of one label set: the decoder merges them. A request of distinct byte runs
    // needs no set until a second series comes (most have thousands of series, all distinct).
    if (keptCount === 1) seen = new Set([(entries[0] as CachedLabels).key]);
    if (seen !== undefined) {
      if (seen.has(entry.key)) return slow();
      seen.add(entry.key);
    }
    let run = entry.run;
    if (run === undefined) {
      run = labelRun(entry.labels, tenant);
      entry.run = run;
    }
    let size = run.length;
    if (spans[3 * i + 2] === 1) size += (spans[3 * i + 1] as number) - (spans[3 * i] as number);
    else for (let j = first; j < last; j++) size += sampleLength(ts[j] as number);
    total += 1 + varintLength(size) + size;
    kept[keptCount] = i;
    entries[keptCount] = entry;
    keptCount++;
  }
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let k = 0; k < keptCount; k++) {
    const i = kept[k] as number;
    const run = (entries[k] as CachedLabels).run as Uint8Array;
    const first = at[4 * i + 2] as number;
    const last = at[4 * i + 3] as number;
    const spanStart = spans[3 * i] as number;
    const spanEnd = spans[3 * i + 1] as number;
    const canonical = spans[3 * i + 2] === 1;
    let size = run.length;
    if (canonical) size += spanEnd - spanStart;
    else for (let j = first; j < last; j++) size += sampleLength(ts[j] as number);
    buf[pos++] = (1 << 3) | 2; // WriteRequest.timeseries = 1
    pos = putVarint(buf, pos, size);
    pos = copy(run, 0, run.length, buf, pos);
    if (canonical) pos = copy(raw, spanStart, spanEnd, buf, pos);
    else for (let j = first; j < last; j++) pos = putSample(buf, pos, words[2 * j] as number, words[2 * j + 1] as number, ts[j] as number);
  }
  // As encodeTenantColumns: copied into a V8-allocated Buffer.
  return { body: compressSync(buf, { copyOutputData: true }), series: keptCount, sampleCount: counts.samples };
}
