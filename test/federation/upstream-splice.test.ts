/**
 * Upstream mode's spliced forward (src/federation/upstream/splice.ts) against the path it
 * replaces, decodeRemoteWriteSamples then encodeTenantColumns: for every request — Prometheus's
 * encoding and others (a zero value or timestamp left out, fields swapped or repeated, labels
 * unsorted, `tenant_id` sent, empty values, unicode, one label set twice, in two orders),
 * values of any bits (NaN payloads, the stale marker), valid or refused — the same bytes for
 * the engine, the same counts, or the same error, cold and warm, with label caches small
 * enough to evict mid-request.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compressSync } from 'snappy';
import { RemoteWriteLabelCache } from '../../src/federation/remote-write/columns.ts';
import { DEFAULT_REMOTE_WRITE_LIMITS, type DecodeOptions } from '../../src/federation/remote-write/decode.ts';
import { bits, reference, request, spliced, STALE, varint, type SampleStyle, type SeriesSpec } from './splice-compare.ts';
import { CATCH_UP_LABEL_SETS } from '../helpers/remote-write.ts';


describe('upstream remote-write splice equals decodeRemoteWriteSamples → encodeTenantColumns', () => {
  it('a Prometheus-shaped stream: the same bytes, cold and warm, zero values and the stale marker included', () => {
    const series = (t: number): SeriesSpec[] => Array.from({ length: 50 }, (_, i) => ({
      labels: [['__name__', `m_${i % 5}`], ['instance', `host-${i}:9100`], ['job', 'node']],
      samples: [[t, ...(i % 3 === 0 ? STALE : i % 3 === 1 ? bits(0) : bits(i * 1.5))], [t + 15_000, ...bits(-i)]],
      style: 'gogo',
    }));
    const cache = new RemoteWriteLabelCache();
    const refCache = new RemoteWriteLabelCache();
    for (let round = 0; round < 4; round++) {
      const body = compressSync(request(series(1_700_000_000_000 + round * 30_000)));
      const options = { tenant: 'acme', nowMs: 1_700_000_000_000 + round * 30_000 };
      const out = spliced(body, options, cache);
      assert.ok(out.ok, JSON.stringify(out));
      assert.deepEqual(out, reference(body, options, refCache), `round ${round}`);
    }
  });

  it('one label set twice in a request (same bytes, or another label order) is merged as the decoder merges it, warm or not', () => {
    const a: SeriesSpec = { labels: [['__name__', 'up'], ['job', 'x']], samples: [[2000, ...bits(1)]], style: 'full' };
    const b: SeriesSpec = { labels: [['job', 'x'], ['__name__', 'up']], samples: [[1000, ...bits(2)]], style: 'full' };
    const c: SeriesSpec = { labels: [['__name__', 'up'], ['job', 'x'], ['tenant_id', 'other'], ['e', '']], samples: [[3000, ...bits(3)]], style: 'full' };
    const cache = new RemoteWriteLabelCache();
    const refCache = new RemoteWriteLabelCache();
    // Each label set seen alone first (warm entries, marks and guesses), then together.
    for (const series of [[a], [b], [c], [a, b], [b, a], [a, c], [c, b, a], [a, a], [b, b]]) {
      const body = compressSync(request(series));
      const out = spliced(body, { tenant: 'acme' }, cache);
      assert.deepEqual(out, reference(body, { tenant: 'acme' }, refCache));
      assert.ok(out.ok && out.series === 1, JSON.stringify(out));
    }
  });

  it('one label set in two byte forms, both new in a request, across an eviction or never held: merged as the decoder merges them', () => {
    const a: SeriesSpec = { labels: [['__name__', 'up'], ['job', 'x']], samples: [[2000, ...bits(1)]], style: 'full' };
    const b: SeriesSpec = { labels: [['job', 'x'], ['__name__', 'up']], samples: [[1000, ...bits(2)]], style: 'full' };
    const other: SeriesSpec = { labels: [['__name__', 'other']], samples: [[1000, ...bits(3)]], style: 'full' };
    // One entry at most: adding b empties the tenant (a new epoch) after a was added. Or no entry held at all.
    for (const make of [() => new RemoteWriteLabelCache(1), () => new RemoteWriteLabelCache(50_000, 10)]) {
      for (const series of [[a, b], [a, other, b], [b, other, a]]) {
        const body = compressSync(request(series));
        const out = spliced(body, { tenant: 'acme' }, make());
        assert.deepEqual(out, reference(body, { tenant: 'acme' }, new RemoteWriteLabelCache()));
        assert.ok(out.ok && out.series === series.length - 1, JSON.stringify(out));
      }
    }
  });

  it('samples with another field between them are written as encodeTenantColumns writes them', () => {
    const cache = new RemoteWriteLabelCache();
    const body = compressSync(request([{ labels: [['__name__', 'up']], samples: [[1000, ...bits(1)], [2000, ...bits(2)]], style: 'full', unknown: 'betweenSamples' }]));
    for (let round = 0; round < 2; round++) {
      const out = spliced(body, { tenant: 'acme' }, cache);
      assert.ok(out.ok && !out.wire.includes('4801'), JSON.stringify(out));
      assert.deepEqual(out, reference(body, { tenant: 'acme' }, new RemoteWriteLabelCache()));
    }
  });

  const name = fc.constantFrom('__name__', 'job', 'instance', 'tenant_id', 'le', '__proto__', 'bad-name');
  const value = fc.oneof(fc.constantFrom('up', 'node', '', 'évé', '日本', 'x\u0000y', 'a'), fc.string({ maxLength: 4 }), fc.string({ unit: 'grapheme', maxLength: 3 }));
  const labelSet = fc.array(fc.tuple(name, value), { maxLength: 4 }).map((l) => [['__name__', 'm'] as [string, string], ...l.filter(([n]) => n !== '__name__')]);
  const valueBits = fc.oneof(
    fc.double().map(bits),
    fc.constant(STALE),
    fc.constant(bits(0)),
    fc.constant(bits(-0)),
    fc.tuple(fc.nat(0xffffffff), fc.nat(0xfffff)).map(([lo, hi]): [number, number] => [lo, (0x7ff00000 | hi) >>> 0]), // NaN payloads (and ±Inf)
  );
  const timestamp = fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.constant(0), fc.integer({ min: 0, max: 2 ** 49 - 1 }));
  const seriesArb = fc.record({
    labels: labelSet,
    samples: fc.array(fc.tuple(timestamp, valueBits).map(([t, [lo, hi]]): [number, number, number] => [t, lo, hi]), { maxLength: 4 }),
    sorted: fc.boolean(),
    style: fc.constantFrom<SampleStyle>('gogo', 'gogo', 'full', 'reversed', 'twice'),
    unknown: fc.constantFrom(undefined, undefined, 'afterLabels' as const, 'betweenSamples' as const),
  }).map(({ labels, samples, sorted, style, unknown }): SeriesSpec => ({ labels, samples: sorted ? samples.sort((x, y) => x[0] - y[0]) : samples, style, unknown }));

  it('generated requests, sent twice and again later, answer the same (fast-check)', () => {
    // A small splice cache: entries are evicted, within a request too; the reference's keeps all.
    const caches = [new RemoteWriteLabelCache(6), new RemoteWriteLabelCache(50_000, 4096), new RemoteWriteLabelCache()];
    const refCache = new RemoteWriteLabelCache();
    const pool: Buffer[] = [];
    fc.assert(fc.property(
      fc.array(seriesArb, { maxLength: 6 }),
      fc.array(fc.nat(5), { maxLength: 4 }),
      fc.constantFrom('acme', 'zeta'),
      fc.constantFrom<Partial<DecodeOptions>>({}, { nowMs: 4000 }, { nowMs: 4000, retentionMs: 3500 }, { limits: { maxLabelValueBytes: 5 } }),
      fc.nat(2),
      (series, repeats, tenant, extra, which) => {
        // Some series again (the same bytes: a duplicate label set), and some of an earlier request.
        const specs = [...series, ...repeats.filter((i) => i < series.length).map((i) => series[i] as SeriesSpec)];
        const raw = request(specs);
        pool.push(raw);
        if (pool.length > 20) pool.shift();
        const options = { tenant, ...extra };
        for (const body of [raw, raw, pool[Math.floor(pool.length / 2)] as Buffer]) {
          const compressed = compressSync(body);
          assert.deepEqual(spliced(compressed, options, caches[which] as RemoteWriteLabelCache), reference(compressed, options, refCache));
        }
      },
    ), { numRuns: 2000 });
  });

  it('a sender catching up (one series per sample, label sets repeated, interleaved, out of order across series, equal timestamps) is merged on the splice, as the decoder merges it (fast-check)', () => {
    const sets = CATCH_UP_LABEL_SETS;
    const item = fc.record({ set: fc.nat(sets.length - 1), t: fc.integer({ min: 0, max: 40 }), v: fc.oneof(fc.constant(STALE), fc.double().map(bits)), style: fc.constantFrom<SampleStyle>('gogo', 'gogo', 'full', 'reversed') });
    const refCache = new RemoteWriteLabelCache();
    fc.assert(fc.property(fc.array(item, { minLength: 1, maxLength: 40 }), fc.boolean(), fc.nat(1), (items, sorted, which) => {
      const cache = which === 0 ? new RemoteWriteLabelCache() : new RemoteWriteLabelCache(2);
      const order = sorted ? [...items].sort((a, b) => a.t - b.t) : items;
      const body = compressSync(request(order.map((x): SeriesSpec => ({ labels: [...(sets[x.set] as ReadonlyArray<readonly [string, string]>)] as Array<[string, string]>, samples: [[x.t * 1000, ...x.v]], style: x.style }))));
      const options = { tenant: 'acme', nowMs: 100_000 };
      for (let round = 0; round < 2; round++) {
        const out = spliced(body, options, cache);
        assert.ok(out.ok, JSON.stringify(out));
        assert.deepEqual(out, reference(body, options, refCache), `round ${round}`);
      }
      // The splice took the request (its entries carry the encoded run), not the decoder's way.
      if (which === 0) assert.ok([...cache.forTenant('acme', DEFAULT_REMOTE_WRITE_LIMITS).entries.values()].every((e) => e.run !== undefined), 'spliced');
    }), { numRuns: 1000 });
  });

  it('mutated Prometheus-shaped requests answer the same (fast-check)', () => {
    const base = request([
      { labels: [['__name__', 'up'], ['job', 'node']], samples: [[1000, ...bits(1)], [2000, ...bits(0)]], style: 'gogo' },
      { labels: [['__name__', 'temp'], ['tenant_id', 'x']], samples: [[1000, ...STALE]], style: 'gogo' },
      { labels: [['__name__', 'up'], ['job', 'nodf']], samples: [[1000, ...bits(2)]], style: 'full' },
    ]);
    const cache = new RemoteWriteLabelCache();
    const refCache = new RemoteWriteLabelCache();
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { maxLength: 4 }), (edits) => {
      const body = Buffer.from(base);
      for (const [i, b] of edits) body[i] = b;
      const compressed = compressSync(body);
      for (let round = 0; round < 2; round++) assert.deepEqual(spliced(compressed, { tenant: 'acme' }, cache), reference(compressed, { tenant: 'acme' }, refCache));
    }), { numRuns: 3000 });
  });

  it('metadata, exemplars, and refusals before decoding go the decoder\'s way', () => {
    const cache = new RemoteWriteLabelCache();
    const series = request([{ labels: [['__name__', 'up']], samples: [[1000, ...bits(1)]], style: 'gogo' }]);
    const withExemplar = Buffer.from(series);
    const inner = [...series.subarray(2), 0x1a, 0x00];
    const exemplar = Buffer.from([0x0a, ...varint(inner.length), ...inner]);
    const metadata = Buffer.concat([series, Buffer.from([0x1a, 0x04, 0x08, 0x01, 0x12, 0x00])]);
    for (const body of [compressSync(withExemplar), compressSync(exemplar), compressSync(metadata), Buffer.from([0xff, 0xff]), compressSync(Buffer.alloc(5000))]) {
      assert.deepEqual(spliced(body, { tenant: 'acme' }, cache), reference(body, { tenant: 'acme' }, new RemoteWriteLabelCache()));
    }
    assert.deepEqual(spliced(compressSync(series), { tenant: 'acme', limits: { maxCompressedBytes: 3 } }, cache), reference(compressSync(series), { tenant: 'acme', limits: { maxCompressedBytes: 3 } }, cache));
  });
});
