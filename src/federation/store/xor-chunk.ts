/**
 * Prometheus TSDB XOR chunks (tsdb/chunkenc/xor.go, after Gorilla: Pelkonen et
 * al., VLDB 2015), byte for byte: a 2-byte big-endian sample count, then the
 * first timestamp as a zig-zag varint and its value as 64 raw bits, the second
 * timestamp's delta as a uvarint, and from then on delta-of-delta timestamps in
 * buckets '0' | '10'+14 | '110'+17 | '1110'+20 | '1111'+64 bits; values are
 * XORed with the previous one: '0' same value, '10' + meaningful bits inside
 * the previous leading/trailing-zero window, '11' + 5-bit leading zeros +
 * 6-bit length + the bits. Values travel as 32-bit word pairs (float-bits.ts)
 * so NaN payloads are kept exactly. Timestamps must be strictly increasing
 * integers within ±2^51 (so every delta-of-delta is an exact double).
 */
import { ProbectlError } from '../../core/errors.ts';

export const MAX_CHUNK_SAMPLES = 65_535;
export const TIMESTAMP_LIMIT = 2 ** 51;

const TWO32 = 4294967296;

function corrupt(reason: string): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_METRICS_CORRUPT_CHUNK', `metrics chunk cannot be decoded: ${reason}`);
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Appends samples to one chunk; `bytes()` is the chunk as Prometheus writes it. */
export class XorChunkEncoder {
  private buf = new Uint8Array(128);
  private nbits = 16;
  private n = 0;
  private t = 0;
  private tDelta = 0;
  private hi = 0;
  private lo = 0;
  private leading = 0xff;
  private trailing = 0;

  get count(): number {
    return this.n;
  }

  get byteLength(): number {
    return (this.nbits + 7) >>> 3;
  }

  private ensure(extraBits: number): void {
    const need = (this.nbits + extraBits + 7) >>> 3;
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.max(need, this.buf.length * 2));
    next.set(this.buf);
    this.buf = next;
  }

  /** Writes the `n` (0..32) low bits of `v`, most significant first. */
  private writeBits(v: number, n: number): void {
    this.ensure(n);
    while (n > 0) {
      const free = 8 - (this.nbits & 7);
      const take = free < n ? free : n;
      const chunk = (v >>> (n - take)) & ((1 << take) - 1);
      (this.buf[this.nbits >>> 3] as number) |= chunk << (free - take);
      this.nbits += take;
      n -= take;
    }
  }

  /** Writes the `n` (0..64) low bits of the 64-bit word pair. */
  private writeBits64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.writeBits(hi, n - 32);
      this.writeBits(lo, 32);
    } else {
      this.writeBits(lo, n);
    }
  }

  private writeUvarint(x: number): void {
    while (x >= 128) {
      this.writeBits((x % 128) | 0x80, 8);
      x = Math.floor(x / 128);
    }
    this.writeBits(x, 8);
  }

  /** Appends one sample; `t` must exceed the previous timestamp. */
  append(t: number, lo: number, hi: number): void {
    if (!Number.isSafeInteger(t) || Math.abs(t) > TIMESTAMP_LIMIT) throw new RangeError(`chunk timestamp ${t} is not an integer within ±2^51`);
    if (this.n >= MAX_CHUNK_SAMPLES) throw new RangeError('chunk capacity exceeded');
    if (this.n > 0 && t <= this.t) throw new RangeError('chunk timestamps must increase');
    let tDelta = 0;
    if (this.n === 0) {
      this.writeUvarint(t >= 0 ? t * 2 : -t * 2 - 1);
      this.writeBits(hi, 32);
      this.writeBits(lo, 32);
    } else if (this.n === 1) {
      tDelta = t - this.t;
      this.writeUvarint(tDelta);
      this.writeValue(lo, hi);
    } else {
      tDelta = t - this.t;
      const dod = tDelta - this.tDelta;
      if (dod === 0) this.writeBits(0, 1);
      else if (dod >= -8191 && dod <= 8192) {
        this.writeBits(0b10, 2);
        this.writeBits(dod & 0x3fff, 14);
      } else if (dod >= -65535 && dod <= 65536) {
        this.writeBits(0b110, 3);
        this.writeBits(dod & 0x1ffff, 17);
      } else if (dod >= -524287 && dod <= 524288) {
        this.writeBits(0b1110, 4);
        this.writeBits(dod & 0xfffff, 20);
      } else {
        this.writeBits(0b1111, 4);
        const dhi = Math.floor(dod / TWO32);
        this.writeBits(dhi >>> 0, 32);
        this.writeBits((dod - dhi * TWO32) >>> 0, 32);
      }
      this.writeValue(lo, hi);
    }
    this.t = t;
    this.tDelta = tDelta;
    this.hi = hi;
    this.lo = lo;
    this.n++;
  }

  private writeValue(lo: number, hi: number): void {
    const dhi = (hi ^ this.hi) >>> 0;
    const dlo = (lo ^ this.lo) >>> 0;
    if (dhi === 0 && dlo === 0) {
      this.writeBits(0, 1);
      return;
    }
    let newLeading = dhi !== 0 ? Math.clz32(dhi) : 32 + Math.clz32(dlo);
    const newTrailing = dlo !== 0 ? ctz32(dlo) : 32 + ctz32(dhi);
    if (newLeading >= 32) newLeading = 31;
    let leading = this.leading;
    let trailing = this.trailing;
    if (leading !== 0xff && newLeading >= leading && newTrailing >= trailing) {
      this.writeBits(0b10, 2);
    } else {
      leading = newLeading;
      trailing = newTrailing;
      this.leading = leading;
      this.trailing = trailing;
      this.writeBits(0b11, 2);
      this.writeBits(leading, 5);
      this.writeBits((64 - leading - trailing) & 0x3f, 6);
    }
    // delta >> trailing, then its (64 - leading - trailing) low bits.
    let shi = dhi;
    let slo = dlo;
    if (trailing >= 32) {
      slo = dhi >>> (trailing - 32);
      shi = 0;
    } else if (trailing > 0) {
      slo = ((dlo >>> trailing) | (dhi << (32 - trailing))) >>> 0;
      shi = dhi >>> trailing;
    }
    this.writeBits64(shi, slo, 64 - leading - trailing);
  }

  /** The chunk: sample count (uint16, big-endian) then the bit stream, zero-padded to a byte. */
  bytes(): Uint8Array {
    const out = this.buf.slice(0, this.byteLength);
    out[0] = this.n >>> 8;
    out[1] = this.n & 0xff;
    return out;
  }
}

/** The number of samples a chunk holds (its header). */
export function xorChunkCount(data: Uint8Array): number {
  if (data.length < 2) throw corrupt('shorter than its header');
  return ((data[0] as number) << 8) | (data[1] as number);
}

class BitReader {
  private readonly data: Uint8Array;
  private pos: number;
  private readonly end: number;
  constructor(data: Uint8Array) {
    this.data = data;
    this.pos = 16;
    this.end = data.length * 8;
  }

  /** Reads n (1..32) bits as an unsigned number. */
  read(n: number): number {
    if (n > 24) return this.read(n - 16) * 65536 + this.read(16);
    const pos = this.pos;
    if (pos + n > this.end) throw corrupt('bit stream ends early');
    const d = this.data;
    const i = pos >>> 3;
    // A 32-bit big-endian window from the current byte (bytes past the end read as 0).
    const w = ((d[i] as number) << 24) | ((d[i + 1] as number) << 16) | ((d[i + 2] as number) << 8) | (d[i + 3] as number);
    this.pos = pos + n;
    return (w << (pos & 7)) >>> (32 - n);
  }

  bit(): number {
    if (this.pos >= this.end) throw corrupt('bit stream ends early');
    const b = ((this.data[this.pos >>> 3] as number) >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }

  uvarint(): number {
    let x = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.read(8);
      x += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(x)) throw corrupt('varint beyond the safe integer range');
        return x;
      }
      scale *= 128;
    }
    throw corrupt('varint too long');
  }
}

/**
 * Decodes a chunk into `ts[offset…]` and value words `words[2·offset…]`;
 * returns the sample count. Throws PROBECTL_ERR_METRICS_CORRUPT_CHUNK on a
 * truncated or malformed stream.
 */
export function decodeXorChunk(data: Uint8Array, ts: Float64Array, words: Uint32Array, offset: number): number {
  const n = xorChunkCount(data);
  if (n === 0) return 0;
  if (ts.length < offset + n || words.length < 2 * (offset + n)) throw new RangeError('output arrays too short for the chunk');
  const r = new BitReader(data);
  const zz = r.uvarint();
  let t = zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
  let hi = r.read(32);
  let lo = r.read(32);
  let tDelta = 0;
  let leading = 0;
  let trailing = 0;
  ts[offset] = t;
  words[2 * offset] = lo;
  words[2 * offset + 1] = hi;
  for (let i = 1; i < n; i++) {
    if (i === 1) {
      tDelta = r.uvarint();
    } else if (r.bit() === 1) {
      let dod: number;
      if (r.bit() === 0) dod = signed(r.read(14), 14);
      else if (r.bit() === 0) dod = signed(r.read(17), 17);
      else if (r.bit() === 0) dod = signed(r.read(20), 20);
      else {
        const dhi = r.read(32) | 0;
        dod = dhi * TWO32 + r.read(32);
      }
      tDelta += dod;
    }
    t += tDelta;
    if (!Number.isSafeInteger(t)) throw corrupt('timestamp beyond the safe integer range');
    if (r.bit() === 1) {
      let mbits: number;
      if (r.bit() === 1) {
        leading = r.read(5);
        mbits = r.read(6);
        if (mbits === 0) mbits = 64;
        trailing = 64 - leading - mbits;
        if (trailing < 0) throw corrupt('invalid XOR window');
      } else {
        mbits = 64 - leading - trailing;
      }
      let shi = 0;
      let slo: number;
      if (mbits > 32) {
        shi = r.read(mbits - 32);
        slo = r.read(32);
      } else {
        slo = r.read(mbits);
      }
      // (shi, slo) << trailing, XORed into the previous value.
      if (trailing >= 32) {
        hi = (hi ^ (slo << (trailing - 32))) >>> 0;
      } else if (trailing > 0) {
        hi = (hi ^ ((shi << trailing) | (slo >>> (32 - trailing)))) >>> 0;
        lo = (lo ^ (slo << trailing)) >>> 0;
      } else {
        hi = (hi ^ shi) >>> 0;
        lo = (lo ^ slo) >>> 0;
      }
    }
    ts[offset + i] = t;
    words[2 * (offset + i)] = lo;
    words[2 * (offset + i) + 1] = hi;
  }
  return n;
}

function signed(bits: number, size: number): number {
  return bits > 2 ** (size - 1) ? bits - 2 ** size : bits;
}
