import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabelCache } from '../../src/federation/store/append.ts';
import { SeriesLabelCache } from '../../src/federation/store/read.ts';
import { TenantBoundedCache } from '../../src/federation/tenant-cache.ts';

const T1 = '11111111-1111-4111-8111-111111111111';
const T2 = '22222222-2222-4222-8222-222222222222';

describe('tenant-bounded caches (remote-write labels, the store\'s label and series caches)', () => {
  it('bounds entries and size; a full cache empties the tenant holding the most, the adding one when that is itself', () => {
    const cache = new TenantBoundedCache<string>(6, 1_000, (k, v) => k.length + v.length);
    const quiet = cache.forTenant('quiet');
    const noisy = cache.forTenant('noisy');
    for (const k of ['a', 'b']) cache.add(quiet, k, 'x');
    for (let i = 0; i < 40; i++) cache.add(noisy, `n${i}`, 'x');
    assert.deepEqual([...quiet.entries.keys()], ['a', 'b'], 'the quiet tenant kept its entries through the noisy one\'s churn');
    assert.ok(noisy.size >= 1 && noisy.size <= 4, `the noisy tenant holds what is left: ${noisy.size}`);
    assert.ok(quiet.size + noisy.size <= 6);
    // By size: one large entry of the quiet tenant makes it the largest; the next add past the bound empties it.
    cache.add(quiet, 'big', 'y'.repeat(900));
    cache.add(noisy, 'more', 'x'.repeat(200));
    assert.equal(quiet.size, 0, 'the tenant holding the most gave way');
    assert.ok(noisy.entries.has('more'));
  });

  it('replacing a key keeps the accounting exact; an entry larger than the whole bound is never held', () => {
    const cache = new TenantBoundedCache<string>(100, 50, (k, v) => k.length + v.length);
    const t = cache.forTenant('t');
    cache.add(t, 'k', 'v'.repeat(10));
    cache.add(t, 'k', 'v'.repeat(20));
    assert.deepEqual([t.size, t.held], [1, 21]);
    cache.add(t, 'huge', 'v'.repeat(60));
    assert.equal(t.entries.has('huge'), false);
    assert.deepEqual([t.size, t.held], [1, 21]);
    for (let i = 0; i < 10; i++) cache.add(t, `k${i}`, 'v'.repeat(10));
    assert.ok(t.held <= 50, `held ${t.held} within the bound`);
  });

  it('the store\'s label cache is bounded by the label text it holds (an entry is made before the series limit refuses a series)', () => {
    const cache = new LabelCache(200_000, 100_000);
    // Ten labels of 2,000 chars: ~20,000 chars of label text per set (each label within the store's index limit).
    const fat = (i: number) => ({ __name__: 'm', id: String(i), ...Object.fromEntries(Array.from({ length: 10 }, (_, k) => [`l${k}`, 'x'.repeat(2_000)])) });
    const first = cache.canonical(T1, fat(0));
    assert.equal(cache.canonical(T1, fat(0)), first, 'a hit while within the bound');
    for (let i = 1; i < 10; i++) cache.canonical(T1, fat(i));
    assert.notEqual(cache.canonical(T1, fat(0)), first, 'the bound emptied the tenant that filled it');
    // Another tenant's entries survive the first one's churn.
    const other = cache.canonical(T2, { __name__: 'up' });
    for (let i = 10; i < 30; i++) cache.canonical(T1, fat(i));
    assert.equal(cache.canonical(T2, { __name__: 'up' }), other);
  });

  it('the series label cache keeps tenants apart and is bounded by label text', () => {
    const cache = new SeriesLabelCache(200_000, 50_000);
    cache.set(T2, 1, { __name__: 'up' });
    for (let id = 100; id < 120; id++) cache.set(T1, id, { __name__: 'm', v: 'x'.repeat(10_000) });
    assert.deepEqual(cache.get(T2, 1), { __name__: 'up' });
    assert.equal(cache.get(T1, 1), undefined, 'a series id is read only in its own tenant');
    assert.equal(cache.get(T1, 100), undefined, 'the early fat entries were emptied');
    assert.ok(cache.get(T1, 119));
  });
});

describe('tenant-bounded caches: attack7 review', () => {
  it('a tenant churning through many small entries does not empty a quiet tenant holding a few large ones (count bound)', () => {
    const cache = new TenantBoundedCache<string>(10, 1_000_000, (k, v) => k.length + v.length);
    const quiet = cache.forTenant('quiet');
    const noisy = cache.forTenant('noisy');
    cache.add(quiet, 'a', 'x'.repeat(1_000));
    cache.add(quiet, 'b', 'x'.repeat(1_000));
    for (let i = 0; i < 100; i++) cache.add(noisy, `n${i}`, 'x');
    assert.deepEqual([...quiet.entries.keys()], ['a', 'b'], 'the count bound empties the tenant holding the most entries, not the one holding the most text');
    assert.ok(quiet.size + noisy.size <= 10);
  });

  it('label text of two-byte strings (any char past U+00FF) is counted in bytes, not chars', () => {
    const cache = new SeriesLabelCache(200_000, 1_000_000);
    const value = `${'x'.repeat(999)}\u0100`;
    cache.set(T1, 1, { __name__: 'm', v: value });
    // V8 keeps a string with any char past U+00FF at two bytes per char: 2,000 bytes of value here.
    const t = (cache as unknown as { cache: TenantBoundedCache<unknown, number> }).cache.forTenant(T1);
    assert.ok(t.held >= 2 * value.length, `held ${t.held} counts the value's 2,000 bytes`);
  });
});
