import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compressSync } from 'snappy';
import { checkRemoteWriteHeaders } from '../../src/federation/remote-write/content-type.ts';
import { decodeRemoteWrite, DEFAULT_REMOTE_WRITE_LIMITS, snappyDecompressedLength } from '../../src/federation/remote-write/decode.ts';
import { RemoteWriteError, type RemoteWriteLimits } from '../../src/federation/remote-write/errors.ts';
import { WriteRequestType } from '../../src/federation/remote-write/schema.ts';
import { isStaleMarker, staleMarker } from '../../src/federation/stale.ts';

type Series = { labels: Array<[string, string]>; samples: Array<[number, number | 'stale']>; histograms?: number; exemplars?: number };

function encode(series: Series[], extra: Record<string, unknown> = {}): Buffer {
  const msg = WriteRequestType.fromObject({
    timeseries: series.map((s) => ({
      labels: s.labels.map(([name, value]) => ({ name: Buffer.from(name), value: Buffer.from(value) })),
      // The stale marker is made at encode time: V8 canonicalizes NaN payloads stored in double arrays.
      samples: s.samples.map(([timestamp, value]) => ({ timestamp, value: value === 'stale' ? staleMarker() : value })),
      histograms: Array.from({ length: s.histograms ?? 0 }, () => ({})),
      exemplars: Array.from({ length: s.exemplars ?? 0 }, () => ({})),
    })),
    ...extra,
  });
  return compressSync(Buffer.from(WriteRequestType.encode(msg).finish()));
}

function rwError(fn: () => unknown): RemoteWriteError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof RemoteWriteError, `threw ${String(err)}`);
    return err;
  }
  assert.fail('no error');
}

const T = 'acme';

describe('remote-write decoding: round trip', () => {
  it('decodes series, forces the tenant, sorts labels, keeps NaN, ±Inf and the stale marker', () => {
    const body = encode([
      { labels: [['job', 'node'], ['__name__', 'up'], ['tenant_id', 'other']], samples: [[1000, 1], [2000, NaN], [3000, Infinity], [4000, 'stale']] },
      { labels: [['__name__', 'temp'], ['tenant_id', ''], ['site', '']], samples: [[1000, -Infinity]], exemplars: 2 },
    ]);
    const r = decodeRemoteWrite(body, { tenant: T });
    assert.equal(r.sampleCount, 5);
    assert.equal(r.tenantOverridden, 2);
    assert.equal(r.ignoredExemplars, 2);
    assert.deepEqual(r.series[0]?.labels, [{ name: '__name__', value: 'up' }, { name: 'job', value: 'node' }, { name: 'tenant_id', value: T }]);
    assert.deepEqual(r.series[1]?.labels, [{ name: '__name__', value: 'temp' }, { name: 'tenant_id', value: T }]);
    const values = r.series[0]?.samples.map((s) => s.value) ?? [];
    assert.equal(values[0], 1);
    assert.ok(Number.isNaN(values[1]) && !isStaleMarker(values[1] as number));
    assert.equal(values[2], Infinity);
    assert.ok(isStaleMarker(r.series[0]?.samples[3]?.value as number), 'the stale marker keeps its bit pattern');
    assert.deepEqual(r.series[0]?.samples.map((s) => s.timestampMs), [1000, 2000, 3000, 4000]);
    assert.equal(r.series[1]?.samples[0]?.value, -Infinity);
  });

  it('merges series that become identical once the tenant is forced, samples in time order', () => {
    const body = encode([
      { labels: [['__name__', 'up'], ['tenant_id', 'a']], samples: [[3000, 3]] },
      { labels: [['__name__', 'up'], ['tenant_id', 'b']], samples: [[1000, 1], [2000, 2]] },
    ]);
    const r = decodeRemoteWrite(body, { tenant: T });
    assert.equal(r.series.length, 1);
    assert.deepEqual(r.series[0]?.samples, [{ timestampMs: 1000, value: 1 }, { timestampMs: 2000, value: 2 }, { timestampMs: 3000, value: 3 }]);
  });

  it('leaves out series without samples but validates them', () => {
    const r = decodeRemoteWrite(encode([{ labels: [['__name__', 'up']], samples: [] }]), { tenant: T });
    assert.equal(r.series.length, 0);
    assert.equal(r.emptySeries, 1);
    assert.equal(rwError(() => decodeRemoteWrite(encode([{ labels: [['job', 'x']], samples: [] }]), { tenant: T })).kind, 'malformed');
  });

  it('decodes metadata-only requests', () => {
    const body = encode([], { metadata: [{ type: 1, metricFamilyName: Buffer.from('http_requests_total'), help: Buffer.from('Requests.'), unit: Buffer.from('') }] });
    const r = decodeRemoteWrite(body, { tenant: T });
    assert.deepEqual(r.metadata, [{ metricFamilyName: 'http_requests_total', type: 'counter', help: 'Requests.', unit: '' }]);
    assert.equal(r.series.length, 0);
  });
});

describe('remote-write decoding: bytes sent by a real Prometheus (2.42, fixtures)', () => {
  it('a samples request: the scraped target series, tenant forced over the target\'s own tenant_id', () => {
    const body = readFileSync(new URL('fixtures/remote-write-prometheus-1.bin', import.meta.url));
    const r = decodeRemoteWrite(body, { tenant: T });
    const byKey = new Map(r.series.map((s) => [s.labels.filter((l) => l.name !== 'instance').map((l) => `${l.name}=${l.value}`).join(','), s.samples]));
    assert.equal(byKey.get('__name__=probectl_fixture_gauge,job=fixture,site=lab,tenant_id=acme')?.[0]?.value, 42.5);
    assert.equal(byKey.get('__name__=probectl_fixture_requests_total,job=fixture,path=/a"b\\c,tenant_id=acme')?.[0]?.value, 7);
    assert.ok(Number.isNaN(byKey.get('__name__=probectl_fixture_special,job=fixture,kind=nan,tenant_id=acme')?.[0]?.value));
    assert.equal(byKey.get('__name__=probectl_fixture_special,job=fixture,kind=inf,tenant_id=acme')?.[0]?.value, Infinity);
    assert.equal(byKey.get('__name__=probectl_fixture_special,job=fixture,kind=neg,tenant_id=acme')?.[0]?.value, -0.25);
    assert.equal(byKey.get('__name__=up,job=fixture,tenant_id=acme')?.[0]?.value, 1);
    assert.equal(r.series.length, 10);
    assert.equal(r.tenantOverridden, 1);
    for (const s of r.series) {
      assert.deepEqual(s.labels.filter((l) => l.name === 'tenant_id'), [{ name: 'tenant_id', value: T }]);
      assert.ok(Number.isSafeInteger(s.samples[0]?.timestampMs) && (s.samples[0]?.timestampMs ?? 0) > 1.6e12);
    }
  });
  it('a metadata request', () => {
    const body = readFileSync(new URL('fixtures/remote-write-prometheus-0.bin', import.meta.url));
    const r = decodeRemoteWrite(body, { tenant: T });
    assert.deepEqual(r.metadata, [
      { metricFamilyName: 'probectl_fixture_gauge', type: 'gauge', help: 'A gauge with a foreign tenant_id label.', unit: '' },
      { metricFamilyName: 'probectl_fixture_requests_total', type: 'counter', help: '', unit: '' },
    ]);
  });
});

describe('remote-write decoding: limits', () => {
  const ok: Series = { labels: [['__name__', 'up'], ['job', 'node']], samples: [[1, 1], [2, 2]] };
  const cases: Array<[keyof RemoteWriteLimits, number, Series[]]> = [
    ['maxSeries', 2, [ok, ok, ok]],
    ['maxSamples', 5, [ok, ok, ok]],
    ['maxLabelsPerSeries', 2, [{ ...ok, labels: [['__name__', 'up'], ['a', '1'], ['b', '2']] }]],
    ['maxLabelNameBytes', 4, [{ ...ok, labels: [['__name__', 'up'], ['abcde', '1']] }]],
    ['maxLabelValueBytes', 4, [{ ...ok, labels: [['__name__', 'up'], ['a', 'é123']] }]],
  ];
  for (const [limit, value, series] of cases) {
    it(`${limit}: refused with a 400 naming the limit; accepted at the limit`, () => {
      const err = rwError(() => decodeRemoteWrite(encode(series), { tenant: T, limits: { [limit]: value } }));
      assert.equal(err.kind, 'over-limit');
      assert.equal(err.limit, limit);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'PROBECTL_ERR_METRICS_WRITE_LIMIT');
      assert.match(err.message, new RegExp(`${limit} \\(${value}\\)`));
      assert.doesNotThrow(() => decodeRemoteWrite(encode(series.slice(0, 1)), { tenant: T, limits: { [limit]: limit === 'maxLabelValueBytes' ? 5 : limit === 'maxLabelNameBytes' ? 8 : limit === 'maxLabelsPerSeries' ? 3 : value } }));
    });
  }
  it('maxCompressedBytes', () => {
    const body = encode([ok]);
    const err = rwError(() => decodeRemoteWrite(body, { tenant: T, limits: { maxCompressedBytes: body.length - 1 } }));
    assert.equal(err.limit, 'maxCompressedBytes');
    assert.doesNotThrow(() => decodeRemoteWrite(body, { tenant: T, limits: { maxCompressedBytes: body.length } }));
  });
  it('maxDecompressedBytes is checked on the snappy header before inflating (decompression bomb)', () => {
    // A 6-byte body announcing 4 GiB - 1: refused from the header alone.
    const bomb = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
    assert.equal(snappyDecompressedLength(bomb), 2 ** 32 - 1);
    const err = rwError(() => decodeRemoteWrite(bomb, { tenant: T }));
    assert.equal(err.limit, 'maxDecompressedBytes');
    // A real highly compressible body: 1 MiB of zeros in ~50 KB.
    const zeros = compressSync(Buffer.alloc(1024 * 1024));
    assert.ok(zeros.length < 60_000);
    const e2 = rwError(() => decodeRemoteWrite(zeros, { tenant: T, limits: { maxDecompressedBytes: 512 * 1024 } }));
    assert.equal(e2.limit, 'maxDecompressedBytes');
    assert.match(e2.message, /1048576 bytes/);
  });
  it('count limits are checked on the wire: a body of millions of empty messages is refused before one object is built', (t) => {
    // n two-byte empty messages (tag, length 0) of field `tag`, optionally inside one TimeSeries.
    const varint = (x: number) => { const out: number[] = []; while (x >= 0x80) { out.push((x & 0x7f) | 0x80); x = Math.floor(x / 128); } out.push(x); return out; };
    const empties = (tagByte: number, n: number) => {
      const out = Buffer.alloc(2 * n);
      for (let i = 0; i < n; i++) out[2 * i] = tagByte;
      return out;
    };
    const inSeries = (inner: Buffer) => Buffer.concat([Buffer.from([0x0a, ...varint(inner.length)]), inner]);
    const n = 1_000_000;
    const decode = t.mock.method(WriteRequestType, 'decode');
    const bombs: Array<[string, Buffer, keyof RemoteWriteLimits, RegExp]> = [
      ['series', empties(0x0a, n), 'maxSeries', /1000000 series/],
      ['labels', inSeries(empties(0x0a, n)), 'maxLabelsPerSeries', /series 0 has 1000000 labels/],
      ['samples', inSeries(empties(0x12, n)), 'maxSamples', /1000000 samples/],
      ['exemplars', inSeries(empties(0x1a, n)), 'maxSamples', /1000000 exemplars/],
      ['histograms', inSeries(empties(0x22, n)), 'maxSamples', /1000000 native histogram samples/],
      ['metadata', empties(0x1a, n), 'maxSeries', /metadata entries/],
    ];
    for (const [what, raw, limit, message] of bombs) {
      const body = compressSync(raw);
      assert.ok(body.length < 100_000, `${what}: a small body`);
      const err = rwError(() => decodeRemoteWrite(body, { tenant: T }));
      assert.deepEqual([err.kind, err.limit, err.status], ['over-limit', limit, 400], `${what}: ${err.message}`);
      assert.match(err.message, message);
    }
    assert.equal(decode.mock.callCount(), 0, 'protobufjs never ran on a body over a count limit');
    // Wire-level garbage is malformed, as protobufjs would have it.
    for (const raw of [Buffer.from([0x0a, 0x05, 0x01]), Buffer.from([0x08, 0x01]), Buffer.from([0x0b]), Buffer.from([0x0a, 0x02, 0x10, 0x01]), Buffer.from([0x0f]), Buffer.from([0x0a, 0x80])]) {
      const err = rwError(() => decodeRemoteWrite(compressSync(raw), { tenant: T }));
      assert.deepEqual([err.kind, err.status], ['malformed', 400], `${raw.toString('hex')}: ${err.message}`);
    }
    // Unknown fields are skipped, as protobufjs and Go skip them.
    const withUnknown = Buffer.concat([Buffer.from([0x28, 0x07, 0x31, 1, 2, 3, 4, 5, 6, 7, 8]), inSeries(Buffer.from([0x0a, 0x0c, 0x0a, 0x08, ...Buffer.from('__name__'), 0x12, 0x00, 0x2d, 1, 2, 3, 4]))]);
    assert.match(rwError(() => decodeRemoteWrite(compressSync(withUnknown), { tenant: T })).message, /series 0 has no __name__ label/, 'past the wire scan into validation');
  });
  it('limits must be positive integers', () => {
    assert.throws(() => decodeRemoteWrite(encode([ok]), { tenant: T, limits: { maxSeries: 0 } }), TypeError);
  });
  it('defaults', () => {
    assert.deepEqual(DEFAULT_REMOTE_WRITE_LIMITS, { maxCompressedBytes: 4194304, maxDecompressedBytes: 33554432, maxSeries: 10000, maxSamples: 50000, maxLabelsPerSeries: 64, maxLabelNameBytes: 256, maxLabelValueBytes: 2048 });
  });
});

describe('remote-write decoding: validation', () => {
  const cases: Array<[string, Series[], RegExp]> = [
    ['no __name__', [{ labels: [['job', 'x']], samples: [[1, 1]] }], /no __name__ label/],
    ['empty __name__', [{ labels: [['__name__', '']], samples: [[1, 1]] }], /no __name__ label/],
    ['invalid metric name', [{ labels: [['__name__', 'a-b']], samples: [[1, 1]] }], /invalid metric name "a-b"/],
    ['invalid label name', [{ labels: [['__name__', 'up'], ['1abc', 'x']], samples: [[1, 1]] }], /invalid label name "1abc"/],
    ['UTF-8 label name', [{ labels: [['__name__', 'up'], ['lab.el', 'x']], samples: [[1, 1]] }], /invalid label name "lab.el"/],
    ['duplicate label', [{ labels: [['__name__', 'up'], ['job', 'a'], ['job', 'b']], samples: [[1, 1]] }], /label name "job" twice/],
    ['duplicate tenant_id', [{ labels: [['__name__', 'up'], ['tenant_id', 'a'], ['tenant_id', 'b']], samples: [[1, 1]] }], /label name "tenant_id" twice/],
    ['native histograms', [{ labels: [['__name__', 'h']], samples: [], histograms: 1 }], /native histogram.*send_native_histograms: false/],
  ];
  for (const [name, series, message] of cases) {
    it(name, () => {
      const err = rwError(() => decodeRemoteWrite(encode(series), { tenant: T }));
      assert.equal(err.kind, 'malformed');
      assert.equal(err.status, 400);
      assert.match(err.message, message);
    });
  }
  it('invalid UTF-8 in a label value', () => {
    const msg = WriteRequestType.fromObject({ timeseries: [{ labels: [{ name: Buffer.from('__name__'), value: Buffer.from('up') }, { name: Buffer.from('job'), value: Buffer.from([0xc3, 0x28]) }], samples: [{ timestamp: 1, value: 1 }] }] });
    const err = rwError(() => decodeRemoteWrite(compressSync(Buffer.from(WriteRequestType.encode(msg).finish())), { tenant: T }));
    assert.match(err.message, /value of label "job" of series 0 is not valid UTF-8/);
  });
  it('a sample too far in the future, when now is given', () => {
    const body = encode([{ labels: [['__name__', 'up']], samples: [[2_000_000, 1]] }]);
    assert.match(rwError(() => decodeRemoteWrite(body, { tenant: T, nowMs: 1_000_000 })).message, /too far in the future/);
    assert.doesNotThrow(() => decodeRemoteWrite(body, { tenant: T, nowMs: 1_500_000 }));
  });
  it('a sample older than now − retentionMs, when both are given (the embedded store); the cut itself is kept, as the retention job keeps it', () => {
    const body = encode([
      { labels: [['__name__', 'up'], ['job', 'label-value-not-echoed']], samples: [[900_000, 1]] },
      { labels: [['__name__', 'up'], ['job', 'label-value-not-echoed']], samples: [[400_000, 1], [499_999, 2], [900_000, 3]] },
    ]);
    const err = rwError(() => decodeRemoteWrite(body, { tenant: T, nowMs: 1_000_000, retentionMs: 500_000 }));
    assert.deepEqual([err.kind, err.status, err.code], ['malformed', 400, 'PROBECTL_ERR_METRICS_WRITE_MALFORMED']);
    assert.equal(err.message, 'series 1 has a sample at 1970-01-01T00:06:40.000Z, older than PROBECTL_METRICS_RETENTION (500s) allows: samples before 1970-01-01T00:08:20.000Z are not kept (nothing of this request was stored)');
    const atCut = encode([{ labels: [['__name__', 'up']], samples: [[500_000, 1], [900_000, 3]] }]);
    assert.doesNotThrow(() => decodeRemoteWrite(atCut, { tenant: T, nowMs: 1_000_000, retentionMs: 500_000 }), 'a sample at now − retention is kept');
    assert.match(rwError(() => decodeRemoteWrite(atCut, { tenant: T, nowMs: 1_000_001, retentionMs: 500_000 })).message, /^series 0 has a sample at 1970-01-01T00:08:20.000Z, older than PROBECTL_METRICS_RETENTION/, 'one millisecond later it is not');
    assert.doesNotThrow(() => decodeRemoteWrite(body, { tenant: T, nowMs: 1_000_000 }), 'without retentionMs (upstream mode) no sample is too old');
  });
  it('framed snappy, garbage, truncated bodies and bad protobuf are malformed (400)', () => {
    const framed = Buffer.concat([Buffer.from([0xff, 0x06, 0x00, 0x00]), Buffer.from('sNaPpY')]);
    const good = encode([{ labels: [['__name__', 'up']], samples: [[1, 1]] }]);
    for (const body of [framed, Buffer.from('hello world'), good.subarray(0, good.length - 2), compressSync(Buffer.from([0x0a, 0x05, 0x01])), Buffer.alloc(0)]) {
      const err = rwError(() => decodeRemoteWrite(body, { tenant: T }));
      assert.equal(err.kind === 'malformed' || err.kind === 'over-limit', true, err.message);
      assert.equal(err.status, 400);
    }
  });
  it('random bytes never crash: only RemoteWriteError (fast-check)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, wrap) => {
      const body = wrap ? compressSync(Buffer.from(bytes)) : Buffer.from(bytes);
      try {
        const r = decodeRemoteWrite(body, { tenant: T, limits: { maxDecompressedBytes: 4096 } });
        for (const s of r.series) assert.deepEqual(s.labels.filter((l) => l.name === 'tenant_id'), [{ name: 'tenant_id', value: T }]);
      } catch (err) {
        if (!(err instanceof RemoteWriteError)) throw err;
        assert.ok(err.status === 400);
      }
    }), { numRuns: 3000 });
  });
  it('mutated valid payloads never crash, and every decoded series carries the tenant (fast-check)', () => {
    const base = WriteRequestType.encode(WriteRequestType.fromObject({ timeseries: [{ labels: [{ name: Buffer.from('__name__'), value: Buffer.from('up') }, { name: Buffer.from('tenant_id'), value: Buffer.from('evil') }], samples: [{ timestamp: 5, value: 1 }] }] })).finish();
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { maxLength: 4 }), (edits) => {
      const raw = Buffer.from(base);
      for (const [i, b] of edits) raw[i] = b;
      try {
        const r = decodeRemoteWrite(compressSync(raw), { tenant: T });
        for (const s of r.series) assert.deepEqual(s.labels.filter((l) => l.name === 'tenant_id'), [{ name: 'tenant_id', value: T }]);
      } catch (err) {
        if (!(err instanceof RemoteWriteError)) throw err;
      }
    }), { numRuns: 2000 });
  });
});

describe('remote-write headers', () => {
  it('1.0 content types are accepted', () => {
    for (const h of [{}, { contentType: 'application/x-protobuf', contentEncoding: 'snappy' }, { contentType: 'application/x-protobuf;proto=prometheus.WriteRequest' }, { contentType: 'Application/X-Protobuf; proto="prometheus.WriteRequest"', contentEncoding: 'SNAPPY' }]) {
      assert.equal(checkRemoteWriteHeaders(h), 'v1');
    }
  });
  it('remote-write 2.0, other media types and encodings are 415', () => {
    for (const [h, message] of [
      [{ contentType: 'application/x-protobuf;proto=io.prometheus.write.v2.Request', contentEncoding: 'snappy' }, /remote-write 2.0/],
      [{ contentType: 'application/json' }, /Content-Type "application\/json" is not supported/],
      [{ contentType: 'application/x-protobuf;proto=foo.Bar' }, /"foo.Bar" is not supported/],
      [{ contentType: 'application/x-protobuf', contentEncoding: 'gzip' }, /Content-Encoding "gzip"/],
    ] as const) {
      const err = rwError(() => checkRemoteWriteHeaders(h));
      assert.equal(err.kind, 'unsupported');
      assert.equal(err.status, 415);
      assert.equal(err.code, 'PROBECTL_ERR_METRICS_WRITE_UNSUPPORTED');
      assert.match(err.message, message);
    }
  });
});
