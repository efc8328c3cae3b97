/**
 * Bit-level handling of float64 sample values. A value is kept as its two
 * 32-bit words (little-endian view of a Float64Array) from the caller to the
 * database and back, so every NaN payload survives; Prometheus's stale marker
 * is the signalling NaN 0x7ff0000000000002, which some JavaScript paths would
 * otherwise quiet into an ordinary NaN.
 */

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error('the metrics store needs a little-endian platform');

/** High and low 32-bit words of Prometheus's stale marker (value.StaleNaN). */
export const STALE_HI = 0x7ff00000;
export const STALE_LO = 0x00000002;

/** A Float64Array's values as 32-bit words: value i is (lo = w[2i], hi = w[2i+1]). */
export function wordsOf(values: Float64Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
}

export function isStaleAt(words: Uint32Array, i: number): boolean {
  return words[2 * i + 1] === STALE_HI && words[2 * i] === STALE_LO;
}

/** A Float64Array holding one stale marker per element, bit-exact. */
export function staleMarkers(n: number): Float64Array {
  const out = new Float64Array(n);
  const w = wordsOf(out);
  for (let i = 0; i < n; i++) {
    w[2 * i] = STALE_LO;
    w[2 * i + 1] = STALE_HI;
  }
  return out;
}

const TWO32 = 4294967296;

/** The signed 64-bit integer (decimal) with these high and low words, for an int8 column. */
export function int8Text(lo: number, hi: number): string {
  // Exact as a double when the high word is small (|n| < 2^53); BigInt otherwise.
  const shi = hi | 0;
  if (shi >= -0x200000 && shi < 0x200000) return String(shi * TWO32 + lo);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** Reads big-endian int8 pairs (t, v) — int8send(t) || int8send(v) rows — into timestamps and value words. */
export function readSampleRecords(data: Uint8Array, ts: Float64Array, words: Uint32Array, offset: number): number {
  const n = data.length >>> 4;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < n; i++) {
    const p = i << 4;
    ts[offset + i] = dv.getInt32(p) * 4294967296 + dv.getUint32(p + 4);
    words[2 * (offset + i) + 1] = dv.getUint32(p + 8);
    words[2 * (offset + i)] = dv.getUint32(p + 12);
  }
  return n;
}
