/**
 * Repeated label sets in one request (a Prometheus sender catching up writes one TimeSeries per
 * sample), merged on the fast paths — the columns decoder (mergeSeries) and the upstream splice
 * (spliceMerged) — against decodeRemoteWrite itself, the reference (not decodeRemoteWriteSamples,
 * which takes the same merge): sequences of requests from several tenants through one label
 * cache (tiny ones too: evictions mid-request, entries never held), label sets in several byte
 * forms, samples written several ways, equal timestamps with different values (stale markers,
 * NaN payloads), time bounds refused on a later repeat.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compressSync } from 'snappy';
import { RemoteWriteLabelCache, toColumns } from '../../src/federation/remote-write/columns.ts';
import { decodeRemoteWrite, type DecodeOptions } from '../../src/federation/remote-write/decode.ts';
import { encodeTenantColumns } from '../../src/federation/upstream/encode.ts';
import { bits, outcome, STALE, reference as columns, request, spliced as splice, type Outcome as Out, type SampleStyle as Style, type SeriesSpec as Spec } from './splice-compare.ts';

/** The reference: decodeRemoteWrite (protobufjs, no cache), as columns, encoded for the tenant. */
function truth(body: Buffer, options: DecodeOptions): Out {
  return outcome(() => {
    const c = toColumns(decodeRemoteWrite(body, options));
    let n = 0;
    for (const s of c.series) n += s.timestamps.length;
    const timestamps = new Float64Array(n);
    const values = new Float64Array(n);
    const bounds = new Int32Array(c.series.length + 1);
    let pos = 0;
    c.series.forEach((s, k) => {
      timestamps.set(s.timestamps, pos);
      new Uint8Array(values.buffer, pos * 8, s.values.length * 8).set(new Uint8Array(s.values.buffer, s.values.byteOffset, s.values.length * 8));
      pos += s.timestamps.length;
      bounds[k + 1] = pos;
    });
    return { body: encodeTenantColumns(options.tenant, { labels: c.series.map((s) => s.labels), bounds, timestamps, values }), series: c.series.length, sampleCount: c.sampleCount };
  });
}

// Label sets in several byte forms: two orders, a tenant_id of its own, an empty value; and others.
const SETS: Array<Array<[string, string]>> = [
  [['__name__', 'up'], ['job', 'a']],
  [['job', 'a'], ['__name__', 'up']],
  [['__name__', 'up'], ['job', 'a'], ['tenant_id', 'zeta']],
  [['tenant_id', 'acme'], ['job', 'a'], ['__name__', 'up']],
  [['__name__', 'up'], ['job', 'a'], ['zone', '']],
  [['__name__', 'up'], ['job', 'b']],
  [['__name__', 'up'], ['job', 'b'], ['tenant_id', '']],
  [['__name__', 'down'], ['job', 'a'], ['zone', '']],
  [['__name__', 'down'], ['job', 'x\u0000y']],
  [['__name__', 'down'], ['job', 'x'], ['y', '']],
  [['__name__', 'bad-name']],
  [['__name__', 'up'], ['job', 'a'], ['job', 'a']],
];

const valueBits = fc.oneof(fc.constant(STALE), fc.constant(bits(0)), fc.constant(bits(-0)), fc.double().map(bits),
  fc.tuple(fc.nat(0xffffffff), fc.nat(0xfffff)).map(([lo, hi]): [number, number] => [lo, (0x7ff00000 | hi) >>> 0]));
const spec = fc.record({
  set: fc.oneof({ weight: 9, arbitrary: fc.nat(9) }, { weight: 1, arbitrary: fc.nat(SETS.length - 1) }),
  samples: fc.array(fc.tuple(fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 8 }) }, { weight: 1, arbitrary: fc.constantFrom(0.001, 0.128, 16.384, 2 ** 49 / 1000 - 1, 2 ** 35 / 1000) }), valueBits), { maxLength: 3 }),
  style: fc.constantFrom<Style>('gogo', 'gogo', 'full', 'reversed', 'twice'),
  unknown: fc.constantFrom(undefined, undefined, undefined, 'afterLabels' as const, 'betweenSamples' as const),
  sorted: fc.nat(9),
}).map((x): Spec => {
  const samples = x.samples.map(([t, [lo, hi]]): [number, number, number] => [Math.round(t * 1000), lo, hi]);
  if (x.sorted > 0) samples.sort((a, b) => a[0] - b[0]);
  return { labels: SETS[x.set] as Array<[string, string]>, samples, style: x.style, unknown: x.unknown };
});
const optionsArb = fc.constantFrom<Partial<DecodeOptions>>({}, { nowMs: 100_000 }, { nowMs: 6000, maxAheadMs: 0 }, { nowMs: 8000, retentionMs: 6000 }, { nowMs: 8000, retentionMs: 7500 }, { limits: { maxLabelValueBytes: 1 } }, { limits: { maxLabelValueBytes: 100 } }, { limits: { maxLabelsPerSeries: 3 } }, { limits: { maxSamples: 6 } }, { limits: { maxSeries: 5 } });
const makeCache = [() => new RemoteWriteLabelCache(), () => new RemoteWriteLabelCache(1), () => new RemoteWriteLabelCache(2), () => new RemoteWriteLabelCache(3), () => new RemoteWriteLabelCache(50_000, 10), () => new RemoteWriteLabelCache(50_000, 300)];

describe('repeated label sets merged on the fast paths equal decodeRemoteWrite', () => {
  it('sequences of requests from two tenants through one cache, tiny caches included (fast-check)', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ series: fc.array(spec, { minLength: 1, maxLength: 12 }), tenant: fc.constantFrom('acme', 'zeta'), extra: optionsArb, again: fc.boolean() }), { minLength: 1, maxLength: 6 }),
      fc.nat(makeCache.length - 1),
      (requests, which) => {
        const spliceCache = (makeCache[which] as () => RemoteWriteLabelCache)();
        const columnsCache = (makeCache[which] as () => RemoteWriteLabelCache)();
        let previous: Spec[] = [];
        for (const r of requests) {
          // Half the time the previous request's series again, then these (a sender's order: the splice's guesses).
          const series = r.again && previous.length > 0 ? [...previous, ...r.series] : r.series;
          previous = series.slice(0, 12);
          const body = compressSync(request(series));
          const options = { tenant: r.tenant, ...r.extra };
          const expected = truth(body, options);
          for (let round = 0; round < (r.again ? 2 : 1); round++) {
            assert.deepEqual(columns(body, options, columnsCache), expected, `columns, round ${round}`);
            assert.deepEqual(splice(body, options, spliceCache), expected, `splice, round ${round}`);
          }
        }
      },
    ), { numRuns: 1500 });
  });
});

describe('large catch-up requests', () => {
  const T0 = 1_700_000_000_000;
  const lbl = (i: number): Array<[string, string]> => [['__name__', 'node_cpu_seconds_total'], ['instance', `host-${i}:9100`], ['job', 'node']];
  const value = (i: number): [number, number] => (i % 3 === 0 ? STALE : i % 3 === 1 ? [i, 0x7ff80000] : bits(i));
  const shapes: Record<string, Spec[]> = {
    'one label set 2,500 times, ascending': Array.from({ length: 2500 }, (_, i) => ({ labels: lbl(0), samples: [[T0 + i, ...value(i)]], style: 'gogo' })),
    'one label set 2,500 times, descending': Array.from({ length: 2500 }, (_, i) => ({ labels: lbl(0), samples: [[T0 + 2500 - i, ...value(i)]], style: 'gogo' })),
    'one label set 2,500 times, all at one time (stale markers, NaN payloads, numbers)': Array.from({ length: 2500 }, (_, i) => ({ labels: lbl(0), samples: [[T0, ...value(i)]], style: i % 2 === 0 ? 'gogo' : 'full' })),
    'one label set 2,500 times in two byte forms, times repeating': Array.from({ length: 2500 }, (_, i) => ({ labels: i % 2 === 0 ? lbl(0) : [...lbl(0)].reverse(), samples: [[T0 + (i % 7) * 1000, ...value(i)]], style: 'gogo' })),
    '1,000 label sets interleaved, 3 rounds, newest round first': Array.from({ length: 3000 }, (_, i) => ({ labels: lbl(i % 1000), samples: [[T0 + 3000 - Math.floor(i / 1000) * 1000, ...value(i)]], style: 'gogo' })),
  };
  for (const [name, specs] of Object.entries(shapes)) {
    it(`${name}: the same as decodeRemoteWrite, with any cache`, () => {
      const body = compressSync(request(specs));
      for (const options of [{ tenant: 'acme' }, { tenant: 'acme', nowMs: T0 + 1000, retentionMs: 1000 }, { tenant: 'acme', nowMs: T0 + 2000, maxAheadMs: 0 }]) {
        const expected = truth(body, options);
        for (const make of makeCache) {
          const a = make();
          const b = make();
          for (let round = 0; round < 2; round++) {
            assert.deepEqual(columns(body, options, a), expected, `columns, round ${round}`);
            assert.deepEqual(splice(body, options, b), expected, `splice, round ${round}`);
          }
        }
      }
    });
  }
});

describe('mutated catch-up requests', () => {
  it('a request of repeated label sets, mutated byte by byte, answers as decodeRemoteWrite (fast-check)', () => {
    const base = request([
      { labels: [['__name__', 'up'], ['job', 'a']], samples: [[3000, ...bits(1)]], style: 'full' },
      { labels: [['job', 'a'], ['__name__', 'up']], samples: [[1000, ...STALE]], style: 'full' },
      { labels: [['__name__', 'up'], ['job', 'b']], samples: [[2000, ...bits(2)]], style: 'gogo' },
      { labels: [['__name__', 'up'], ['job', 'a'], ['tenant_id', 'x']], samples: [[3000, 5, 0x7ff00000]], style: 'full' },
      { labels: [['__name__', 'up'], ['job', 'b']], samples: [[1000, ...bits(3)], [2000, ...bits(4)]], style: 'full' },
    ]);
    const caches = [new RemoteWriteLabelCache(), new RemoteWriteLabelCache(2)];
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { maxLength: 3 }), fc.nat(1), fc.constantFrom('acme', 'zeta'), (edits, which, tenant) => {
      const body = Buffer.from(base);
      for (const [i, b] of edits) body[i] = b;
      const compressed = compressSync(body);
      const options = { tenant, nowMs: 2500, retentionMs: 2000 };
      const expected = truth(compressed, options);
      const relaxed = truth(compressed, { tenant });
      for (let round = 0; round < 2; round++) {
        assert.deepEqual(columns(compressed, options, caches[which] as RemoteWriteLabelCache), expected);
        assert.deepEqual(splice(compressed, options, caches[which] as RemoteWriteLabelCache), expected);
        assert.deepEqual(columns(compressed, { tenant }, caches[which] as RemoteWriteLabelCache), relaxed);
        assert.deepEqual(splice(compressed, { tenant }, caches[which] as RemoteWriteLabelCache), relaxed);
      }
    }), { numRuns: 1000 });
  });
});

describe('time bounds on a later repeat', () => {
  const a: Array<[string, string]> = [['__name__', 'up'], ['job', 'a']];
  const aOther: Array<[string, string]> = [['job', 'a'], ['__name__', 'up'], ['tenant_id', 'zeta']];
  const b: Array<[string, string]> = [['__name__', 'up'], ['job', 'b']];
  const cases: Array<[string, Spec[], DecodeOptions, RegExp]> = [
    ['older than the retention', [{ labels: a, samples: [[5000, ...bits(1)]], style: 'gogo' }, { labels: b, samples: [[5000, ...bits(2)]], style: 'gogo' }, { labels: aOther, samples: [[1000, ...STALE]], style: 'full' }], { tenant: 'acme', nowMs: 6000, retentionMs: 4000 }, /^series 2 has a sample at .*older than PROBECTL_METRICS_RETENTION/],
    ['too far ahead', [{ labels: a, samples: [[5000, ...bits(1)]], style: 'gogo' }, { labels: a, samples: [[4000, ...bits(2)]], style: 'gogo' }, { labels: b, samples: [[5000, ...bits(3)]], style: 'gogo' }, { labels: aOther, samples: [[3000, ...bits(4)], [9000, ...bits(5)]], style: 'full' }], { tenant: 'acme', nowMs: 6000, maxAheadMs: 1000 }, /^series 3 has a sample at .*too far in the future: samples after .* are refused \(more than 1s ahead of probectl's clock/],
  ];
  for (const [name, specs, options, message] of cases) {
    it(`a repeat ${name} is refused as decodeRemoteWrite refuses it (its own index), cold and warm, with any cache`, () => {
      const body = compressSync(request(specs));
      const expected = truth(body, options);
      assert.ok(!expected.ok && message.test(expected.message), JSON.stringify(expected));
      // The earlier series alone are fine (warms the caches), then the whole request, twice.
      const head = compressSync(request(specs.slice(0, -1)));
      for (const make of makeCache) {
        const a = make();
        const b = make();
        assert.ok(columns(head, options, a).ok && splice(head, options, b).ok);
        for (let round = 0; round < 2; round++) {
          assert.deepEqual(columns(body, options, a), expected);
          assert.deepEqual(splice(body, options, b), expected);
        }
        assert.deepEqual(splice(head, options, b), truth(head, options), 'the cache still answers after the refusal');
      }
    });
  }
});

describe('a merged request past the splice\'s kept output buffer (1 MiB)', () => {
  it('70,000 samples of 3 label sets in 10,000 series, newest first and oldest first: the same bytes as decodeRemoteWrite', () => {
    const T0 = 1_700_000_000_000;
    const lbl = (i: number): Array<[string, string]> => [['__name__', 'node_cpu_seconds_total'], ['instance', `host-${i}:9100`], ['job', 'node']];
    const options = { tenant: 'acme', limits: { maxSamples: 100_000 } };
    for (const sign of [-1, 1]) {
      const specs = Array.from({ length: 10_000 }, (_, i): Spec => ({ labels: lbl(i % 3), samples: [0, 1, 2, 3, 4, 5, 6].map((k): [number, number, number] => [T0 + sign * 10 * i + k + 200_000, ...(k === 6 ? STALE : bits(i))]), style: 'gogo' }));
      const body = compressSync(request(specs));
      const expected = truth(body, options);
      assert.ok(expected.ok && expected.wire.length / 2 > 1024 * 1024 && expected.series === 3);
      for (const make of [() => new RemoteWriteLabelCache(), () => new RemoteWriteLabelCache(1)]) {
        const a = make();
        const b = make();
        for (let round = 0; round < 2; round++) {
          assert.deepEqual(columns(body, options, a), expected);
          assert.deepEqual(splice(body, options, b), expected);
        }
      }
    }
  });
});
