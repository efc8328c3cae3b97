/**
 * Upstream remote-write splice (src/federation/upstream/splice.ts) with several tenants sharing
 * a tiny label cache: requests of tenants interleaved, entries evicted (within a request too),
 * the label limits changed (the whole cache emptied), entries made by the decoder's path then
 * reused by the splice. Every outgoing series must carry exactly its own labels and its own
 * tenant: the body equals decodeRemoteWriteSamples → encodeTenantColumns with a fresh cache
 * (no state at all), and, decoded, each series' labels are the ones it was sent with.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compressSync } from 'snappy';
import { decodeRemoteWriteSamples, RemoteWriteLabelCache } from '../../src/federation/remote-write/columns.ts';
import type { DecodeOptions } from '../../src/federation/remote-write/decode.ts';
import { WriteRequestType } from '../../src/federation/remote-write/schema.ts';
import { field, reference, spliced, varint } from './splice-compare.ts';


interface Spec { labels: Array<[string, string]>; samples: number[] }

function request(series: Spec[]): Buffer {
  const out: number[] = [];
  for (const s of series) {
    const body: number[] = [];
    for (const [n, v] of s.labels) body.push(...field(0x0a, [...field(0x0a, [...Buffer.from(n)]), ...(v === '' ? [] : field(0x12, [...Buffer.from(v)]))]));
    for (const t of s.samples) {
      const value = Buffer.alloc(8);
      value.writeDoubleLE(t / 7);
      body.push(...field(0x12, [0x09, ...value, 0x10, ...varint(t)]));
    }
    out.push(...field(0x0a, body));
  }
  return Buffer.from(out);
}


/** The labels each series of a forwarded body carries, as name=value strings in wire order. */
function sentLabels(wireHex: string): string[][] {
  const req = WriteRequestType.decode(Buffer.from(wireHex, 'hex')) as unknown as { timeseries?: Array<{ labels?: Array<{ name?: Uint8Array; value?: Uint8Array }> }> };
  return (req.timeseries ?? []).map((s) => (s.labels ?? []).map((l) => `${Buffer.from(l.name ?? []).toString()}=${Buffer.from(l.value ?? []).toString()}`));
}

/** What a series of `labels` must go out as for `tenant`: sorted, tenant forced, empty values dropped. */
function expected(labels: Array<[string, string]>, tenant: string): string[] {
  const m = new Map<string, string>();
  for (const [n, v] of labels) if (n !== 'tenant_id' && v !== '') m.set(n, v);
  m.set('tenant_id', tenant);
  return [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([n, v]) => `${n}=${v}`);
}

// A few label sets, so that tenants send the same bytes; some in two label orders, one with a tenant_id of its own, one refused.
const SETS: Array<Array<[string, string]>> = [
  [['__name__', 'up'], ['job', 'a']],
  [['job', 'a'], ['__name__', 'up']],
  [['__name__', 'up'], ['job', 'b']],
  [['__name__', 'up'], ['job', 'b'], ['tenant_id', 'acme']],
  [['__name__', 'up'], ['job', 'b'], ['tenant_id', 'zeta'], ['x', '']],
  [['__name__', 'mem'], ['instance', 'host-1:9100'], ['job', 'node']],
  [['__name__', 'mem'], ['instance', 'host-2:9100'], ['job', 'node']],
  [['__name__', 'cpu'], ['mode', 'idle'], ['job', 'node'], ['instance', 'host-1:9100']],
  [['__name__', 'cpu'], ['mode', 'user'], ['job', 'node'], ['instance', 'host-1:9100']],
  [['__name__', 'disk'], ['long', 'v'.repeat(40)]],
];
const BAD: Array<[string, string]> = [['__name__', 'up'], ['bad-name', 'x']];

describe('upstream remote-write splice: tenants sharing a tiny label cache', () => {
  it('every series goes out with its own labels and its own tenant (fast-check)', () => {
    const makers = [
      () => new RemoteWriteLabelCache(1),
      () => new RemoteWriteLabelCache(2),
      () => new RemoteWriteLabelCache(3),
      () => new RemoteWriteLabelCache(5),
      () => new RemoteWriteLabelCache(50_000, 200),
      () => new RemoteWriteLabelCache(50_000, 600),
      () => new RemoteWriteLabelCache(4, 400),
    ];
    const step = fc.record({
      tenant: fc.constantFrom('acme', 'zeta', 'omega'),
      sets: fc.array(fc.nat(SETS.length - 1), { maxLength: 8 }),
      bad: fc.constantFrom(false, false, false, false, true),
      empty: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
      limits: fc.constantFrom<Partial<DecodeOptions>>({}, {}, {}, { limits: { maxLabelValueBytes: 30 } }),
      decoder: fc.constantFrom(false, false, false, true),
    });
    fc.assert(fc.property(fc.nat(makers.length - 1), fc.array(step, { minLength: 1, maxLength: 25 }), (which, steps) => {
      const cache = (makers[which] as () => RemoteWriteLabelCache)();
      for (const st of steps) {
        const specs: Spec[] = st.sets.map((k, j) => ({ labels: SETS[k] as Array<[string, string]>, samples: st.empty[j] ? [] : [1000 + k, 2000 + j] }));
        if (st.bad) specs.splice(Math.floor(specs.length / 2), 0, { labels: BAD, samples: [5] });
        const body = compressSync(request(specs));
        const options: DecodeOptions = { tenant: st.tenant, ...st.limits };
        // The decoder's path (entries without the forward's fields) on the same cache, now and then.
        const ref = reference(body, options, new RemoteWriteLabelCache());
        if (st.decoder) {
          try {
            decodeRemoteWriteSamples(body, options, cache);
          } catch { /* refused: the same refusal below */ }
        }
        const got = spliced(body, options, cache);
        assert.deepEqual(got, ref);
        if (got.ok) {
          const keys = new Set<string>();
          const want: string[][] = [];
          specs.forEach((s) => {
            if (s.samples.length === 0) return;
            const e = expected(s.labels, st.tenant);
            if (keys.has(e.join())) return;
            keys.add(e.join());
            want.push(e);
          });
          // Merged series are sorted the decoder's way; compare as sets of label lists.
          assert.deepEqual(sentLabels(got.wire).map((l) => l.join()).sort(), want.map((l) => l.join()).sort());
        }
      }
    }), { numRuns: 1500 });
  });
});
