import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isProbectlError } from '../../../src/core/errors.ts';
import { wordsOf } from '../../../src/federation/store/float-bits.ts';
import { decodeXorChunk, TIMESTAMP_LIMIT, XorChunkEncoder, xorChunkCount } from '../../../src/federation/store/xor-chunk.ts';

interface Golden { name: string; ts: number[]; bits: string[]; chunk: string }
const golden = JSON.parse(readFileSync(new URL('./fixtures/xor-golden.json', import.meta.url), 'utf8')) as Golden[];

function wordsFromHex(bits: string[]): Uint32Array {
  const w = new Uint32Array(bits.length * 2);
  bits.forEach((b, i) => {
    w[2 * i + 1] = Number.parseInt(b.slice(0, 8), 16);
    w[2 * i] = Number.parseInt(b.slice(8), 16);
  });
  return w;
}

function encode(ts: ArrayLike<number>, w: Uint32Array): Uint8Array {
  const enc = new XorChunkEncoder();
  for (let i = 0; i < ts.length; i++) enc.append(ts[i] as number, w[2 * i] as number, w[2 * i + 1] as number);
  return enc.bytes();
}

function decode(data: Uint8Array): { ts: Float64Array; w: Uint32Array } {
  const n = xorChunkCount(data);
  const ts = new Float64Array(n);
  const vals = new Float64Array(n);
  assert.equal(decodeXorChunk(data, ts, wordsOf(vals), 0), n);
  return { ts, w: wordsOf(vals) };
}

describe('Prometheus XOR chunks', () => {
  it('encodes byte for byte as Prometheus tsdb/chunkenc does (vectors written by its own appender)', () => {
    assert.ok(golden.length >= 6);
    for (const g of golden) {
      const bytes = encode(g.ts, wordsFromHex(g.bits));
      assert.equal(Buffer.from(bytes).toString('hex'), g.chunk, g.name);
    }
  });

  it('decodes Prometheus-written chunks to the same timestamps and value bits', () => {
    for (const g of golden) {
      const { ts, w } = decode(Buffer.from(g.chunk, 'hex'));
      assert.deepEqual([...ts], g.ts, g.name);
      assert.deepEqual([...w], [...wordsFromHex(g.bits)], g.name);
    }
  });

  it('round-trips any strictly increasing series bit-exact (property)', () => {
    const sample = fc.tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), fc.constantFrom('raw', 'same', 'small', 'stale', 'nan'));
    fc.assert(fc.property(fc.integer({ min: -(2 ** 50), max: 2 ** 50 }), fc.array(sample, { minLength: 1, maxLength: 400 }), (start, steps) => {
      const ts: number[] = [];
      const w = new Uint32Array(steps.length * 2);
      let t = start;
      steps.forEach(([dt, hi, lo, kind], i) => {
        t += i === 0 ? 0 : (kind === 'small' ? (dt % 3) + 1 : dt % 2 === 0 ? 15_000 : dt);
        ts.push(t);
        const [h, l] = kind === 'stale' ? [0x7ff00000, 2] : kind === 'nan' ? [0x7ff80000, 1] : kind === 'same' && i > 0 ? [w[2 * i - 1] as number, w[2 * i - 2] as number] : [hi, lo];
        w[2 * i + 1] = h;
        w[2 * i] = l;
      });
      if (ts.some((x) => Math.abs(x) > TIMESTAMP_LIMIT)) return;
      const out = decode(encode(ts, w));
      assert.deepEqual([...out.ts], ts);
      assert.deepEqual([...out.w], [...w]);
    }), { numRuns: 300 });
  });

  it('keeps a regular 15 s series near a byte per sample', () => {
    const ts = Array.from({ length: 480 }, (_, i) => 1_700_000_000_000 + i * 15_000);
    const vals = new Float64Array(480).map((_, i) => i * 3);
    const bytes = encode(ts, wordsOf(vals));
    assert.ok(bytes.length / 480 < 2, `${bytes.length / 480} bytes per sample`);
  });

  it('refuses decreasing timestamps and timestamps outside ±2^51 when encoding', () => {
    const enc = new XorChunkEncoder();
    enc.append(10, 0, 0);
    assert.throws(() => enc.append(10, 0, 0), /increase/);
    assert.throws(() => new XorChunkEncoder().append(2 ** 52, 0, 0), RangeError);
    assert.throws(() => new XorChunkEncoder().append(1.5, 0, 0), RangeError);
  });

  it('a truncated or garbled chunk fails with a typed error, never a wrong sample count silently', () => {
    const g = golden[1] as Golden;
    const bytes = Buffer.from(g.chunk, 'hex');
    for (const cut of [1, 5, 40, bytes.length - 3]) {
      assert.throws(() => decode(bytes.subarray(0, cut)), (err: unknown) => isProbectlError(err, 'PROBECTL_ERR_METRICS_CORRUPT_CHUNK'));
    }
  });
});
