/**
 * The embedded metrics store (src/federation/store) at 1,000 and 10,000
 * series, 15 s resolution, 1 h 5 min of data: ingest in remote-write-sized
 * batches (2,000 samples, one sample per series, as a Prometheus shard sends
 * them; 4 in flight), compaction, bytes per sample on disk
 * (pg_total_relation_size after compaction and VACUUM FULL), and query_range (1 h,
 * 15 s step, every series) and federate (latest sample of every series)
 * latency p50/p99. The side-by-side Prometheus column is added by
 * bench/federation.ts. `node bench/federation-store.ts` or `npm run bench federation-store`.
 */
import { createEmbeddedSeriesStore } from '../src/federation/store/embedded.ts';
import type { SeriesSamples } from '../src/federation/store/types.ts';
import { insertTenant } from '../src/identity/tenants.ts';
import { inSystem } from '../src/store/scope.ts';
import pg from 'pg';
import { benchDatabases, printTable, timed, type BenchDb, percentile, rng } from './harness.ts';

const STEP = 15_000;
const SPAN = 65 * 60_000;
const END = Date.parse('2026-11-23T12:00:00.000Z');
const BATCH = 2000;
const IN_FLIGHT = 4;

/**
 * Remote-write-like batches, generated lazily: time step by time step, every
 * series' sample, cut into BATCH-sized requests whose values share one buffer
 * (as a decoder fills one per request). Half the series are counters (integer
 * increments 0–99), a quarter gauges that rarely change, a quarter gauges in
 * a random walk with two decimals.
 */
function* batches(series: number): Generator<SeriesSamples[]> {
  const rand = rng(series);
  const labels = Array.from({ length: series }, (_, i) => ({ __name__: `bench_metric_${i % 20}`, job: 'bench', instance: `host-${Math.floor(i / 20)}:9100`, kind: i % 2 === 0 ? 'counter' : 'gauge' }));
  const state = labels.map(() => Math.floor(rand() * 1000));
  let cur: SeriesSamples[] = [];
  let buf = new Float64Array(BATCH);
  for (let t = END - SPAN; t <= END; t += STEP) {
    for (let i = 0; i < series; i++) {
      const v = state[i] as number;
      state[i] = i % 2 === 0 ? v + Math.floor(rand() * 100) : i % 4 === 1 ? (rand() < 0.05 ? v + 1 : v) : Math.round((v + (rand() - 0.5) * 10) * 100) / 100;
      buf[cur.length] = state[i] as number;
      cur.push({ labels: labels[i] as SeriesSamples['labels'], timestamps: [t], values: buf.subarray(cur.length, cur.length + 1) });
      if (cur.length === BATCH) {
        yield cur;
        cur = [];
        buf = new Float64Array(BATCH);
      }
    }
  }
  if (cur.length > 0) yield cur;
}


async function latency(runs: number, fn: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) ms.push((await timed(fn)).seconds * 1000);
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99) };
}

/**
 * Table sizes; on PostgreSQL after VACUUM FULL, so they count live data only
 * (compaction and bounds updates leave dead rows that autovacuum reclaims for reuse).
 */
async function tableBytes(target: BenchDb): Promise<{ chunks: number; series: number; all: number }> {
  if (target.url) {
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    try {
      // FULL for the append table: compaction emptied it but its file keeps the space until rewritten.
      await client.query('VACUUM FULL ANALYZE metric_samples, metric_series, metric_chunks, metric_label_values');
    } finally {
      await client.end();
    }
  }
  return target.db.transaction(async (tx) => {
    const res = await tx.query<{ chunks: number; series: number; all: number }>(`SELECT pg_total_relation_size('metric_chunks')::int8 AS chunks,
      (pg_total_relation_size('metric_series') + pg_total_relation_size('metric_label_values'))::int8 AS series,
      (pg_total_relation_size('metric_chunks') + pg_total_relation_size('metric_series') + pg_total_relation_size('metric_label_values') + pg_total_relation_size('metric_samples'))::int8 AS all`);
    return res.rows[0] as { chunks: number; series: number; all: number };
  });
}

export async function main(): Promise<void> {
  const rows: Record<string, string | number>[] = [];
  for (const target of await benchDatabases(16)) {
    try {
      for (const series of target.name === 'pglite' ? [1000] : [1000, 10_000]) {
        const tenant = await inSystem(target.db, async (tx) => (await insertTenant(tx, `bench-metrics-${series}-${Date.now()}`)).id);
        // The clock stands at the end of the data: the last 2 minutes stay in the append table, as they would live.
        const store = createEmbeddedSeriesStore(target.db, { now: () => END, maxSeries: 10_000, maxTenantSeries: 1_000_000 });
        const baseline = await tableBytes(target);
        const work = batches(series);
        let samples = 0;
        const ingest = await timed(() => Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
          for (let b = work.next(); !b.done; b = work.next()) {
            const res = await store.append(tenant, b.value);
            if (res.errors.length > 0) throw res.errors[0];
            samples += res.stored;
          }
        })));
        const compact = await timed(() => store.compact(tenant, END));
        const after = await tableBytes(target);
        const bytes = { chunks: after.chunks - baseline.chunks, series: after.series - baseline.series, all: after.all - baseline.all };
        const sel = { matchers: [{ name: 'job', op: '=' as const, value: 'bench' }] };
        const runs = series >= 10_000 ? 10 : 30;
        const qr = await latency(runs, async () => {
          const res = await store.range(tenant, sel, END - 3_600_000, END, STEP);
          if (res.length !== series) throw new Error(`query_range returned ${res.length} series`);
        });
        const fed = await latency(runs, async () => {
          const res = await store.lastSamples(tenant, [sel.matchers], END);
          if (res.length !== series) throw new Error(`federate returned ${res.length} series`);
        });
        rows.push({
          driver: target.name,
          series,
          samples,
          'ingest samples/s': Math.round(samples / ingest.seconds),
          'compaction s': compact.seconds,
          'compacted samples': compact.result.samples,
          'chunk bytes/sample': bytes.chunks / compact.result.samples,
          'series+labels bytes/series': Math.round(bytes.series / series),
          // PGlite offers no VACUUM FULL outside a transaction here: its sizes include dead rows.
          'all tables bytes/sample': target.url ? bytes.all / samples : 'n/a',
          'query_range p50 ms': qr.p50,
          'query_range p99 ms': qr.p99,
          'federate p50 ms': fed.p50,
          'federate p99 ms': fed.p99,
        });
      }
    } finally {
      await target.close();
    }
  }
  printTable('Embedded metrics store (1 h 5 min at 15 s; query_range 1 h / 15 s over every series)', rows);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
