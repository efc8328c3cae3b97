// Remote-write re-encoding of upstream mode (src/federation/upstream/encode.ts): byte for byte what
// protobufjs's reflection encoder writes for the same WriteRequest (tenant forced, labels sorted),
// and bit for bit the values — the stale marker and other NaN payloads included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compressSync, uncompressSync } from 'snappy';
import { decodeRemoteWriteSamples, RemoteWriteLabelCache } from '../../src/federation/remote-write/columns.ts';
import { decodeRemoteWrite } from '../../src/federation/remote-write/decode.ts';
import { WriteRequestType } from '../../src/federation/remote-write/schema.ts';
import { staleMarker } from '../../src/federation/stale.ts';
import { encodeTenantColumns, encodeTenantWriteRequest } from '../../src/federation/upstream/encode.ts';

const TENANT = '0b5c1f3e-7a4d-4c2b-9e8f-1a2b3c4d5e6f';

function reference(series: Array<{ labels: Record<string, string>; timestamps: number[]; values: Float64Array }>): Buffer {
  const msg = WriteRequestType.fromObject({
    timeseries: series.map((s) => ({
      labels: Object.entries({ ...s.labels, tenant_id: TENANT }).filter(([, v]) => v !== '').sort(([a], [b]) => (Buffer.compare(Buffer.from(a), Buffer.from(b)))).map(([name, value]) => ({ name: Buffer.from(name), value: Buffer.from(value) })),
      samples: s.timestamps.map((timestamp, i) => ({ timestamp, value: s.values[i] })),
    })),
  });
  return Buffer.from(WriteRequestType.encode(msg).finish());
}

describe('upstream remote-write encoding', () => {
  it('writes what the reference encoder writes, the tenant forced and the stale marker bit for bit', () => {
    const values = new Float64Array([1.5, Number.NaN, 0, -Infinity, 1e-300]);
    values[2] = staleMarker();
    const series: Array<{ labels: Record<string, string>; timestamps: number[]; values: Float64Array }> = [
      { labels: { __name__: 'm', job: 'a', tenant_id: 'someone-else', empty: '' }, timestamps: [1000, 2000, 3000, 4000, -5], values },
      { labels: { zeta: 'é日本"\\', __name__: 'n', alpha: 'x' }, timestamps: [2 ** 50], values: new Float64Array([42]) },
    ];
    const ours = uncompressSync(encodeTenantWriteRequest(TENANT, series)) as Buffer;
    const stale = Buffer.alloc(8);
    stale.writeBigUInt64LE(0x7ff0000000000002n);
    assert.ok(ours.includes(stale), 'the stale marker\'s bits are on the wire');
    // protobufjs writes the stale marker from a JavaScript number, which keeps its bits here as well.
    assert.deepEqual(ours, reference(series));
  });

  it('property: any series set encodes as the reference encoder encodes it', () => {
    const label = fc.string({ minLength: 1, maxLength: 6 });
    const seriesArb = fc.record({
      labels: fc.dictionary(fc.stringMatching(/^[a-z_][a-z0-9_]{0,5}$/), label, { maxKeys: 4 }),
      points: fc.array(fc.tuple(fc.integer({ min: -(2 ** 40), max: 2 ** 50 }), fc.double()), { maxLength: 4 }),
    });
    fc.assert(fc.property(fc.array(seriesArb, { maxLength: 5 }), (specs) => {
      const series = specs.map((s) => ({ labels: s.labels, timestamps: s.points.map(([t]) => t), values: Float64Array.from(s.points.map(([, v]) => v)) }));
      assert.deepEqual(uncompressSync(encodeTenantWriteRequest(TENANT, series)), reference(series));
    }), { numRuns: 300 });
  });

  it('a frozen label set (the decoder\'s cached one) is encoded once per tenant and stays right for each', () => {
    const labels = Object.freeze({ __name__: 'up', job: 'node' });
    const other = '9d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6';
    const series = (l: Readonly<Record<string, string>>) => [{ labels: l, timestamps: [1000], values: new Float64Array([1]) }];
    const refFor = (tenant: string) => uncompressSync(encodeTenantWriteRequest(tenant, series({ ...labels })));
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(uncompressSync(encodeTenantWriteRequest(TENANT, series(labels))), refFor(TENANT));
      assert.deepEqual(uncompressSync(encodeTenantWriteRequest(other, series(labels))), refFor(other));
    }
    assert.deepEqual(refFor(TENANT), reference(series({ ...labels })));
  });

  it('the forward (decodeRemoteWriteSamples → encodeTenantColumns) is transparent: the engine decodes what probectl decoded, bit for bit, cold or warm, small or over 64 KiB', () => {
    const sent = (series: Array<{ labels: Array<[string, string]>; samples: Array<[number, number]> }>) => compressSync(Buffer.from(WriteRequestType.encode(WriteRequestType.fromObject({
      timeseries: series.map((s) => ({ labels: s.labels.map(([name, value]) => ({ name: Buffer.from(name), value: Buffer.from(value) })), samples: s.samples.map(([timestamp, value]) => ({ timestamp, value })) })),
    })).finish()));
    // What the engine makes of a body: decodeRemoteWrite, values as their bits.
    const asEngine = (body: Buffer, tenant: string) => decodeRemoteWrite(body, { tenant }).series.map((s) => ({
      labels: s.labels, samples: s.samples.map((p) => { const b = Buffer.alloc(8); b.writeDoubleLE(p.value); return [p.timestampMs, b.toString('hex')]; }),
    }));
    const cache = new RemoteWriteLabelCache();
    const check = (body: Buffer) => {
      for (let round = 0; round < 2; round++) {
        const forwarded = encodeTenantColumns(TENANT, decodeRemoteWriteSamples(body, { tenant: TENANT }, cache));
        assert.deepEqual(asEngine(forwarded, TENANT), asEngine(body, TENANT), round === 0 ? 'cold' : 'warm');
      }
    };
    const big = Array.from({ length: 3000 }, (_, i) => ({ labels: [['__name__', `m_${i % 7}`], ['instance', `host-${i}:9100`], ['job', 'big'], ['tenant_id', 'someone-else']] as Array<[string, string]>, samples: [[1000 + i, i * 0.5], [2000 + i, staleMarker()]] as Array<[number, number]> }));
    const bigBody = sent(big);
    assert.ok((uncompressSync(bigBody) as Buffer).length > 64 * 1024, 'the large body inflates past the copy threshold');
    check(bigBody);
    const label = fc.constantFrom('__name__', 'job', 'instance', 'tenant_id', 'le');
    const seriesArb = fc.record({
      labels: fc.array(fc.tuple(label, fc.constantFrom('up', 'node', '', 'évé', 'x')), { maxLength: 4 }).map((l) => [['__name__', 'm'] as [string, string], ...l.filter(([n]) => n !== '__name__')]),
      samples: fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 50 }), fc.double()), { maxLength: 4 }),
    });
    fc.assert(fc.property(fc.array(seriesArb, { maxLength: 5 }), (series) => {
      const body = sent(series.map((s) => ({ labels: [...new Map(s.labels)], samples: s.samples })));
      let expected: unknown;
      try {
        expected = asEngine(body, TENANT);
      } catch {
        return; // refused alike: the columns decoder's refusals are remote-write-columns.test.ts's subject
      }
      const forwarded = encodeTenantColumns(TENANT, decodeRemoteWriteSamples(body, { tenant: TENANT }, cache));
      assert.deepEqual(asEngine(forwarded, TENANT), expected);
    }), { numRuns: 500 });
  });

  it('a timestamp that is not an integer of ms is refused, never looped on', () => {
    for (const t of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 1.5, 2 ** 60]) {
      assert.throws(() => encodeTenantWriteRequest(TENANT, [{ labels: { __name__: 'm' }, timestamps: [t], values: new Float64Array([1]) }]), TypeError, String(t));
    }
  });
});
