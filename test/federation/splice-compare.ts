/**
 * Shared by the upstream splice tests (upstream-splice*.test.ts): protobuf wire pieces to write
 * requests by hand, and the forward's outcome — the uncompressed bytes sent, or the refusal — of
 * the splice and of the path it replaces (decode to columns, encode them), to compare.
 */
import { uncompressSync } from 'snappy';
import { decodeRemoteWriteSamples, type RemoteWriteLabelCache } from '../../src/federation/remote-write/columns.ts';
import type { DecodeOptions } from '../../src/federation/remote-write/decode.ts';
import { RemoteWriteError } from '../../src/federation/remote-write/errors.ts';
import { encodeTenantColumns } from '../../src/federation/upstream/encode.ts';
import { spliceRemoteWrite } from '../../src/federation/upstream/splice.ts';

/** The non-negative integer `n` (< 2^53) as a protobuf varint. */
export function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** A length-delimited field: its tag byte, the payload's length, the payload. */
export function field(tag: number, payload: number[]): number[] {
  return [tag, ...varint(payload.length), ...payload];
}

/** How a Sample is written: as Prometheus (gogoproto: a zero field left out), as encode.ts (both always), reversed, or its timestamp twice. */
export type SampleStyle = 'gogo' | 'full' | 'reversed' | 'twice';

export interface SeriesSpec {
  labels: Array<[string, string]>;
  /** [timestamp ms, low word, high word of the value's bits]. */
  samples: Array<[number, number, number]>;
  style: SampleStyle;
  /** An unknown field (number 9, varint) after the labels, or after the first sample (the samples are not one run then). */
  unknown?: 'afterLabels' | 'betweenSamples' | undefined;
}

function sampleBytes([t, lo, hi]: [number, number, number], style: SampleStyle): number[] {
  const v = Buffer.alloc(8);
  v.writeUInt32LE(lo >>> 0, 0);
  v.writeUInt32LE(hi >>> 0, 4);
  const value = [0x09, ...v];
  const time = [0x10, ...varint(t)];
  const zeroValue = lo === 0 && hi === 0;
  switch (style) {
    case 'gogo': return [...(zeroValue ? [] : value), ...(t === 0 ? [] : time)];
    case 'full': return [...value, ...time];
    case 'reversed': return [...time, ...value];
    case 'twice': return [...value, 0x10, ...varint(t + 1), ...time];
  }
}

/** A WriteRequest written by hand, byte by byte (protobufjs writes one way only). */
export function request(series: SeriesSpec[]): Buffer {
  const out: number[] = [];
  for (const s of series) {
    const body: number[] = [];
    for (const [name, value] of s.labels) {
      const n = [...Buffer.from(name)];
      const v = [...Buffer.from(value)];
      // As gogoproto: an empty string left out.
      body.push(...field(0x0a, [...(n.length > 0 ? field(0x0a, n) : []), ...(v.length > 0 ? field(0x12, v) : [])]));
    }
    if (s.unknown === 'afterLabels') body.push(0x48, 0x01);
    s.samples.forEach((p, i) => {
      body.push(...field(0x12, sampleBytes(p, s.style)));
      if (i === 0 && s.unknown === 'betweenSamples') body.push(0x48, 0x01);
    });
    out.push(...field(0x0a, body));
  }
  return Buffer.from(out);
}

/** A float64's bits as (low, high) uint32 words. */
export const bits = (v: number): [number, number] => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return [b.readUInt32LE(0), b.readUInt32LE(4)];
};
/** Prometheus's stale marker's bits. */
export const STALE: [number, number] = [0x00000002, 0x7ff00000];

/** What a forward gives: the WriteRequest sent (hex, uncompressed) and its counts, or the refusal. */
export type Outcome = { ok: true; wire: string; series: number; sampleCount: number } | { ok: false; kind: string; message: string; limit: string | undefined };

export function outcome(fn: () => { body: Buffer; series: number; sampleCount: number }): Outcome {
  try {
    const r = fn();
    return { ok: true, wire: (uncompressSync(r.body) as Buffer).toString('hex'), series: r.series, sampleCount: r.sampleCount };
  } catch (err) {
    if (!(err instanceof RemoteWriteError)) throw err;
    return { ok: false, kind: err.kind, message: err.message, limit: err.limit };
  }
}

/** The path the splice replaces (backend.ts before it): decode to columns, encode them. */
export function reference(body: Buffer, options: DecodeOptions, cache: RemoteWriteLabelCache): Outcome {
  return outcome(() => {
    const c = decodeRemoteWriteSamples(body, options, cache);
    return { body: encodeTenantColumns(options.tenant, c), series: c.labels.length, sampleCount: c.sampleCount };
  });
}

/** The splice's outcome for the same request. */
export function spliced(body: Buffer, options: DecodeOptions, cache: RemoteWriteLabelCache): Outcome {
  return outcome(() => spliceRemoteWrite(body, options, cache));
}
