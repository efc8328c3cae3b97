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
