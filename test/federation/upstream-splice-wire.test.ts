/**
 * Upstream remote-write splice (src/federation/upstream/splice.ts) against
 * decodeRemoteWriteSamples → encodeTenantColumns on requests written field by field: samples
 * with their fields in any order, repeated (last one wins), left out, unknown fields of every
 * wire type, timestamps as varints with redundant high bytes, negative or past the walk's 7
 * bytes; labels between samples; series empty or with labels only; the same label set in two
 * byte forms across requests; timestamps at the exact edges of the time bounds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compressSync } from 'snappy';
import { RemoteWriteLabelCache } from '../../src/federation/remote-write/columns.ts';
import type { DecodeOptions } from '../../src/federation/remote-write/decode.ts';
import { reference, spliced } from './splice-compare.ts';

function varint(n: bigint, pad = 0): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  while (v >= 128n) {
    out.push(Number(v % 128n) | 0x80);
    v /= 128n;
  }
  out.push(Number(v));
  // Redundant high bytes: the last byte gets a continuation bit, then zero groups.
  for (let i = 0; i < pad; i++) {
    out[out.length - 1] = (out[out.length - 1] as number) | 0x80;
    out.push(0);
  }
  return out;
}
const len = (tag: number, payload: number[]): number[] => [tag, ...varint(BigInt(payload.length)), ...payload];


const NOW = 1_000_000;
const AHEAD = 10 * 60_000;
const RETENTION = 500_000;
const edge = fc.constantFrom(NOW + AHEAD, NOW + AHEAD + 1, NOW - RETENTION, NOW - RETENTION - 1, NOW, 0, 2 ** 49 - 1, 2 ** 49, -1, -(2 ** 40));

const sampleField = fc.oneof(
  fc.tuple(fc.constant('value' as const), fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff))),
  fc.tuple(fc.constant('ts' as const), fc.tuple(fc.oneof(edge, fc.integer({ min: 0, max: 2_000_000 })), fc.nat(3))),
  fc.tuple(fc.constant('unknown' as const), fc.constantFrom(0, 1, 2, 5)),
);
const label = fc.tuple(fc.constantFrom('job', 'a', 'tenant_id'), fc.constantFrom('up', 'x', '', 'y'));
const seriesPart = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.constant('sample' as const), fc.array(sampleField, { maxLength: 5 })) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('labels' as const), fc.array(label, { minLength: 1, maxLength: 2 })) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('unknown' as const), fc.constantFrom(0, 1, 2, 5)) },
);

function unknownField(wireType: number): number[] {
  const tag = (9 << 3) | wireType;
  if (wireType === 0) return [tag, 0x96, 0x01];
  if (wireType === 1) return [tag, 1, 2, 3, 4, 5, 6, 7, 8];
  if (wireType === 5) return [tag, 1, 2, 3, 4];
  return [tag, 3, 0x08, 0x96, 0x01];
}

type Part = ['sample', Array<['value', [number, number]] | ['ts', [number, number]] | ['unknown', number]>] | ['labels', Array<[string, string]>] | ['unknown', number];

function series(parts: Part[]): number[] {
  const body: number[] = [];
  for (const p of parts) {
    if (p[0] === 'unknown') body.push(...unknownField(p[1]));
    else if (p[0] === 'labels') for (const [n, v] of p[1]) body.push(...len(0x0a, [...len(0x0a, [...Buffer.from(n)]), ...(v === '' ? [] : len(0x12, [...Buffer.from(v)]))]));
    else {
      const s: number[] = [];
      for (const f of p[1]) {
        if (f[0] === 'value') {
          const b = Buffer.alloc(8);
          b.writeUInt32LE(f[1][0], 0);
          b.writeUInt32LE(f[1][1], 4);
          s.push(0x09, ...b);
        } else if (f[0] === 'ts') s.push(0x10, ...varint(BigInt(f[1][0]), f[1][0] < 0 ? 0 : f[1][1] === 3 ? 1 : 0));
        else s.push(...unknownField(f[1]));
      }
      body.push(...len(0x12, s));
    }
  }
  return len(0x0a, body);
}

describe('upstream remote-write splice: odd wire encodings equal the decoder\'s path', () => {
  it('generated series, field by field, answer the same (fast-check)', () => {
    const caches = [new RemoteWriteLabelCache(), new RemoteWriteLabelCache(3)];
    const refCache = new RemoteWriteLabelCache();
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.constantFrom('up', 'm', 'x', ''), fc.nat(3), fc.array(seriesPart, { maxLength: 4 })).map(([name, at, parts]): Part[] => {
        // Mostly a __name__ first (or later: labels after samples), so that most requests are valid.
        const p = parts as Part[];
        if (name !== '') p.splice(Math.min(at, p.length), 0, ['labels', [['__name__', name]]]);
        return p;
      }), { maxLength: 5 }),
      fc.constantFrom<Partial<DecodeOptions>>({}, { nowMs: NOW }, { nowMs: NOW, retentionMs: RETENTION }),
      fc.nat(1),
      (specs, extra, which) => {
        const raw = Buffer.from(specs.flatMap((p) => series(p as Part[])));
        const body = compressSync(raw);
        const options: DecodeOptions = { tenant: 'acme', ...extra };
        const want = reference(body, options, new RemoteWriteLabelCache());
        for (let round = 0; round < 2; round++) {
          assert.deepEqual(spliced(body, options, caches[which] as RemoteWriteLabelCache), want);
          assert.deepEqual(reference(body, options, refCache), want);
        }
      },
    ), { numRuns: 3000 });
  });

  it('limits at their edges, a refused label set after a cached prefix: the same answers, warm and cold', () => {
    const labelsOf = (n: number, name: string): Part => ['labels', [['__name__', name], ...Array.from({ length: n - 1 }, (_, i): [string, string] => [`l${i}`, 'v'.repeat(i + 1)])]];
    const sample: Part = ['sample', [['value', [1, 2]], ['ts', [1000, 0]]]];
    const build = (specs: Part[][]): Buffer => compressSync(Buffer.from(specs.flatMap((p) => series(p))));
    const cases: Array<[Part[][], Partial<DecodeOptions['limits']>]> = [];
    for (const d of [-1, 0, 1]) {
      cases.push([Array.from({ length: 3 + d }, (_, i) => [labelsOf(1, `m${i}`), sample]), { maxSeries: 3 }]);
      cases.push([[[labelsOf(1, 'm'), sample, sample], [labelsOf(1, 'n'), ...Array.from({ length: 2 + d }, () => sample)]], { maxSamples: 4 }]);
      cases.push([[[labelsOf(1, 'm'), sample], [labelsOf(4 + d, 'n'), sample]], { maxLabelsPerSeries: 4 }]);
      cases.push([[[labelsOf(1, 'm'), sample], [labelsOf(4, 'n'), sample]], { maxLabelValueBytes: 3 + d }]);
      cases.push([[[labelsOf(1, 'm'), sample], [['labels', [['__name__', 'n'], [`l${'x'.repeat(6 + d)}`, 'v']]], sample]], { maxLabelNameBytes: 8 }]);
      // A cached prefix, then a label set refused (an invalid name), then one protobufjs refuses or not.
      cases.push([[[labelsOf(2, 'm'), sample], [['labels', [['__name__', 'n'], ['bad-name', 'x']]], sample], ...(d === 1 ? [] : [[labelsOf(1, 'o'), sample]])], {}]);
    }
    const cache = new RemoteWriteLabelCache();
    for (const [specs, limits] of cases) {
      const body = build(specs);
      const options: DecodeOptions = { tenant: 'acme', limits };
      const want = reference(body, options, new RemoteWriteLabelCache());
      for (let round = 0; round < 2; round++) assert.deepEqual(spliced(body, options, cache), want);
      // The prefix's label sets cached by another request first.
      const warm = new RemoteWriteLabelCache();
      spliced(build([specs[0] as Part[]]), options, warm);
      assert.deepEqual(spliced(body, options, warm), want);
    }
  });
});
