/**
 * The write route's decoder (remote-write/columns.ts) against decodeRemoteWrite, the
 * reference: for every body — Prometheus-shaped, odd (unsorted, duplicated series, tenant
 * labels, empty values, metadata, exemplars), invalid or mutated byte by byte — the same
 * store input (label sets, timestamps, value bits) or the same error, with a cold and a warm
 * label cache; and the cache never crosses tenants or label limits.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compressSync } from 'snappy';
import { decodeRemoteWriteColumns, RemoteWriteLabelCache, toColumns, type ColumnarWriteRequest } from '../../src/federation/remote-write/columns.ts';
import { decodeRemoteWrite, type DecodeOptions } from '../../src/federation/remote-write/decode.ts';
import { RemoteWriteError } from '../../src/federation/remote-write/errors.ts';
import { WriteRequestType } from '../../src/federation/remote-write/schema.ts';
import { staleMarker } from '../../src/federation/stale.ts';
import { CATCH_UP_LABEL_SETS } from '../helpers/remote-write.ts';

type Outcome = { ok: true; series: Array<{ labels: Record<string, string>; ts: number[]; words: number[] }>; sampleCount: number; tenantOverridden: number } | { ok: false; kind: string; message: string; limit: string | undefined };

function outcome(fn: () => ColumnarWriteRequest): Outcome {
  try {
    const r = fn();
    return {
      ok: true,
      series: r.series.map((s) => ({ labels: { ...s.labels }, ts: Array.from(s.timestamps), words: Array.from(new Uint32Array(s.values.buffer, s.values.byteOffset, 2 * s.values.length)) })),
      sampleCount: r.sampleCount,
      tenantOverridden: r.tenantOverridden,
    };
  } catch (err) {
    if (!(err instanceof RemoteWriteError)) throw err;
    return { ok: false, kind: err.kind, message: err.message, limit: err.limit };
  }
}

/** decodeRemoteWriteColumns (cold cache, then warm) equals decodeRemoteWrite's result as columns, or its error. */
function assertSame(body: Buffer, options: DecodeOptions, cache = new RemoteWriteLabelCache()): Outcome {
  const reference = outcome(() => toColumns(decodeRemoteWrite(body, options)));
  assert.deepEqual(outcome(() => decodeRemoteWriteColumns(body, options, cache)), reference, 'cold cache');
  assert.deepEqual(outcome(() => decodeRemoteWriteColumns(body, options, cache)), reference, 'warm cache');
  return reference;
}

interface Spec { labels: Array<[string, string]>; samples: Array<[number, number | 'stale']>; exemplars?: number }

function raw(series: Spec[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(WriteRequestType.encode(WriteRequestType.fromObject({
    timeseries: series.map((s) => ({
      labels: s.labels.map(([name, value]) => ({ name: Buffer.from(name), value: Buffer.from(value) })),
      samples: s.samples.map(([timestamp, value]) => ({ timestamp, value: value === 'stale' ? staleMarker() : value })),
      exemplars: Array.from({ length: s.exemplars ?? 0 }, () => ({})),
    })),
    ...extra,
  })).finish());
}

const T = 'acme';

describe('remote-write columns decoder (the write route) equals decodeRemoteWrite', () => {
  it('Prometheus-shaped requests: the same series, values bit for bit (stale markers, NaN, ±Inf), and cached label sets are shared frozen objects', () => {
    const body = compressSync(raw([
      { labels: [['__name__', 'up'], ['instance', 'a:9100'], ['job', 'node']], samples: [[1000, 1], [2000, NaN], [3000, Infinity], [4000, 'stale']] },
      { labels: [['__name__', 'temp'], ['site', ''], ['tenant_id', 'other']], samples: [[1000, -Infinity], [1000, 2]] },
      { labels: [['__name__', 'empty']], samples: [] },
    ]));
    const cache = new RemoteWriteLabelCache();
    const r = assertSame(body, { tenant: T, nowMs: 5000 }, cache);
    assert.ok(r.ok);
    assert.deepEqual(r.series.map((s) => s.labels), [{ __name__: 'up', instance: 'a:9100', job: 'node', tenant_id: T }, { __name__: 'temp', tenant_id: T }]);
    assert.deepEqual(r.series[0]?.words.slice(6), [2, 0x7ff00000], 'the stale marker, bit-exact');
    assert.equal(r.tenantOverridden, 1);
    assert.equal(r.sampleCount, 6);
    const a = decodeRemoteWriteColumns(body, { tenant: T }, cache);
    const b = decodeRemoteWriteColumns(body, { tenant: T }, cache);
    assert.equal(a.series[0]?.labels, b.series[0]?.labels, 'the label set came from the cache');
    assert.ok(Object.isFrozen(a.series[0]?.labels));
  });

  it('bytes sent by a real Prometheus (2.42, fixtures) take the fast path: the second request\'s label sets are the cached ones', () => {
    const samples = readFileSync(new URL('fixtures/remote-write-prometheus-1.bin', import.meta.url));
    const cache = new RemoteWriteLabelCache();
    const r = assertSame(samples, { tenant: T }, cache);
    assert.ok(r.ok && r.series.length === 10 && r.tenantOverridden === 1);
    const again = decodeRemoteWriteColumns(samples, { tenant: T }, cache);
    const third = decodeRemoteWriteColumns(samples, { tenant: T }, cache);
    assert.equal(third.series.length, 10);
    third.series.forEach((s, i) => assert.equal(s.labels, again.series[i]?.labels));
    // The metadata request is decoded the long way, with the same answer.
    assertSame(readFileSync(new URL('fixtures/remote-write-prometheus-0.bin', import.meta.url)), { tenant: T }, cache);
  });

  it('a request inflating past 64 KiB (snappy copies its output) answers the same, cold and warm; label bytes differing in one byte are two entries', () => {
    const series: Spec[] = Array.from({ length: 2500 }, (_, i) => ({ labels: [['__name__', `m_${i % 9}`], ['instance', `host-${i}:9100`], ['job', 'évé'], ['tenant_id', 'x']], samples: [[1000 + i, i], [2000 + i, 'stale']] }));
    const body = raw(series);
    assert.ok(body.length > 64 * 1024);
    const cache = new RemoteWriteLabelCache();
    const r = assertSame(compressSync(body), { tenant: T }, cache);
    assert.ok(r.ok && r.series.length === 2500 && r.tenantOverridden === 2500);
    const a = compressSync(raw([{ labels: [['__name__', 'up'], ['job', 'ab']], samples: [[1, 1]] }]));
    const b = compressSync(raw([{ labels: [['__name__', 'up'], ['job', 'ac']], samples: [[1, 1]] }]));
    for (let i = 0; i < 2; i++) {
      assert.equal(decodeRemoteWriteColumns(a, { tenant: T }, cache).series[0]?.labels.job, 'ab');
      assert.equal(decodeRemoteWriteColumns(b, { tenant: T }, cache).series[0]?.labels.job, 'ac');
    }
  });

  it('the cache is per tenant and per label limits', () => {
    const cache = new RemoteWriteLabelCache();
    const body = compressSync(raw([{ labels: [['__name__', 'up'], ['job', 'a-long-value'], ['tenant_id', 'x']], samples: [[1, 1]] }]));
    assert.equal(decodeRemoteWriteColumns(body, { tenant: 'a' }, cache).series[0]?.labels.tenant_id, 'a');
    assert.equal(decodeRemoteWriteColumns(body, { tenant: 'b' }, cache).series[0]?.labels.tenant_id, 'b');
    const tight = outcome(() => decodeRemoteWriteColumns(body, { tenant: 'a', limits: { maxLabelValueBytes: 5 } }, cache));
    assert.ok(!tight.ok && tight.limit === 'maxLabelValueBytes', JSON.stringify(tight));
    assert.equal(decodeRemoteWriteColumns(body, { tenant: 'a' }, cache).series[0]?.labels.job, 'a-long-value');
  });

  it('a full cache starts over and keeps answering', () => {
    const cache = new RemoteWriteLabelCache(3);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 10; i++) {
        const body = compressSync(raw([{ labels: [['__name__', 'm'], ['i', String(i)]], samples: [[1, i]] }]));
        assert.deepEqual(decodeRemoteWriteColumns(body, { tenant: T }, cache).series[0]?.labels, { __name__: 'm', i: String(i), tenant_id: T });
      }
    }
  });

  it('a full cache empties the tenant holding the most, not every tenant: one tenant churning series keeps the others\' entries', () => {
    const cache = new RemoteWriteLabelCache(10);
    const series = (i: number) => compressSync(raw([{ labels: [['__name__', 'm'], ['i', String(i)]], samples: [[1, i]] }]));
    const quiet = [0, 1, 2].map((i) => decodeRemoteWriteColumns(series(i), { tenant: 'quiet' }, cache).series[0]?.labels);
    for (let i = 100; i < 160; i++) decodeRemoteWriteColumns(series(i), { tenant: 'noisy' }, cache);
    [0, 1, 2].forEach((i) => assert.equal(decodeRemoteWriteColumns(series(i), { tenant: 'quiet' }, cache).series[0]?.labels, quiet[i], `quiet series ${i} still cached`));
    // The noisy tenant is still served (from a cache it empties itself), never refused.
    assert.deepEqual(decodeRemoteWriteColumns(series(100), { tenant: 'noisy' }, cache).series[0]?.labels, { __name__: 'm', i: '100', tenant_id: 'noisy' });
  });

  it('the cache is bounded by the label text it holds, not only by its entries (a label set may be ~150 KB)', () => {
    const cache = new RemoteWriteLabelCache(50_000, 100_000);
    const wide: DecodeOptions = { tenant: T, limits: { maxLabelValueBytes: 100_000 } };
    const big = (v: string) => compressSync(raw([{ labels: [['__name__', 'm'], ['v', v.repeat(20_000)]], samples: [[1, 1]] }]));
    const a = big('a');
    const first = decodeRemoteWriteColumns(a, wide, cache).series[0]?.labels;
    assert.equal(decodeRemoteWriteColumns(a, wide, cache).series[0]?.labels, first, 'held while within the budget');
    const b = decodeRemoteWriteColumns(big('b'), wide, cache).series[0]?.labels;
    assert.equal(b?.v, 'b'.repeat(20_000));
    const again = decodeRemoteWriteColumns(a, wide, cache).series[0]?.labels;
    assert.deepEqual(again, first);
    assert.notEqual(again, first, 'the second large label set emptied the cache');
    // One label set over the whole budget is never held.
    const huge = compressSync(raw([{ labels: [['__name__', 'm'], ['v', 'c'.repeat(60_000)]], samples: [[1, 1]] }]));
    const h = decodeRemoteWriteColumns(huge, wide, cache).series[0]?.labels;
    assert.notEqual(decodeRemoteWriteColumns(huge, wide, cache).series[0]?.labels, h);
    assertSame(huge, wide, cache);
  });

  it('odd but valid requests (unsorted samples, a label set twice, unsorted labels, metadata, exemplars) and invalid ones answer the same', () => {
    const cases: Buffer[] = [
      raw([{ labels: [['__name__', 'up']], samples: [[3000, 3], [1000, 1]] }]),
      raw([{ labels: [['__name__', 'up']], samples: [[1000, 1]] }, { labels: [['tenant_id', 'z'], ['__name__', 'up']], samples: [[2000, 2]] }]),
      raw([{ labels: [['job', 'x'], ['__name__', 'up']], samples: [[1000, 1]] }]),
      raw([{ labels: [['__name__', 'up']], samples: [[1000, 1]], exemplars: 1 }]),
      raw([{ labels: [['__name__', 'up']], samples: [[1000, 1]] }], { metadata: [{ type: 1, metricFamilyName: Buffer.from('up'), help: Buffer.from('h'), unit: Buffer.from('') }] }),
      raw([{ labels: [['__name__', 'up']], samples: [[-5, 1]] }]),
      raw([{ labels: [['__name__', 'up']], samples: [[2 ** 52, 1]] }]),
      raw([{ labels: [['__name__', 'up'], ['job', 'a'], ['job', 'b']], samples: [[1, 1]] }]),
      raw([{ labels: [['job', 'a']], samples: [[1, 1]] }]),
      raw([{ labels: [['__name__', '9bad']], samples: [[1, 1]] }]),
      raw([{ labels: [['__name__', 'up'], ['bad-name', 'a']], samples: [[1, 1]] }]),
      raw([{ labels: [['__name__', 'up']], samples: [[1, 1]] }, { labels: [['__name__', 'up']], samples: [[10_000_000, 1]] }]),
      raw([]),
    ];
    for (const body of cases) assertSame(compressSync(body), { tenant: T, nowMs: 1_000_000 });
    // The same label bytes valid first, then sent with a sample too far ahead.
    const cache = new RemoteWriteLabelCache();
    assertSame(compressSync(raw([{ labels: [['__name__', 'up']], samples: [[1, 1]] }])), { tenant: T, nowMs: 1_000_000 }, cache);
    assertSame(compressSync(raw([{ labels: [['__name__', 'up']], samples: [[5_000_000, 1]] }])), { tenant: T, nowMs: 1_000_000 }, cache);
    // Samples older than the retention (the embedded store's cut), in the first series or a later one, first or last of it.
    const retention = { tenant: T, nowMs: 1_000_000, retentionMs: 600_000 };
    for (const series of [
      [{ labels: [['__name__', 'up']], samples: [[399_999, 1], [500_000, 2]] }],
      [{ labels: [['__name__', 'up']], samples: [[400_000, 1]] }, { labels: [['__name__', 'down']], samples: [[500_000, 1], [300_000, 2]] }],
      [{ labels: [['__name__', 'up']], samples: [[400_000, 1]] }, { labels: [['__name__', 'up']], samples: [[1, 1]] }],
      [{ labels: [['__name__', 'up']], samples: [[1, 1], [5_000_000, 1]] }],
      [{ labels: [['__name__', 'up']], samples: [[400_000, 1], [5_000_000, 1]] }, { labels: [['__name__', 'x']], samples: [[1, 1]] }],
    ] as Spec[][]) {
      const r = assertSame(compressSync(raw(series)), retention, cache);
      assert.equal(r.ok, false);
    }
    assert.equal(assertSame(compressSync(raw([{ labels: [['__name__', 'up']], samples: [[400_000, 1]] }])), retention, cache).ok, true, 'the cut itself is kept');
  });

  it('a tag or length protobufjs reads as uint32 differently from the wire scan (over 2^32, longer than 5 bytes) is refused by both, never a series the scan did not count', () => {
    const good = raw([{ labels: [['__name__', 'up']], samples: [[1, 1]] }]);
    // A TimeSeries' payload (its tag and one-byte length stripped), with a label name the reference refuses.
    const hidden = raw([{ labels: [['__name__', 'up'], ['bad name', 'x']], samples: [[2, 2]] }]).subarray(2);
    const bodies = [
      // Tag 2^32 + 10: an unknown field to a 64-bit reader, field 1 (a series) to protobufjs's uint32.
      Buffer.concat([good, Buffer.from([0x8a, 0x80, 0x80, 0x80, 0x10, hidden.length]), hidden]),
      // A series length in 6 bytes (non-minimal): protobufjs consumes 10.
      Buffer.concat([good, Buffer.from([0x0a, 0x80 | hidden.length, 0x80, 0x80, 0x80, 0x80, 0x00]), hidden]),
      // A label's tag over 2^32 inside a series: the scan's label count would miss it.
      Buffer.concat([Buffer.from([0x0a, good.length - 2 + 6]), good.subarray(2), Buffer.from([0x8a, 0x80, 0x80, 0x80, 0x10, 0x00])]),
    ];
    for (const body of bodies) {
      const out = assertSame(compressSync(body), { tenant: T });
      assert.ok(!out.ok && out.kind === 'malformed' && out.message.includes('32-bit'), JSON.stringify(out));
    }
  });

  it('a label value starting with U+FEFF keeps it (TextDecoder would strip it as a byte order mark): two series stay two, a metric name with it is refused', () => {
    const body = compressSync(raw([
      { labels: [['__name__', 'up'], ['job', '\uFEFFnode']], samples: [[1, 1]] },
      { labels: [['__name__', 'up'], ['job', 'node']], samples: [[1, 2]] },
      { labels: [['__name__', 'up'], ['job', '\uFEFF']], samples: [[1, 3]] },
    ]));
    const out = assertSame(body, { tenant: T });
    assert.ok(out.ok, JSON.stringify(out));
    assert.deepEqual(out.series.map((s) => s.labels.job), ['\uFEFFnode', 'node', '\uFEFF']);
    const named = assertSame(compressSync(raw([{ labels: [['__name__', '\uFEFFup']], samples: [[1, 1]] }])), { tenant: T });
    assert.ok(!named.ok && named.message.includes('invalid metric name'), JSON.stringify(named));
  });

  const name = fc.constantFrom('__name__', 'job', 'instance', 'tenant_id', 'le', 'a_b', 'bad-name', '');
  const value = fc.oneof(fc.constantFrom('up', 'node', '', 'x:1', 'évé', 'other'), fc.string({ maxLength: 6 }));
  const spec = fc.record({
    labels: fc.array(fc.tuple(name, value), { maxLength: 5 }),
    samples: fc.array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: -3, max: 2 ** 53 - 1 })), fc.oneof(fc.double(), fc.constant<'stale'>('stale'))), { maxLength: 4 }),
  });

  it('generated requests answer the same (fast-check)', () => {
    const cache = new RemoteWriteLabelCache(20);
    fc.assert(fc.property(fc.array(spec, { maxLength: 5 }), fc.constantFrom('acme', 'zeta'), fc.boolean(), (series, tenant, retention) => {
      assertSame(compressSync(raw(series)), { tenant, nowMs: 4000, limits: { maxLabelValueBytes: 5 }, ...(retention ? { retentionMs: 3000 } : {}) }, cache);
    }), { numRuns: 1500 });
  });

  it('a sender catching up (one series per sample, label sets repeated, in any order, equal timestamps) is merged as decodeRemoteWrite merges it, on the fast path (fast-check)', () => {
    const sets = CATCH_UP_LABEL_SETS;
    const cache = new RemoteWriteLabelCache();
    const item = fc.record({ set: fc.nat(sets.length - 1), t: fc.integer({ min: 0, max: 40 }), v: fc.oneof(fc.double(), fc.constant<'stale'>('stale')) });
    fc.assert(fc.property(fc.array(item, { minLength: 1, maxLength: 40 }), fc.boolean(), (items, sorted) => {
      const order = sorted ? [...items].sort((a, b) => a.t - b.t) : items;
      const body = compressSync(raw(order.map((x) => ({ labels: [...(sets[x.set] as ReadonlyArray<readonly [string, string]>)] as Array<[string, string]>, samples: [[x.t * 1000, x.v]] }))));
      const out = assertSame(body, { tenant: T, nowMs: 100_000 }, cache);
      assert.ok(out.ok);
      const fast = decodeRemoteWriteColumns(body, { tenant: T, nowMs: 100_000 }, cache);
      assert.ok(fast.series.every((s) => Object.isFrozen(s.labels)), 'the fast path (label sets from the cache)');
    }), { numRuns: 1000 });
  });

  it('mutated Prometheus-shaped requests answer the same (fast-check)', () => {
    const base = raw([
      { labels: [['__name__', 'up'], ['job', 'node']], samples: [[1000, 1], [2000, 2]] },
      { labels: [['__name__', 'temp'], ['tenant_id', 'x']], samples: [[1000, 'stale']] },
    ]);
    const cache = new RemoteWriteLabelCache();
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { maxLength: 4 }), (edits) => {
      const body = Buffer.from(base);
      for (const [i, b] of edits) body[i] = b;
      assertSame(compressSync(body), { tenant: T }, cache);
    }), { numRuns: 3000 });
  });
});

describe('remote-write: distinct label sets stay distinct series', () => {
  // A value holding the key's separators (\u0001, NUL — valid UTF-8, forwarded to the engine in
  // upstream mode) made {a="x\u0001b\u0000y"} and {a="x", b="y"} one merge key: the second
  // series' samples were sent, and acknowledged, under the first series' labels.
  const body = () => compressSync(raw([
    { labels: [['__name__', 'up'], ['a', 'x\u0001b\u0000y']], samples: [[1000, 1]] },
    { labels: [['__name__', 'up'], ['a', 'x'], ['b', 'y']], samples: [[2000, 2]] },
  ]));
  const expected = [
    { labels: { __name__: 'up', a: 'x\u0001b\u0000y', tenant_id: T }, ts: [1000] },
    { labels: { __name__: 'up', a: 'x', b: 'y', tenant_id: T }, ts: [2000] },
  ];
  const shape = (r: ColumnarWriteRequest) => r.series.map((s) => ({ labels: { ...s.labels }, ts: Array.from(s.timestamps) }));

  it('decodeRemoteWrite keeps them apart', () => {
    assert.deepEqual(shape(toColumns(decodeRemoteWrite(body(), { tenant: T }))), expected);
  });

  it('the columns decoder (cold and warm cache) keeps them apart', () => {
    const cache = new RemoteWriteLabelCache();
    assert.deepEqual(shape(decodeRemoteWriteColumns(body(), { tenant: T }, cache)), expected, 'cold');
    assert.deepEqual(shape(decodeRemoteWriteColumns(body(), { tenant: T }, cache)), expected, 'warm');
  });
});

describe('remote-write: a label named __proto__ is a label', () => {
  // A valid Prometheus label name. Label records built by assignment took it for the record's
  // prototype (a no-op for a string): the label vanished, {__proto__="a"} and {__proto__="b"}
  // became one series, and their samples were stored under it, or refused as conflicts.
  const body = (sorted: boolean) => compressSync(raw([
    { labels: [['__name__', 'up'], ['__proto__', 'a']], samples: sorted ? [[1000, 1]] : [[2000, 1], [1000, 1]] },
    { labels: [['__name__', 'up'], ['__proto__', 'b']], samples: [[1000, 2]] },
  ]));
  const own = (r: ColumnarWriteRequest) => r.series.map((s) => Object.entries(s.labels));
  const expected = (ts: number) => [[['__name__', 'up'], ['__proto__', 'a'], ['tenant_id', T]], [['__name__', 'up'], ['__proto__', 'b'], ['tenant_id', T]]].slice(0, ts);

  it('decodeRemoteWrite\'s columns and the columns decoder (fast path, and the slow one for unsorted samples) keep it as an own label', () => {
    for (const sorted of [true, false]) {
      assert.deepEqual(own(toColumns(decodeRemoteWrite(body(sorted), { tenant: T }))), expected(2), `reference, sorted ${sorted}`);
      const cache = new RemoteWriteLabelCache();
      assert.deepEqual(own(decodeRemoteWriteColumns(body(sorted), { tenant: T }, cache)), expected(2), `cold, sorted ${sorted}`);
      assert.deepEqual(own(decodeRemoteWriteColumns(body(sorted), { tenant: T }, cache)), expected(2), `warm, sorted ${sorted}`);
    }
  });
});
