/**
 * Remote-write 1.0 encoding for the upstream (https://prometheus.io/docs/specs/remote_write_spec/):
 * series → protobuf `prometheus.WriteRequest` (`prompb/remote.proto`, `prompb/types.proto`,
 * label runs written with protobufjs, the framing and samples into one sized buffer) → snappy
 * block format. Pure: no I/O.
 *
 * Every series gets `tenant_id="<tenant>"` (any other `tenant_id` it carried is replaced),
 * labels are written sorted by name as the spec requires, and values are written as their
 * 64 bits: the stale marker NaN (0x7ff0000000000002) and every other NaN payload reach the
 * engine bit for bit (a JavaScript number may quiet a NaN on the way).
 */
import protobuf from 'protobufjs';
import { compressSync } from 'snappy';
import { compareUtf8 } from '../store/labels.ts';
import type { SampleColumns } from '../remote-write/columns.ts';
import type { SeriesSamples } from '../store/types.ts';
import { TENANT_LABEL } from '../enforce/types.ts';

/** The headers of a remote-write 1.0 request (the spec's "MUST" headers). */
export const REMOTE_WRITE_REQUEST_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
});

/** The series with the tenant forced, labels sorted (name → value, empty values dropped). */
function labelsOf(labels: Readonly<Record<string, string>>, tenant: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(labels)) {
    if (name !== TENANT_LABEL && value !== '') out.push([name, value]);
  }
  out.push([TENANT_LABEL, tenant]);
  return out.sort((a, b) => compareUtf8(a[0], b[0]));
}

/** Bytes of a varint holding the non-negative integer `n` (< 2^53). */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Bytes of an int64 varint: a negative value takes ten. */
function int64Length(n: number): number {
  return n < 0 ? 10 : varintLength(n);
}

/** Writes the non-negative integer `n` (< 2^53) as a varint at `pos`; returns the position after it. */
export function putVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Writes an int64 varint (a negative value as its 64-bit two's complement, ten bytes). */
function putInt64(buf: Buffer, pos: number, n: number): number {
  if (n >= 0) return putVarint(buf, pos, n);
  let v = BigInt.asUintN(64, BigInt(n));
  while (v >= 128n) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  return pos;
}

/**
 * The `TimeSeries.labels` run (repeated Label, field 1) of a label set with the tenant forced,
 * written by protobufjs. Kept for frozen label sets (the remote-write decoder's cached ones,
 * reused by every request of a steady sender), so a series costs one copy of these bytes.
 */
const LABEL_RUNS = new WeakMap<object, { tenant: string; run: Uint8Array }>();

export function labelRun(labels: Readonly<Record<string, string>>, tenant: string): Uint8Array {
  const hit = LABEL_RUNS.get(labels);
  if (hit !== undefined && hit.tenant === tenant) return hit.run;
  const w = protobuf.Writer.create();
  for (const [name, value] of labelsOf(labels, tenant)) {
    // TimeSeries.labels = 1: Label.name = 1, Label.value = 2.
    w.uint32((1 << 3) | 2).fork().uint32((1 << 3) | 2).string(name).uint32((2 << 3) | 2).string(value).ldelim();
  }
  const run = w.finish();
  if (!Object.isFrozen(labels)) return run;
  // Kept as long as the label set (a label cache entry): copied into storage of its own, not
  // left a slice of Buffer's shared pool (protobufjs writes with Buffer.allocUnsafe), which
  // would keep a whole 64 KiB slab alive per run the cache still holds.
  const own = new Uint8Array(run);
  LABEL_RUNS.set(labels, { tenant, run: own });
  return own;
}

/** Bytes of a `TimeSeries.samples` field (tag and length included) of the sample at `timestampMs` (an integer). */
export function sampleLength(timestampMs: number): number {
  return 2 + 10 + int64Length(timestampMs);
}

/**
 * Writes a `TimeSeries.samples` field at `pos` (sampleLength bytes): `Sample.value` = 1 as the
 * fixed64 of the value's 32-bit words `lo`, `hi` (little-endian halves of its bits), then
 * `Sample.timestamp` = 2 as int64. Returns the position after it.
 */
export function putSample(buf: Buffer, pos: number, lo: number, hi: number, timestampMs: number): number {
  buf[pos++] = (2 << 3) | 2; // TimeSeries.samples = 2
  buf[pos++] = 10 + int64Length(timestampMs);
  buf[pos++] = (1 << 3) | 1;
  buf.writeUInt32LE(lo, pos);
  buf.writeUInt32LE(hi, pos + 4);
  pos += 8;
  buf[pos++] = (2 << 3) | 0;
  return putInt64(buf, pos, timestampMs);
}

/**
 * A snappy-compressed WriteRequest of `series` for `tenant`: the series copied into sample
 * columns, then encodeTenantColumns (used for probectl's own series and the startup check).
 */
export function encodeTenantWriteRequest(tenant: string, series: readonly SeriesSamples[]): Buffer {
  let n = 0;
  for (const s of series) n += s.values.length;
  const timestamps = new Float64Array(n);
  const values = new Float64Array(n);
  const bounds = new Int32Array(series.length + 1);
  for (let k = 0; k < series.length; k++) {
    const s = series[k] as SeriesSamples;
    const first = bounds[k] as number;
    for (let i = 0; i < s.values.length; i++) timestamps[first + i] = s.timestamps[i] as number;
    // Copied as bytes: a NaN's payload (the stale marker) survives.
    new Uint8Array(values.buffer, first * 8, s.values.length * 8).set(new Uint8Array(s.values.buffer, s.values.byteOffset, s.values.length * 8));
    bounds[k + 1] = first + s.values.length;
  }
  return encodeTenantColumns(tenant, { labels: series.map((s) => s.labels), bounds, timestamps, values });
}

/**
 * A snappy-compressed WriteRequest of sample columns for `tenant` (the remote-write forward:
 * decodeRemoteWriteSamples's result, series k = samples [bounds[k], bounds[k + 1])). Values are
 * written by their bits; timestamps are integer ms. The request is sized first and written
 * into one buffer: each series' label run (protobufjs, kept per frozen label set), then its
 * samples (`Sample.value` = 1 as fixed64 bits, `Sample.timestamp` = 2 as int64).
 */
export function encodeTenantColumns(tenant: string, c: Pick<SampleColumns, 'labels' | 'bounds' | 'timestamps' | 'values'>): Buffer {
  const count = c.labels.length;
  const ts = c.timestamps;
  const bounds = c.bounds;
  const runs = new Array<Uint8Array>(count);
  const sizes = new Array<number>(count);
  let total = 0;
  for (let k = 0; k < count; k++) {
    const run = labelRun(c.labels[k] as Readonly<Record<string, string>>, tenant);
    let size = run.length;
    const end = bounds[k + 1] as number;
    for (let i = bounds[k] as number; i < end; i++) {
      const t = ts[i] as number;
      // An int64 timestamp: anything else (±Infinity, NaN, a fraction) would not end putVarint.
      if (!Number.isSafeInteger(t)) throw new TypeError(`encodeTenantColumns: timestamp ${t} is not an integer of ms`);
      size += sampleLength(t);
    }
    runs[k] = run;
    sizes[k] = size;
    total += 1 + varintLength(size) + size;
  }
  const buf = Buffer.allocUnsafe(total);
  const raw = new Uint32Array(c.values.buffer, c.values.byteOffset, c.values.length * 2);
  let pos = 0;
  for (let k = 0; k < count; k++) {
    const run = runs[k] as Uint8Array;
    buf[pos++] = (1 << 3) | 2; // WriteRequest.timeseries = 1
    pos = putVarint(buf, pos, sizes[k] as number);
    buf.set(run, pos);
    pos += run.length;
    const end = bounds[k + 1] as number;
    for (let i = bounds[k] as number; i < end; i++) pos = putSample(buf, pos, raw[2 * i] as number, raw[2 * i + 1] as number, ts[i] as number);
  }
  // Copied into a V8-allocated Buffer: snappy's external buffers cost ~0.6 ms more at 250 KiB
  // (COPY_OUTPUT_FROM_BYTES in remote-write/decode.ts) and the same below it.
  return compressSync(buf, { copyOutputData: true });
}
