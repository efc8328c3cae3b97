/**
 * A pass over a remote-write 1.0 `WriteRequest` in protobuf wire format
 * (https://protobuf.dev/programming-guides/encoding/) that counts what decoding would build —
 * series, samples, labels per series, exemplars, histograms, metadata — without building
 * anything. The decoder runs it before protobufjs, so a small body cannot make the server
 * allocate millions of objects before a count limit is checked: 32 MiB of two-byte empty
 * `TimeSeries` or `Label` messages are 16 million objects, over a gigabyte of heap.
 *
 * Field numbers follow `prompb/remote.proto` and `prompb/types.proto` (schema.ts). The walk is
 * linear in the body, iterative (two levels: WriteRequest, TimeSeries) and bounded by it.
 * Refused as malformed, like protobufjs or Go's proto refuse them: a truncated varint or field,
 * an invalid wire type, a length running past its message, and a known message field (series,
 * labels, samples, exemplars, histograms, metadata) sent with a wire type other than
 * length-delimited; groups (wire types 3 and 4, deprecated, never sent by Prometheus) too.
 */
import { RemoteWriteError } from './errors.ts';

/** What the WriteRequest holds, counted on the wire. */
export interface WireCounts {
  readonly series: number;
  readonly samples: number;
  readonly exemplars: number;
  readonly histograms: number;
  readonly metadata: number;
  /** The first series (its index) carrying more labels than the scan's label bound, if any. */
  readonly overLabels?: { readonly index: number; readonly labels: number };
}

const LEN = 2;

function malformed(detail: string): RemoteWriteError {
  return new RemoteWriteError('malformed', `body is not a protobuf prometheus.WriteRequest (${detail})`);
}

class Cursor {
  readonly buf: Uint8Array;
  pos: number;
  readonly end: number;

  constructor(buf: Uint8Array, pos: number, end: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** A varint as a number (exact up to 2^53; larger values only ever mean "too long"). */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw malformed('truncated varint');
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw malformed('varint longer than 10 bytes');
  }

  /** Skips a field's payload of `wireType`; returns [start, end) of a length-delimited one. */
  skip(wireType: number): [number, number] {
    switch (wireType) {
      case 0:
        this.varint();
        return [this.pos, this.pos];
      case 1:
        return this.advance(8);
      case 5:
        return this.advance(4);
      case LEN:
        return this.advance(this.varint());
      default:
        throw malformed(`invalid wire type ${wireType}`);
    }
  }

  private advance(n: number): [number, number] {
    const start = this.pos;
    if (n > this.end - start) throw malformed('a field runs past the end of its message');
    this.pos = start + n;
    return [start, this.pos];
  }
}

/** Reads a tag: [field number, wire type]. */
function tag(c: Cursor): [number, number] {
  const t = c.varint();
  return [Math.floor(t / 8), t % 8];
}

/**
 * Counts the WriteRequest in `raw` (the inflated body). `labelBound`: a series with more
 * labels than this is reported in `overLabels` (the first one only). Throws only a
 * `RemoteWriteError` of kind `malformed`.
 */
export function scanWriteRequest(raw: Uint8Array, labelBound: number): WireCounts {
  let series = 0;
  let samples = 0;
  let exemplars = 0;
  let histograms = 0;
  let metadata = 0;
  let overLabels: { index: number; labels: number } | undefined;
  const top = new Cursor(raw, 0, raw.length);
  while (top.pos < top.end) {
    const [field, wireType] = tag(top);
    if ((field === 1 || field === 3) && wireType !== LEN) throw malformed(`field ${field} of WriteRequest is not length-delimited`);
    const [start, end] = top.skip(wireType);
    if (field === 3) metadata++;
    if (field !== 1) continue;
    let labels = 0;
    const ts = new Cursor(raw, start, end);
    while (ts.pos < ts.end) {
      const [f, wt] = tag(ts);
      if (f >= 1 && f <= 4 && wt !== LEN) throw malformed(`field ${f} of TimeSeries is not length-delimited`);
      ts.skip(wt);
      if (f === 1) labels++;
      else if (f === 2) samples++;
      else if (f === 3) exemplars++;
      else if (f === 4) histograms++;
    }
    if (labels > labelBound && overLabels === undefined) overLabels = { index: series, labels };
    series++;
  }
  return { series, samples, exemplars, histograms, metadata, ...(overLabels ? { overLabels } : {}) };
}
