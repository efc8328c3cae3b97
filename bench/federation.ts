/**
 * Metrics federation side by side with a real Prometheus (not a timed test):
 * the same generated remote-write payloads — 1,000 and 10,000 series, 15 s
 * resolution, 1 h 5 min ending now, written and cut as a Prometheus sender writes them (one
 * TimeSeries per sample; 4 shards by series, 2,000 samples per request, each shard in order) — sent to
 * `probectl serve` on PostgreSQL (PROBECTL_BENCH_DATABASE_URL, else
 * PROBECTL_TEST_DATABASE_URL; plain HTTP on loopback, as Prometheus) and to
 * `prometheus --web.enable-remote-write-receiver`. Reported per target and
 * size: samples/s ingested, bytes on disk per sample after compaction (probectl:
 * the metric tables after compacting everything and VACUUM FULL; Prometheus:
 * the blocks of a TSDB snapshot, head included; and the chunks alone), and p50/p99 latency of `query_range` (1 h,
 * 15 s step, every series) and `/federate` (every series) over HTTP, bodies
 * read whole (before /federate, one fresh sample of every series is written to
 * both, as a live stream would have). Both servers run as child processes on
 * this machine, one at a time. `npm run bench federation`.
 * PROBECTL_BENCH_FEDERATION_SERIES picks the sizes (default 1000,10000);
 * PROBECTL_BENCH_FEDERATION_NODE_ARGS adds node arguments to the server (e.g.
 * `--max-old-space-size=192 --max-semi-space-size=8 --cpu-prof --cpu-prof-dir=/tmp/prof`:
 * with a heap size of its own the launcher does not re-run the process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { Agent, request } from 'undici';
import { createEmbeddedSeriesStore } from '../src/federation/store/embedded.ts';
import { openPostgres } from '../src/store/postgres.ts';
import { inSystem } from '../src/store/scope.ts';
import { encodeWriteRequest, REMOTE_WRITE_HEADERS, type WireSeriesSpec } from '../test/helpers/remote-write.ts';
import { serve } from '../test/helpers/process.ts';
import { freePort } from '../test/peers/prometheus.ts';
import { benchServerUrl, freshDatabaseOn, printTable, timed, percentile, rng } from './harness.ts';
import { databaseEnv } from '../test/helpers/keys.ts';

const STEP = 15_000;
const SPAN = 65 * 60_000;
const SHARDS = 4;
const PER_REQUEST = 2000;
const agent = new Agent({ connections: 16, headersTimeout: 120_000, bodyTimeout: 120_000 });


/**
 * Request bodies per shard, in send order, written as a Prometheus sender writes them: one
 * TimeSeries per sample (storage/remote/queue_manager.go populateTimeSeries), so a request of a
 * sender catching up carries a series' label set once per sample it holds (at 1,000 series, 8
 * times per 2,000-sample request). Half the series are counters, a quarter gauges that rarely
 * change, a quarter random walks with two decimals (as bench/federation-store.ts).
 */
export function payloads(series: number, end: number, span = SPAN, seriesLabel = false): { shards: Buffer[][]; samples: number } {
  const rand = rng(series);
  const job = `bench-${series}`;
  // seriesLabel: each series also gets `series="<i>"`, so a function that drops the metric name (rate) keeps them apart.
  const labels = Array.from({ length: series }, (_, i) => ({ __name__: `bench_metric_${i % 20}`, job, instance: `host-${Math.floor(i / 20)}:9100`, kind: i % 2 === 0 ? 'counter' : 'gauge', ...(seriesLabel ? { series: String(i) } : {}) }));
  const state = labels.map(() => Math.floor(rand() * 1000));
  const shards: Buffer[][] = Array.from({ length: SHARDS }, () => []);
  const pending: WireSeriesSpec[][] = Array.from({ length: SHARDS }, () => []);
  let samples = 0;
  const flush = (s: number) => {
    const batch = pending[s] as WireSeriesSpec[];
    if (batch.length > 0) (shards[s] as Buffer[]).push(encodeWriteRequest(batch));
    pending[s] = [];
  };
  for (let t = end - span; t <= end; t += STEP) {
    for (let i = 0; i < series; i++) {
      const v = state[i] as number;
      state[i] = i % 2 === 0 ? v + Math.floor(rand() * 100) : i % 4 === 1 ? (rand() < 0.05 ? v + 1 : v) : Math.round((v + (rand() - 0.5) * 10) * 100) / 100;
      const s = i % SHARDS;
      const batch = pending[s] as WireSeriesSpec[];
      batch.push({ labels: labels[i] as Record<string, string>, samples: [[t, state[i] as number]] });
      samples++;
      if (batch.length >= PER_REQUEST) flush(s);
    }
  }
  for (let s = 0; s < SHARDS; s++) flush(s);
  return { shards, samples };
}


/**
 * One fresh sample of every series at `t`, cut as payloads() cuts: sent right before /federate is
 * measured, so the latest sample of each series is recent, as under a live stream (federation
 * serves the latest sample within the last 5 minutes; the generated hour may be older by then).
 */
function freshPayload(series: number, t: number): Buffer[][] {
  const job = `bench-${series}`;
  const shards: Buffer[][] = Array.from({ length: SHARDS }, () => []);
  for (let s = 0; s < SHARDS; s++) {
    const specs: WireSeriesSpec[] = [];
    for (let i = s; i < series; i += SHARDS) {
      specs.push({ labels: { __name__: `bench_metric_${i % 20}`, job, instance: `host-${Math.floor(i / 20)}:9100`, kind: i % 2 === 0 ? 'counter' : 'gauge' }, samples: [[t, i]] });
      if (specs.length === PER_REQUEST) (shards[s] as Buffer[]).push(encodeWriteRequest(specs.splice(0)));
    }
    if (specs.length > 0) (shards[s] as Buffer[]).push(encodeWriteRequest(specs));
  }
  return shards;
}

export async function send(url: string, headers: Record<string, string>, shards: Buffer[][]): Promise<void> {
  await Promise.all(shards.map(async (bodies) => {
    for (const body of bodies) {
      const res = await request(url, { method: 'POST', headers, body, dispatcher: agent, signal: AbortSignal.timeout(120_000) });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`${url} answered ${res.statusCode}: ${text.slice(0, 300)}`);
    }
  }));
}


export interface Latency { p50: number; p99: number }

/** p50/p99 of fetching the whole body (parsing it is the client's work, not timed); the series count is checked on the warm-up run. */
export async function latency(runs: number, url: string, headers: Record<string, string>, expectSeries: (body: string) => number, series: number): Promise<Latency> {
  return (await latencies(runs, [{ url, headers }], expectSeries, series))[0] as Latency;
}

/**
 * As latency for several URLs measured in turns (one of each per round, in the order given),
 * so that whatever else the machine does during the runs weighs on each alike.
 */
export async function latencies(runs: number, targets: ReadonlyArray<{ url: string; headers: Record<string, string> }>, expectSeries: (body: string) => number, series: number): Promise<Latency[]> {
  // The whole body as received (a gzip body stays compressed: inflating it is the client's work too).
  const fetchBody = async (url: string, headers: Record<string, string>) => {
    const res = await request(url, { headers, dispatcher: agent, signal: AbortSignal.timeout(120_000) });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}: ${body.subarray(0, 300).toString()}`);
    const gzip = res.headers['content-encoding'] === 'gzip';
    if (gzip !== (headers['accept-encoding'] === 'gzip')) throw new Error(`${url} answered with content-encoding ${String(res.headers['content-encoding'])} for accept-encoding ${String(headers['accept-encoding'])}`);
    return { body, gzip };
  };
  for (const { url, headers } of targets) {
    const { body, gzip } = await fetchBody(url, headers);
    const n = expectSeries((gzip ? gunzipSync(body) : body).toString('utf8'));
    if (n !== series) throw new Error(`${url} returned ${n} series, expected ${series}`);
  }
  const ms = targets.map((): number[] => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, { url, headers }] of targets.entries()) ms[k]?.push((await timed(() => fetchBody(url, headers))).seconds * 1000);
  }
  return ms.map((m) => {
    m.sort((a, b) => a - b);
    return { p50: percentile(m, 50), p99: percentile(m, 99) };
  });
}

export const matrixSeries = (body: string) => (JSON.parse(body) as { data: { result: unknown[] } }).data.result.length;
const federateSeries = (body: string) => body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;

function duBytes(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, name) => sum + duBytes(join(path, name)), 0);
}

interface Row extends Record<string, string | number> {}

async function benchProbectl(serverUrl: string, series: number, end: number, load: { shards: Buffer[][]; samples: number }): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'probectl-bench-fed-'));
  const database = await freshDatabaseOn(serverUrl, 'probectl_bench');
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  try {
    server = await serve({
      PROBECTL_DATA_DIR: join(dir, 'data'), PROBECTL_LISTEN: '127.0.0.1:0', PROBECTL_ALLOW_PLAINTEXT_HTTP: 'true',
      ...databaseEnv(database.url), PROBECTL_LOG_LEVEL: 'info', PROBECTL_METRICS_MAX_TENANT_SERIES: '1000000',
    }, 120_000, new URL('../src/cli/probectl.ts', import.meta.url).pathname, (process.env.PROBECTL_BENCH_FEDERATION_NODE_ARGS ?? '').split(/\s+/).filter(Boolean));
    const token = readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim();
    const auth = { authorization: `Bearer ${token}` };
    const ingest = await timed(() => send(`${server?.url}/v1/prometheus/write`, { ...REMOTE_WRITE_HEADERS, ...auth }, load.shards));
    // Compaction as the server's job does it, but of everything: in a 1-hour benchmark the 2 minutes the
    // job leaves in the append table would weigh as much as the chunks (over 15 days they weigh nothing).
    const db = await openPostgres({ connectionString: database.url, poolSize: 2 });
    let bytes: number;
    let chunkBytes: number;
    try {
      const tenant = await inSystem(db, async (tx) => (await tx.query<{ id: string }>('SELECT id FROM tenants WHERE provider')).rows[0]?.id as string);
      await createEmbeddedSeriesStore(db, { compactionHorizonMs: 0 }).compact(tenant, Date.now() + 1);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        await client.query('VACUUM FULL ANALYZE metric_samples, metric_series, metric_chunks, metric_label_values');
        const r = await client.query<{ b: string; c: string }>(`SELECT (pg_total_relation_size('metric_chunks') + pg_total_relation_size('metric_series') + pg_total_relation_size('metric_label_values') + pg_total_relation_size('metric_samples'))::text AS b, pg_relation_size('metric_chunks')::text AS c`);
        bytes = Number(r.rows[0]?.b);
        chunkBytes = Number(r.rows[0]?.c);
      } finally {
        await client.end();
      }
    } finally {
      await db.close();
    }
    const runs = series >= 10_000 ? 10 : 30;
    const now = Date.now() / 1000;
    const sel = encodeURIComponent(`{job="bench-${series}"}`);
    const qr = await latency(runs, `${server.url}/v1/grafana/api/v1/query_range?query=${sel}&start=${now - 3600}&end=${now}&step=15`, auth, matrixSeries, series);
    await send(`${server.url}/v1/prometheus/write`, { ...REMOTE_WRITE_HEADERS, ...auth }, freshPayload(series, Date.now()));
    const fed = await latency(runs, `${server.url}/v1/prometheus/federate?match[]=${sel}`, auth, federateSeries, series);
    return { target: 'probectl (PostgreSQL)', series, 'ingest samples/s': Math.round(load.samples / ingest.seconds), 'bytes/sample on disk': bytes / load.samples, 'of which chunks': chunkBytes / load.samples, 'query_range p50 ms': qr.p50, 'query_range p99 ms': qr.p99, 'federate p50 ms': fed.p50, 'federate p99 ms': fed.p99 };
  } finally {
    await server?.stop().catch(() => undefined);
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchPrometheus(series: number, load: { shards: Buffer[][]; samples: number }): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'probectl-bench-prom-'));
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), 'global: { scrape_interval: 1h }\nscrape_configs: []\n');
  let prom: ChildProcess | undefined;
  try {
    prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--web.enable-admin-api'], { stdio: 'ignore' });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ok = await request(`${url}/-/ready`, { dispatcher: agent, signal: AbortSignal.timeout(2000) }).then(async (r) => (await r.body.text(), r.statusCode === 200), () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error('prometheus did not become ready');
      await new Promise((r) => setTimeout(r, 200));
    }
    const ingest = await timed(() => send(`${url}/api/v1/write`, REMOTE_WRITE_HEADERS, load.shards));
    const snap = await request(`${url}/api/v1/admin/tsdb/snapshot`, { method: 'POST', dispatcher: agent, signal: AbortSignal.timeout(120_000) });
    const name = ((await snap.body.json()) as { data: { name: string } }).data.name;
    const snapshot = join(dir, 'data', 'snapshots', name);
    const bytes = duBytes(snapshot);
    const chunkBytes = readdirSync(snapshot).reduce((sum, block) => sum + duBytes(join(snapshot, block, 'chunks')), 0);
    const runs = series >= 10_000 ? 10 : 30;
    const now = Date.now() / 1000;
    const sel = encodeURIComponent(`{job="bench-${series}"}`);
    const qr = await latency(runs, `${url}/api/v1/query_range?query=${sel}&start=${now - 3600}&end=${now}&step=15`, {}, matrixSeries, series);
    await send(`${url}/api/v1/write`, REMOTE_WRITE_HEADERS, freshPayload(series, Date.now()));
    const fed = await latency(runs, `${url}/federate?match[]=${sel}`, {}, federateSeries, series);
    return { target: 'Prometheus', series, 'ingest samples/s': Math.round(load.samples / ingest.seconds), 'bytes/sample on disk': bytes / load.samples, 'of which chunks': chunkBytes / load.samples, 'query_range p50 ms': qr.p50, 'query_range p99 ms': qr.p99, 'federate p50 ms': fed.p50, 'federate p99 ms': fed.p99 };
  } finally {
    if (prom && prom.exitCode === null) {
      prom.kill('SIGTERM');
      await Promise.race([once(prom, 'exit'), new Promise((r) => setTimeout(r, 30_000))]);
      if (prom.exitCode === null) prom.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  const serverUrl = benchServerUrl();
  if (!serverUrl) throw new Error('bench federation needs PostgreSQL: set PROBECTL_BENCH_DATABASE_URL (or PROBECTL_TEST_DATABASE_URL)');
  const sizes = (process.env.PROBECTL_BENCH_FEDERATION_SERIES ?? '1000,10000').split(',').map(Number);
  const rows: Row[] = [];
  try {
    for (const series of sizes) {
      const end = Math.floor(Date.now() / STEP) * STEP;
      const load = payloads(series, end);
      rows.push(await benchPrometheus(series, load));
      rows.push(await benchProbectl(serverUrl, series, end, load));
    }
  } finally {
    await agent.close();
  }
  printTable(`Metrics federation vs Prometheus (${sizes.join(' / ')} series, 1 h 5 min at 15 s; query_range 1 h / 15 s and federate over every series, via HTTP)`, rows);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
