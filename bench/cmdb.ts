/**
 * CMDB correlation: the cost of a cached lookup (key normalisation + LRU hit),
 * next to its two parts alone; and 10,000 concurrent lookups over 1,000
 * distinct keys against a local ServiceNow Table API stand-in over real HTTPS
 * answering each request after 50 ms — lookups of one key are coalesced into
 * one request (target: exactly 1,000 requests, all answered in under 1 s with
 * the default PROBECTL_CMDB_CONNECTIONS).
 */
import { LRUCache } from 'lru-cache';
import { cmdbKey } from '../src/cmdb/keys.ts';
import { cmdbVars } from '../src/cmdb/config.ts';
import { harness, seedServiceNow } from '../test/cmdb/helpers.ts';
import { ServiceNowCmdb } from '../test/cmdb/servers/servicenow-cmdb.ts';
import { latencyStats, measureCalls, printTable } from './harness.ts';

const SAMPLES = 200_000;

const stats = latencyStats;
const measure = (fn: () => unknown | Promise<unknown>, samples = SAMPLES): Promise<number[]> => measureCalls(fn, samples);

export async function main(): Promise<void> {
  const sn = await ServiceNowCmdb.start();
  seedServiceNow(sn);
  const connections = cmdbVars.connections.parse(undefined);
  const h = harness(sn, 'probectl.cmdb:cmdb-pass', { now: () => Date.now() }, 10_000, connections);
  try {
    const lookup = h.lookup({ max: 10_000 });
    await lookup.lookup('web01.example.com');
    const lru = new LRUCache<string, object>({ max: 10_000, ttl: 600_000 });
    lru.set('host:web01.example.com', {});
    printTable('cached lookup (one key, warm cache)', [
      { case: 'CmdbLookup.lookup, cache hit', ...stats(await measure(() => lookup.lookup('web01.example.com'))) },
      { case: 'part: key normalisation (cmdbKey)', ...stats(await measure(() => cmdbKey('web01.example.com'))) },
      { case: 'part: lru-cache get', ...stats(await measure(() => lru.get('host:web01.example.com'))) },
    ]);

    sn.latencyMs = 50;
    const cold = h.lookup({ max: 10_000 });
    const before = sn.requestCount;
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: 10_000 }, (_, i) => cold.lookup(`host-${i % 1000}.example.com`)));
    const seconds = (performance.now() - t0) / 1000;
    const requests = sn.requestCount - before;
    const failed = answers.filter((a) => a.state !== 'ok').length;
    printTable('10,000 concurrent lookups over 1,000 keys, CMDB answering in 50 ms', [
      { lookups: 10_000, keys: 1000, connections, requests, failed, total_s: Number(seconds.toFixed(3)), target: 'requests = 1000, total < 1 s' },
    ]);
  } finally {
    await h.close();
    await sn.close();
  }
}
