/**
 * The protobuf base-128 varint (https://protobuf.dev/programming-guides/encoding/#varints) as
 * the remote-write walks read it: no allocation per field, the end of the last one read in
 * a module variable.
 */

/**
 * `end`: where the varint last read by readVarint() ended (valid only after a result other than
 * -1). An object, not an exported `let`: importers read a property, faster than a live binding.
 */
export const varintAt = { end: 0 };

/**
 * The varint at `buf[pos]` of at most `maxBytes` bytes within `end`, as a number (exact up to
 * 2^53; larger values only ever mean "too long" to the callers), setting `varintAt.end`; -1 when
 * there is none (truncated at `end`, or longer than `maxBytes`).
 */
export function readVarint(buf: Uint8Array, pos: number, end: number, maxBytes: number): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes && pos < end; i++) {
    const b = buf[pos++] as number;
    result += (b & 0x7f) * scale;
    if (b < 0x80) {
      varintAt.end = pos;
      return result;
    }
    scale *= 128;
  }
  return -1;
}
