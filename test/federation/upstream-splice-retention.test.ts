/**
 * Upstream remote-write splice (src/federation/upstream/splice.ts): what it keeps of a tenant's
 * label sets beyond what the label cache counts. A tenant emptied by another's adds, that sends
 * nothing more, must not keep its label sets (their marks and merge keys) alive; an entry's label
 * bytes and label run must not be slices of Buffer's shared pool (each would keep a 64 KiB slab).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { compressSync } from 'snappy';
import { RemoteWriteLabelCache } from '../../src/federation/remote-write/columns.ts';
import { DEFAULT_REMOTE_WRITE_LIMITS } from '../../src/federation/remote-write/decode.ts';
import { spliceRemoteWrite } from '../../src/federation/upstream/splice.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A WriteRequest of one series per metric name, one sample each. */
function request(names: string[]): Buffer {
  const out: number[] = [];
  for (const n of names) {
    const label = [0x0a, 8, ...Buffer.from('__name__'), 0x12, n.length, ...Buffer.from(n)];
    const series = [0x0a, label.length, ...label, 0x12, 11, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x01];
    out.push(0x0a, series.length, ...series);
  }
  return compressSync(Buffer.from(out));
}

describe('upstream remote-write splice: label-set marks', () => {
  it('a tenant emptied by another tenant keeps none of its label sets alive through their marks', async () => {
    const cache = new RemoteWriteLabelCache(100);
    const entries: Array<WeakRef<object>> = [];
    const marks: Array<WeakRef<object>> = [];
    (() => {
      spliceRemoteWrite(request(Array.from({ length: 60 }, (_, i) => `a_${i}`)), { tenant: 'a' }, cache);
      for (const e of cache.forTenant('a', DEFAULT_REMOTE_WRITE_LIMITS).entries.values()) {
        entries.push(new WeakRef(e));
        assert.ok(e.mark !== undefined);
        marks.push(new WeakRef(e.mark));
      }
    })();
    assert.equal(entries.length, 60);
    // Tenant b's adds pass the count bound: a (the most entries) is emptied; a sends nothing more.
    spliceRemoteWrite(request(Array.from({ length: 60 }, (_, i) => `b_${i}`)), { tenant: 'b' }, cache);
    assert.equal(cache.forTenant('a', DEFAULT_REMOTE_WRITE_LIMITS).entries.size, 0);
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    assert.equal(entries.filter((r) => r.deref() !== undefined).length, 0, 'entries collected');
    assert.equal(marks.filter((r) => r.deref() !== undefined).length, 0, 'marks collected');
  });

  it('an entry\'s label bytes and label run have storage of their own, not a slice of a larger buffer', () => {
    const cache = new RemoteWriteLabelCache();
    spliceRemoteWrite(request(Array.from({ length: 20 }, (_, i) => `m_${i}`)), { tenant: 'a' }, cache);
    const entries = [...cache.forTenant('a', DEFAULT_REMOTE_WRITE_LIMITS).entries.values()];
    assert.equal(entries.length, 20);
    for (const e of entries) {
      assert.ok(e.bytes !== undefined && e.run !== undefined);
      assert.equal(e.bytes.buffer.byteLength, e.bytes.length, 'label bytes: own storage');
      assert.equal(e.run.buffer.byteLength, e.run.length, 'label run: own storage');
    }
  });
});
