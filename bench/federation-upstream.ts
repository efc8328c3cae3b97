/**
 * Upstream mode side by side with the engines it fronts (not a timed test): for Prometheus
 * (`--web.enable-remote-write-receiver`, Debian package) and VictoriaMetrics single-node
 * (.peers/bin/victoria-metrics, .ci/install-peers.sh), at 1,000 and 10,000 series:
 *
 * - remote-write samples/s straight to a fresh engine, and through `probectl serve`
 *   (PROBECTL_METRICS_UPSTREAM_URL, label tenancy) to another fresh engine: the same generated
 *   payloads as bench/federation.ts (55 min at 15 s, one TimeSeries per sample as Prometheus
 *   writes them, 4 shards in order, 2,000 samples per
 *   request), over plain HTTP on loopback;
 * - `query_range` of `rate(<every series>[5m])` over the 55 min at 15 s, p50/p99 of the whole body,
 *   through probectl (the tenant-scoped rewrite, the cardinality guard's series call, the
 *   forward) and straight to the same engine with the hand-written tenant matcher.
 *
 * probectl runs on its embedded database (only tokens live there in upstream mode). Every
 * process runs on this machine, one engine at a time. `npm run bench federation-upstream`;
 * PROBECTL_BENCH_FEDERATION_SERIES, PROBECTL_BENCH_FEDERATION_ENGINE (prometheus |
 * victoriametrics) and PROBECTL_BENCH_FEDERATION_NODE_ARGS narrow or profile a run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { REMOTE_WRITE_HEADERS } from '../test/helpers/remote-write.ts';
import { serve } from '../test/helpers/process.ts';
import { freePort } from '../test/peers/prometheus.ts';
import { VICTORIA_METRICS_BIN } from '../test/peers/victoria-metrics.ts';
import { latencies, matrixSeries, payloads, send, type Latency } from './federation.ts';
import { printTable, processTreeCpuSeconds, timed } from './harness.ts';

const STEP = 15_000;
/**
 * 55 minutes, not bench/federation.ts's 65: Prometheus's receiver refuses samples more than an
 * hour behind its newest ("out of bounds"), and probectl's own series (recorded at startup) are
 * the newest.
 */
const SPAN = 55 * 60_000;

interface Engine {
  readonly name: string;
  readonly url: string;
  readonly writePath: string;
  /** The engine's process (its CPU time is read from /proc). */
  readonly pid: number;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    const ok = await request(url, { signal: AbortSignal.timeout(2000) }).then(async (r) => (await r.body.text(), r.statusCode === 200), () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not become ready`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopChild(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 30_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}

/** The installed Prometheus's `major.minor` (`prometheus --version`: "prometheus, version 2.42.0+ds …"). */
function prometheusVersion(): string {
  const out = spawnSync('prometheus', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return /version (\d+\.\d+)/.exec(`${out.stdout}${out.stderr}`)?.[1] ?? '(version unknown)';
}

async function startPrometheusEngine(): Promise<Engine> {
  const dir = mkdtempSync(join(tmpdir(), 'probectl-bench-up-prom-'));
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), 'global: { scrape_interval: 1h }\nscrape_configs: []\n');
  const child = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${url}/-/ready`, child, 'prometheus');
  } catch (err) {
    await stopChild(child, dir);
    throw err;
  }
  return { name: `Prometheus ${prometheusVersion()}`, url, writePath: '/api/v1/write', pid: child.pid as number, flush: async () => {}, stop: () => stopChild(child, dir) };
}

async function startVictoria(): Promise<Engine> {
  const dir = mkdtempSync(join(tmpdir(), 'probectl-bench-up-vm-'));
  const port = await freePort();
  const child = spawn(VICTORIA_METRICS_BIN, [`-storageDataPath=${join(dir, 'data')}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=30d', '-search.latencyOffset=0s', '-search.disableCache', '-loggerLevel=ERROR'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${url}/health`, child, 'victoria-metrics');
  } catch (err) {
    await stopChild(child, dir);
    throw err;
  }
  return {
    name: 'VictoriaMetrics 1.151', url, writePath: '/api/v1/write', pid: child.pid as number,
    flush: async () => { await (await request(`${url}/internal/force_flush`, { signal: AbortSignal.timeout(30_000) })).body.text(); },
    stop: () => stopChild(child, dir),
  };
}

type Row = Record<string, string | number>;

/** CPU seconds spent on `samples` samples, in µs per sample (2 decimals; /proc counts in 10 ms ticks). */
function perSampleUs(seconds: number, samples: number): number {
  return Math.round((seconds * 1e6 / samples) * 100) / 100;
}

const progress = (text: string) => process.stderr.write(`federation-upstream: ${text}\n`);

async function benchEngine(start: () => Promise<Engine>, series: number): Promise<Row> {
  const end = Math.floor(Date.now() / STEP) * STEP;
  const load = payloads(series, end, SPAN, true);
  // Straight to a fresh engine.
  let engine = await start();
  let directRate: number;
  let directEngineCpu: number;
  try {
    const cpu0 = processTreeCpuSeconds(engine.pid);
    const t = await timed(() => send(`${engine.url}${engine.writePath}`, REMOTE_WRITE_HEADERS, load.shards));
    directRate = load.samples / t.seconds;
    directEngineCpu = perSampleUs(processTreeCpuSeconds(engine.pid) - cpu0, load.samples);
    progress(`${engine.name} ${series} series: ${Math.round(directRate)} samples/s straight to the engine (engine CPU ${directEngineCpu} µs/sample)`);
  } finally {
    await engine.stop();
  }
  // Through probectl to another fresh engine; then the query latencies on that engine.
  engine = await start();
  const dir = mkdtempSync(join(tmpdir(), 'probectl-bench-up-'));
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  try {
    server = await serve({
      PROBECTL_DATA_DIR: join(dir, 'data'), PROBECTL_LISTEN: '127.0.0.1:0', PROBECTL_ALLOW_PLAINTEXT_HTTP: 'true', PROBECTL_LOG_LEVEL: 'info',
      PROBECTL_METRICS_UPSTREAM_URL: engine.url, PROBECTL_METRICS_MAX_SERIES: '20000', PROBECTL_METRICS_SELF_INTERVAL: '2m', PROBECTL_METRICS_UPSTREAM_TIMEOUT: '120s',
    }, 120_000, new URL('../src/cli/probectl.ts', import.meta.url).pathname, (process.env.PROBECTL_BENCH_FEDERATION_NODE_ARGS ?? '').split(/\s+/).filter(Boolean));
    const token = readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim();
    const auth = { authorization: `Bearer ${token}` };
    const engineCpu0 = processTreeCpuSeconds(engine.pid);
    const probectlCpu0 = processTreeCpuSeconds(server.child.pid as number);
    const t = await timed(() => send(`${server?.url}/v1/prometheus/write`, { ...REMOTE_WRITE_HEADERS, ...auth }, load.shards));
    const viaRate = load.samples / t.seconds;
    const viaEngineCpu = perSampleUs(processTreeCpuSeconds(engine.pid) - engineCpu0, load.samples);
    const probectlCpu = perSampleUs(processTreeCpuSeconds(server.child.pid as number) - probectlCpu0, load.samples);
    progress(`${engine.name} ${series} series: ${Math.round(viaRate)} samples/s through probectl (probectl CPU ${probectlCpu} µs/sample, engine CPU ${viaEngineCpu} µs/sample)`);
    await engine.flush();
    const tenants = await request(`${server.url}/v1/grafana/api/v1/label/tenant_id/values`, { headers: auth, signal: AbortSignal.timeout(30_000) });
    const tenant = ((await tenants.body.json()) as { data: string[] }).data[0] as string;
    const runs = series >= 10_000 ? 10 : 30;
    const rangeOf = (q: string) => `query=${encodeURIComponent(q)}&start=${(end - SPAN) / 1000}&end=${end / 1000}&step=15`;
    // Interleaved (direct, then through probectl, each round): the engine's background work after the
    // ingest (merges) weighs on both alike, not on whichever is measured first. Twice: a client
    // that takes the body as it is, and one that accepts gzip as Grafana and Prometheus do (Go's
    // HTTP client sends Accept-Encoding: gzip), where the engine compresses and probectl passes the
    // compressed bytes on.
    const targets = (extra: Record<string, string>) => [
      { url: `${engine.url}/api/v1/query_range?${rangeOf(`rate({job="bench-${series}",tenant_id="${tenant}"}[5m])`)}`, headers: extra },
      { url: `${server?.url}/v1/grafana/api/v1/query_range?${rangeOf(`rate({job="bench-${series}"}[5m])`)}`, headers: { ...auth, ...extra } },
    ];
    const [direct, via] = await latencies(runs, targets({}), matrixSeries, series) as [Latency, Latency];
    progress(`${engine.name} ${series} series: query_range p50 ${direct.p50.toFixed(1)} ms direct, ${via.p50.toFixed(1)} ms through probectl`);
    const [directGz, viaGz] = await latencies(runs, targets({ 'accept-encoding': 'gzip' }), matrixSeries, series) as [Latency, Latency];
    progress(`${engine.name} ${series} series: query_range (gzip) p50 ${directGz.p50.toFixed(1)} ms direct, ${viaGz.p50.toFixed(1)} ms through probectl`);
    return {
      engine: engine.name, series,
      'write direct samples/s': Math.round(directRate), 'write via probectl samples/s': Math.round(viaRate), 'write overhead': `${Math.round((directRate / viaRate - 1) * 100)}%`,
      'write: engine CPU µs/sample direct': directEngineCpu, 'write: probectl CPU µs/sample': probectlCpu,
      'rate() p50 direct ms': direct.p50, 'rate() p50 via probectl ms': via.p50, 'rate() p50 overhead': `${Math.round((via.p50 / direct.p50 - 1) * 100)}%`,
      'rate() p99 direct ms': direct.p99, 'rate() p99 via probectl ms': via.p99,
      'gzip: rate() p50 direct ms': directGz.p50, 'gzip: rate() p50 via probectl ms': viaGz.p50, 'gzip: rate() p50 overhead': `${Math.round((viaGz.p50 / directGz.p50 - 1) * 100)}%`,
      'gzip: rate() p99 direct ms': directGz.p99, 'gzip: rate() p99 via probectl ms': viaGz.p99,
    };
  } finally {
    await server?.stop().catch(() => undefined);
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  const sizes = (process.env.PROBECTL_BENCH_FEDERATION_SERIES ?? '1000,10000').split(',').map(Number);
  const rows: Row[] = [];
  const only = process.env.PROBECTL_BENCH_FEDERATION_ENGINE;
  for (const start of [startPrometheusEngine, startVictoria].filter((_, i) => only === undefined || only === ['prometheus', 'victoriametrics'][i])) {
    for (const series of sizes) rows.push(await benchEngine(start, series));
  }
  printTable(`Metrics upstream mode: straight to the engine vs through probectl (${sizes.join(' / ')} series, 55 min at 15 s; query_range rate(…[5m]) over the 55 min at 15 s)`, rows);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
