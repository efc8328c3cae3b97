/**
 * Sample buffers and how they become rows: chunks cut on 2-hour windows
 * aligned on the epoch (like Prometheus blocks) and kept under ~1.8 kB so a
 * chunk row stays inline (below PostgreSQL's TOAST threshold); sample records
 * of the append table; SQL array literals for bulk statements.
 */
import { int8Text, readSampleRecords, wordsOf } from './float-bits.ts';
import { decodeXorChunk, MAX_CHUNK_SAMPLES, XorChunkEncoder, xorChunkCount } from './xor-chunk.ts';

export const CHUNK_WINDOW_MS = 7_200_000;
const CHUNK_TARGET_BYTES = 1_800;

export function windowStart(t: number): number {
  return Math.floor(t / CHUNK_WINDOW_MS) * CHUNK_WINDOW_MS;
}

/** Samples of one series in time order; `words` views `values` (lo, hi per value). */
export interface SampleBuf {
  readonly ts: Float64Array;
  readonly values: Float64Array;
  readonly words: Uint32Array;
}

export function sampleBuf(n: number): SampleBuf {
  const values = new Float64Array(n);
  return { ts: new Float64Array(n), values, words: wordsOf(values) };
}

/** Concatenates chunks (given in time order) into one buffer. */
export function decodeChunks(chunks: readonly Uint8Array[]): SampleBuf {
  let n = 0;
  for (const c of chunks) n += xorChunkCount(c);
  const buf = sampleBuf(n);
  let off = 0;
  for (const c of chunks) off += decodeXorChunk(c, buf.ts, buf.words, off);
  return buf;
}

/** Append-table records (int8send(t) || int8send(v), ascending) into a buffer. */
export function decodeRecords(data: Uint8Array): SampleBuf {
  const buf = sampleBuf(data.length >>> 4);
  readSampleRecords(data, buf.ts, buf.words, 0);
  return buf;
}

/**
 * Merges two time-ordered buffers; on equal timestamps the sample of `first`
 * is kept, and `onClash(equalBits)` is told whether the two values had the same bits.
 */
export function mergeBufs(first: SampleBuf, second: SampleBuf, onClash?: (sameBits: boolean) => void): SampleBuf {
  if (second.ts.length === 0) return first;
  if (first.ts.length === 0) return second;
  const out = sampleBuf(first.ts.length + second.ts.length);
  let i = 0;
  let j = 0;
  let k = 0;
  const copy = (src: SampleBuf, at: number) => {
    out.ts[k] = src.ts[at] as number;
    out.words[2 * k] = src.words[2 * at] as number;
    out.words[2 * k + 1] = src.words[2 * at + 1] as number;
    k++;
  };
  while (i < first.ts.length || j < second.ts.length) {
    if (j >= second.ts.length || (i < first.ts.length && (first.ts[i] as number) < (second.ts[j] as number))) copy(first, i++);
    else if (i >= first.ts.length || (second.ts[j] as number) < (first.ts[i] as number)) copy(second, j++);
    else {
      onClash?.(first.words[2 * i] === second.words[2 * j] && first.words[2 * i + 1] === second.words[2 * j + 1]);
      copy(first, i++);
      j++;
    }
  }
  return k === out.ts.length ? out : sliceBuf(out, 0, k);
}

export function sliceBuf(b: SampleBuf, from: number, to: number): SampleBuf {
  const values = b.values.slice(from, to);
  return { ts: b.ts.slice(from, to), values, words: wordsOf(values) };
}

/** Index of the first sample with t ≥ `t` (binary search). */
export function lowerBound(ts: Float64Array, t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ts[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface EncodedChunk {
  readonly seriesId: number;
  readonly minT: number;
  readonly maxT: number;
  readonly data: Uint8Array;
  /** The value bits of the sample at maxT (low, high words). */
  readonly lastLo: number;
  readonly lastHi: number;
}

/** Encodes a time-ordered buffer of one series into chunks that never cross a window. */
export function encodeChunks(seriesId: number, b: SampleBuf): EncodedChunk[] {
  const out: EncodedChunk[] = [];
  let enc: XorChunkEncoder | undefined;
  let minT = 0;
  let maxT = 0;
  let win = 0;
  let lastLo = 0;
  let lastHi = 0;
  const flush = () => {
    if (enc && enc.count > 0) out.push({ seriesId, minT, maxT, data: enc.bytes(), lastLo, lastHi });
    enc = undefined;
  };
  for (let i = 0; i < b.ts.length; i++) {
    const t = b.ts[i] as number;
    if (enc && (windowStart(t) !== win || enc.byteLength >= CHUNK_TARGET_BYTES || enc.count >= MAX_CHUNK_SAMPLES)) flush();
    if (!enc) {
      enc = new XorChunkEncoder();
      minT = t;
      win = windowStart(t);
    }
    lastLo = b.words[2 * i] as number;
    lastHi = b.words[2 * i + 1] as number;
    enc.append(t, lastLo, lastHi);
    maxT = t;
  }
  flush();
  return out;
}

/** A PostgreSQL array literal of integers (or decimal strings), for `$n::int8[]`. */
export function intArray(values: ArrayLike<number | string> | Iterable<number | string>): string {
  return `{${Array.from(values as Iterable<number | string>).join(',')}}`;
}

/** Parameters of INSERT … SELECT FROM unnest(…) for chunks: one blob, offsets and lengths. */
export function chunkRows(chunks: readonly EncodedChunk[]): { ids: string; mins: string; maxs: string; offs: string; lens: string; blob: Buffer; lasts: string } {
  const blob = Buffer.concat(chunks.map((c) => c.data));
  let off = 0;
  const offs: number[] = [];
  for (const c of chunks) {
    offs.push(off);
    off += c.data.length;
  }
  return {
    ids: intArray(chunks.map((c) => c.seriesId)),
    mins: intArray(chunks.map((c) => c.minT)),
    maxs: intArray(chunks.map((c) => c.maxT)),
    offs: intArray(offs),
    lens: intArray(chunks.map((c) => c.data.length)),
    blob,
    lasts: intArray(chunks.map((c) => int8Text(c.lastLo, c.lastHi))),
  };
}

export const INSERT_CHUNKS_SQL = `INSERT INTO metric_chunks (tenant_id, series_id, min_t, max_t, data, last_v)
  SELECT $1, u.sid, u.mn, u.mx, substring($7::bytea FROM u.off + 1 FOR u.len), u.lv
    FROM unnest($2::int8[], $3::int8[], $4::int8[], $5::int4[], $6::int4[], $8::int8[]) AS u(sid, mn, mx, off, len, lv)`;
