import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cmdbGet } from '../../src/cmdb/http.ts';
import { CmdbLookup } from '../../src/cmdb/lookup.ts';
import { serviceNowProvider } from '../../src/cmdb/providers/servicenow.ts';
import { authorizationFor } from '../../src/cmdb/runtime.ts';
import { HttpClient } from '../../src/core/http/client.ts';
import { harness, seedServiceNow } from './helpers.ts';
import { ServiceNowCmdb } from './servers/servicenow-cmdb.ts';

const SECRET = 'probectl.cmdb:cmdb-pass';

async function started(t: { after(fn: () => unknown): void }) {
  const sn = await ServiceNowCmdb.start();
  t.after(() => sn.close());
  seedServiceNow(sn);
  let now = 1_000_000;
  const clock = { now: () => now };
  const h = harness(sn, SECRET, clock, 500);
  t.after(() => h.close());
  return { sn, h, advance: (ms: number) => { now += ms; } };
}

describe('CMDB cache', () => {
  it('hit, miss, negative entries (shorter TTL), TTL expiry', async (t) => {
    const { sn, h, advance } = await started(t);
    const lookup = h.lookup({ ttlMs: 60_000, negativeTtlMs: 5_000 });
    assert.equal((await lookup.lookup('web01')).state, 'ok');
    assert.equal(sn.requestCount, 1);
    assert.equal((await lookup.lookup('WEB01.')).items.length, 1, 'the same normalised key');
    assert.equal(sn.requestCount, 1, 'a hit: no request');
    assert.deepEqual((await lookup.lookup('ghost')).items, []);
    assert.equal((await lookup.lookup('ghost')).state, 'ok');
    assert.equal(sn.requestCount, 2, 'a miss is cached');
    advance(5_001);
    await lookup.lookup('ghost');
    await lookup.lookup('web01');
    assert.equal(sn.requestCount, 3, 'the negative entry expired, the positive one did not');
    advance(60_000);
    await lookup.lookup('web01');
    assert.equal(sn.requestCount, 4, 'the positive entry expired');
  });

  it('is bounded: the least recently used key goes first', async (t) => {
    const { sn, h } = await started(t);
    const lookup = h.lookup({ max: 10 });
    for (let i = 0; i < 25; i++) await lookup.lookup(`host${i}`);
    assert.equal(lookup.size, 10);
    const before = sn.requestCount;
    await lookup.lookup('host24');
    assert.equal(sn.requestCount, before, 'recent: cached');
    await lookup.lookup('host0');
    assert.equal(sn.requestCount, before + 1, 'evicted: asked again');
  });

  it('a lookup in flight evicted by other keys filling the cache still answers (not unavailable)', async (t) => {
    const sn = await ServiceNowCmdb.start();
    t.after(() => sn.close());
    seedServiceNow(sn);
    sn.latencyMs = 300;
    const h = harness(sn, SECRET, { now: () => Date.now() }, 3000);
    t.after(() => h.close());
    const lookup = h.lookup({ max: 10 });
    const victim = lookup.lookup('web01');
    await new Promise((r) => setTimeout(r, 20));
    const flood = await Promise.all(Array.from({ length: 20 }, (_, i) => lookup.lookup(`junk${i}.example.com`)));
    const answer = await victim;
    assert.equal(answer.state, 'ok', JSON.stringify(answer));
    assert.equal(answer.items.length, 1);
    assert.ok(flood.every((a) => a.state === 'ok'), flood.map((a) => a.state).join(','));
    assert.equal(sn.requestCount, 21);
  });

  it('100 concurrent lookups of one key make one request', async (t) => {
    const { sn, h } = await started(t);
    sn.latencyMs = 100;
    const lookup = h.lookup();
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => lookup.lookup(i % 2 ? 'web01' : 'Web01.')));
    assert.equal(sn.requestCount, 1);
    assert.ok(answers.every((a) => a.state === 'ok' && a.items.length === 1));
  });

  it('CMDB down with a warm cache: stale answers marked stale; cold: unavailable; a hanging CMDB answers within the timeout', async (t) => {
    const { sn, h, advance } = await started(t);
    const lookup = h.lookup({ ttlMs: 10_000, timeoutMs: 500 });
    await lookup.lookup('web01');
    advance(10_001);
    sn.standIn.inject({ kind: 'status', status: 503 });
    const stale = await lookup.lookup('web01');
    assert.equal(stale.state, 'stale');
    assert.equal(stale.items.length, 1);
    assert.equal(stale.state === 'stale' && stale.fetched_at, new Date(1_000_000).toISOString());
    assert.match(stale.state === 'stale' ? stale.reason : '', /answered 503/);
    const cold = await lookup.lookup('db01');
    assert.equal(cold.state, 'ok', 'the CMDB is back');
    sn.standIn.inject({ kind: 'hang' });
    const started2 = Date.now();
    const hung = await lookup.lookup('never-seen');
    assert.equal(hung.state, 'unavailable');
    assert.ok(Date.now() - started2 < 2000, 'answered within the deadline');
    sn.standIn.inject({ kind: 'hang' });
    const staleOnTimeout = await lookup.lookup('web01');
    assert.equal(staleOnTimeout.state, 'stale', 'a timeout serves the stale entry too');
    sn.standIn.inject({ kind: 'status', status: 429, retryAfter: '30' });
    advance(10_001);
    assert.equal((await lookup.lookup('db01')).state, 'stale', '429 → stale');
    // After the outage (and the 429's Retry-After: 30) the entry is refreshed and fresh again.
    advance(30_001);
    assert.equal((await lookup.lookup('web01')).state, 'ok');
  });
});

describe('a throttling CMDB (429/503 with Retry-After)', () => {
  it('is not asked again before its Retry-After: lookups in between answer stale or unavailable without a request', async (t) => {
    const { sn, h, advance } = await started(t);
    const lookup = h.lookup({ ttlMs: 10_000, negativeTtlMs: 5_000 });
    assert.equal((await lookup.lookup('web01')).state, 'ok');
    advance(10_001);
    sn.standIn.inject({ kind: 'status', status: 429, retryAfter: '60' });
    assert.equal((await lookup.lookup('web01')).state, 'stale', '429 → stale');
    const asked = sn.requestCount;
    const storm = [];
    for (let i = 0; i < 30; i++) storm.push(await lookup.lookup(i % 2 ? 'web01' : `host-${i}`));
    assert.equal(sn.requestCount, asked, 'no request while the CMDB asked to wait');
    assert.ok(storm.every((a) => (a.state === 'stale' || a.state === 'unavailable') && 'reason' in a && /answered 429/.test(a.reason)), JSON.stringify(storm[0]));
    advance(60_001);
    assert.equal((await lookup.lookup('web01')).state, 'ok', 'asked again once Retry-After has passed');
    assert.equal(sn.requestCount, asked + 1);
  });
});

describe('the lookup deadline', () => {
  it('covers resolving the secret: a secret backend taking 4 s does not hold a 500 ms lookup', async (t) => {
    const sn = await ServiceNowCmdb.start();
    t.after(() => sn.close());
    seedServiceNow(sn);
    const client = new HttpClient({ tls: { ca: [sn.standIn.caPem] }, timeoutMs: 500 });
    t.after(() => client.close());
    let timer: NodeJS.Timeout | undefined;
    t.after(() => clearTimeout(timer));
    const slowSecret = async () => {
      await new Promise((r) => { timer = setTimeout(r, 4000); });
      return authorizationFor('servicenow', SECRET);
    };
    const get = cmdbGet(client, 'probectl/test', slowSecret);
    const lookup = new CmdbLookup({ provider: serviceNowProvider(new URL(`${sn.url}/`), 'cmdb_ci', get), clock: { now: () => Date.now() }, ttlMs: 60_000, negativeTtlMs: 10_000, max: 100, timeoutMs: 500 });
    const at = Date.now();
    const answer = await lookup.lookup('web01');
    const took = Date.now() - at;
    assert.equal(answer.state, 'unavailable');
    assert.ok(took < 1500, `answered after ${took} ms`);
    assert.equal(sn.requestCount, 0);
  });
});
