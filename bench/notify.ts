/**
 * On-call mirroring on PostgreSQL (PROBECTL_BENCH_DATABASE_URL or
 * PROBECTL_TEST_DATABASE_URL), a real `probectl serve` process against a
 * local HTTPS connector endpoint in another process (bench/notify-receiver.ts);
 * the server is started as shipped (the compiled launcher, heap bounded):
 *
 * 1. inbound: signed webhook deliveries (portable body, X-Probectl-Signature)
 *    verified and applied per second — each resolves one incident, is
 *    audited, and syncs the incident's other connector through the outbox;
 * 2. outbox: 10,000 incidents opened across 100 tenants with two connectors
 *    each, the endpoint answering after 20 ms — connector operations per
 *    second, and the server's memory during the drain;
 * 3. latency: from posting a signal that opens an incident to its page
 *    arriving at the endpoint, with the default poll interval.
 *
 * Sizes: PROBECTL_BENCH_NOTIFY_INBOUND (10,000), PROBECTL_BENCH_NOTIFY_TENANTS
 * (100), PROBECTL_BENCH_NOTIFY_INCIDENTS (10,000), PROBECTL_BENCH_NOTIFY_PAGES (200);
 * PROBECTL_BENCH_NOTIFY_INBOUND_TENANTS (1,10) the tenants the inbound rows spread over;
 * PROBECTL_BENCH_NOTIFY_ONLY picks measurements (inbound,outbox,latency);
 * PROBECTL_BENCH_NOTIFY_NODE_ARGS adds node arguments to the server (e.g. --cpu-prof).
 */
import { appendAudit } from '../src/audit/log.ts';
import { fork, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import { systemClock } from '../src/core/clock.ts';
import { bootstrap } from '../src/identity/bootstrap.ts';
import { insertTenant } from '../src/identity/tenants.ts';
import type { NotifySettings } from '../src/notify/config/vars.ts';
import { probectlSignature } from '../src/notify/providers/shared/signing.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/postgres.ts';
import { inSystem, inTenant } from '../src/store/scope.ts';
import { loadConfig } from '../src/settings.ts';
import { leaf, testCa } from '../test/helpers/tls.ts';
import { build } from '../scripts/build-if-needed.ts';
import { benchServerUrl, freshDatabaseOn, printTable, processTreeCpuSeconds } from './harness.ts';
import { databaseEnv } from '../test/helpers/keys.ts';

const INBOUND = Number(process.env.PROBECTL_BENCH_NOTIFY_INBOUND ?? 10_000);
const TENANTS = Number(process.env.PROBECTL_BENCH_NOTIFY_TENANTS ?? 100);
const INCIDENTS = Number(process.env.PROBECTL_BENCH_NOTIFY_INCIDENTS ?? 10_000);
const PAGES = Number(process.env.PROBECTL_BENCH_NOTIFY_PAGES ?? 200);
const INBOUND_SECRET = 'bench-inbound-secret';
const HOOK_SECRET = 'bench-hook-secret';
const ROUTING_KEY = 'B'.repeat(32);
// The server runs as `npm start` runs it: the compiled launcher, which bounds the heap for serve.
const LAUNCHER = new URL('../dist/cli/probectl.js', import.meta.url).pathname;
const INBOUND_TENANTS = (process.env.PROBECTL_BENCH_NOTIFY_INBOUND_TENANTS ?? '1,10').split(',').map(Number);

interface Receiver { port: number; state: { requests: number; distinct: number }; opens: Map<string, number>; reset(): void; reportOpens(): void; gate(open: boolean): void; stop(): void }

async function startReceiver(delayMs: number): Promise<Receiver> {
  const cert = await leaf();
  const child = fork(new URL('./notify-receiver.ts', import.meta.url).pathname, [JSON.stringify({ certPem: cert.certPem, keyPem: cert.keyPem, delayMs })], { stdio: 'inherit' });
  const state = { requests: 0, distinct: 0 };
  const opens = new Map<string, number>();
  const port = await new Promise<number>((resolve) => child.on('message', (m: { port?: number; requests?: number; distinct?: number; open?: string; at?: number }) => {
    if (m.port) resolve(m.port);
    if (m.requests !== undefined) Object.assign(state, { requests: m.requests, distinct: m.distinct });
    if (m.open !== undefined) opens.set(m.open, m.at as number);
  }));
  return { port, state, opens, reset: () => child.send('reset'), reportOpens: () => child.send('report-opens'), gate: (open) => child.send(open ? 'open' : 'gate'), stop: () => child.send('stop') };
}

interface Server { pid: number; url: string; stop(): Promise<void> }

/**
 * `probectl serve` with its log in a file (a pipe the benchmark process must
 * drain would slow the server's synchronous log writes under load); the URL
 * from its "probectl serving" line. PROBECTL_BENCH_NOTIFY_NODE_ARGS adds
 * node arguments (e.g. --cpu-prof).
 */
async function serveToFile(env: Record<string, string>, logFile: string): Promise<Server> {
  const out = openSync(logFile, 'w');
  const nodeArgs = (process.env.PROBECTL_BENCH_NOTIFY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, LAUNCHER, 'serve'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', out, out] });
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const end = Date.now() + 120_000;
  for (;;) {
    const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('"probectl serving"'));
    if (line) {
      return {
        pid: child.pid as number, url: (JSON.parse(line) as { url: string }).url,
        async stop() {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
          await exited;
          clearTimeout(timer);
        },
      };
    }
    if (child.exitCode !== null || Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`bench: the server did not start:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Deployment { dataDir: string; tenants: string[]; dbUrl: string; server: Server; pool: Pool; admin: string; connectors: NotifySettings['connectors']; close(): Promise<void> }

/** A fresh PostgreSQL database with the tenants, and `probectl serve` on it with the env the tenants' ids give. */
async function deploy(serverUrl: string, names: readonly string[], env: (tenants: string[], dataDir: string) => Record<string, string>, seed?: (db: Awaited<ReturnType<typeof openPostgres>>, tenants: string[], connectors: NotifySettings['connectors']) => Promise<void>): Promise<Deployment> {
  const dataDir = mkdtempSync(join(tmpdir(), 'probectl-bench-notify-'));
  const fresh = await freshDatabaseOn(serverUrl, 'probectl_bench');
  const db = await openPostgres({ connectionString: fresh.url, poolSize: 4 });
  await migrate(db);
  await bootstrap(db, systemClock, { tenantName: 'default', adminTokenPath: join(dataDir, 'admin-token'), audit: appendAudit });
  const tenants = await inSystem(db, async (tx) => {
    const ids: string[] = [];
    for (const n of names) ids.push((await insertTenant(tx, n)).id);
    return ids;
  });
  const fullEnv = { PROBECTL_DATA_DIR: dataDir, PROBECTL_LISTEN: '127.0.0.1:0', PROBECTL_LOG_LEVEL: 'info', ...databaseEnv(fresh.url), PROBECTL_DATABASE_POOL_SIZE: '20', ...env(tenants, dataDir) };
  const connectors = (loadConfig(fullEnv).integrations.notify as NotifySettings).connectors;
  await seed?.(db, tenants, connectors);
  await db.close();
  // A running install's tables have planner statistics (autovacuum analyzes them as they grow); rows
  // seeded in bulk a moment ago have none, and the plans then chosen are not the ones deployed.
  const client = new pg.Client({ connectionString: fresh.url });
  await client.connect();
  try {
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
  const server = await serveToFile(fullEnv, join(dataDir, 'server.log'));
  const pool = new Pool(server.url, { connections: 64, connect: { ca: readFileSync(join(dataDir, 'tls', 'server.crt'), 'utf8') } });
  return {
    dataDir, tenants, dbUrl: fresh.url, server, pool, connectors, admin: readFileSync(join(dataDir, 'admin-token'), 'utf8').trim(),
    async close() {
      await pool.close();
      await server.stop();
      await fresh.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function call(pool: Pool, method: 'GET' | 'POST', path: string, opts: { token?: string; body?: string; headers?: Record<string, string> }): Promise<{ status: number; json: any }> {
  const res = await pool.request({ method, path, headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(opts.headers ?? {}) }, body: opts.body ?? null });
  return { status: res.statusCode, json: await res.body.json().catch(() => undefined) };
}

async function tenantToken(d: Deployment, tenant: string): Promise<string> {
  const res = await call(d.pool, 'POST', '/v1/tokens', { token: d.admin, body: JSON.stringify({ tenant, permissions: ['signals-write', 'incidents-read', 'admin'], name: 'bench' }) });
  return res.json.token as string;
}

async function runConcurrently<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  }));
}

async function until(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`bench: ${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function rssMb(pid: number): number {
  return Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
}


/** The machine's 1-minute load average (the benchmark shares its cores). */
function load(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ')[0] as string;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * 1. Signed inbound deliveries spread over `tenantCount` tenants, each
 * resolving a seeded incident linked to a webhook (the origin) and a
 * PagerDuty connector (synced through the outbox). One tenant's changes
 * serialize on its audit chain head (every change is a hash-chained record),
 * so tenants are where the parallelism is.
 */
async function inbound(serverUrl: string, receiver: Receiver, caPath: string, tenantCount: number): Promise<Record<string, string | number>> {
  const deliveries: Array<{ inbound: string; key: string }> = [];
  const names = Array.from({ length: tenantCount }, (_, i) => `inbound-${i}`);
  const d = await deploy(serverUrl, names, (tenants, dir) => {
    writeFileSync(join(dir, 'ca.pem'), readFileSync(caPath));
    return {
      PROBECTL_NOTIFY_CONNECTORS: tenants.flatMap((t, i) => [`${t}|webhook|https://127.0.0.1:${receiver.port}/hook${i}|${HOOK_SECRET}`, `${t}|pagerduty|https://127.0.0.1:${receiver.port}/v2/enqueue|${ROUTING_KEY}`]).join(','),
      PROBECTL_NOTIFY_INBOUND: tenants.map((t, i) => `hook${i}:${t}:webhook:${INBOUND_SECRET}`).join(','),
      PROBECTL_NOTIFY_CA_FILE: join(dir, 'ca.pem'),
    };
  }, async (db, tenants, connectors) => {
    // Incidents already mirrored (both links open), seeded in bulk.
    const per = Math.ceil(INBOUND / tenants.length);
    for (const [i, tenant] of tenants.entries()) {
      const ids = Array.from({ length: per }, () => crypto.randomUUID());
      for (const id of ids) deliveries.push({ inbound: `hook${i}`, key: `probectl-${id}` });
      await inTenant(db, tenant, async (tx) => {
        const now = new Date();
        await tx.query(
          `INSERT INTO incidents (id, tenant_id, correlation_key, kind_family, target, title, status, severity, signal_count, opened_at, updated_at, last_signal_at)
           SELECT id, $1, 'link|t-' || id, 'link', 't-' || id, 'seeded', 'open', 'critical', 1, $3, $3, $3 FROM unnest($2::uuid[]) AS u(id)`, [tenant, ids, now]);
        for (const c of connectors.filter((x) => x.tenant === tenant)) {
          await tx.query(
            `INSERT INTO notify_links (tenant_id, connector, incident_id, provider, state, status, ref_id, ref_keys, created_at, updated_at)
             SELECT $1, $2, id, $3, 'open', 'open', 'probectl-' || id, ARRAY['probectl-' || id], $5, $5 FROM unnest($4::uuid[]) AS u(id)`, [tenant, c.id, c.provider.name, ids, now]);
          await tx.query(`INSERT INTO notify_link_refs (tenant_id, ref, connector, incident_id) SELECT $1, 'probectl-' || id, $2, id FROM unnest($3::uuid[]) AS u(id)`, [tenant, c.id, ids]);
        }
      });
    }
  });
  // Interleave the tenants, as webhooks from many tenants arrive.
  deliveries.sort((a, b) => Number(a.key < b.key) - Number(a.key > b.key));
  try {
    receiver.reset();
    const rss0 = rssMb(d.server.pid);
    const cpu0 = processTreeCpuSeconds(d.server.pid);
    let applied = 0;
    const start = process.hrtime.bigint();
    await runConcurrently(deliveries, 64, async ({ inbound: id, key }) => {
      const body = JSON.stringify({ external_ref: key, status: 'resolved' });
      const ts = Math.floor(Date.now() / 1000);
      const res = await call(d.pool, 'POST', `/ingest/itsm/webhook/${id}`, { body, headers: { 'x-probectl-timestamp': String(ts), 'x-probectl-signature': probectlSignature(INBOUND_SECRET, ts, body) } });
      if (res.status === 200 && res.json?.result === 'applied') applied += 1;
      else throw new Error(`bench: inbound answered ${res.status} ${JSON.stringify(res.json)}`);
    });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpuMs = ((processTreeCpuSeconds(d.server.pid) - cpu0) * 1000) / applied;
    const loadAvg = load();
    const syncStart = Date.now();
    await until(() => receiver.state.distinct >= deliveries.length, 'the PagerDuty resolves synced', 300_000);
    return {
      measurement: `inbound signed deliveries verified and applied, ${tenantCount} tenant${tenantCount === 1 ? '' : 's'} (64 concurrent)`, operations: applied, seconds, 'per second': Math.round(applied / seconds),
      target: '≥ 2,000/s', note: `each audited and synced to the other connector (drained ${((Date.now() - syncStart) / 1000).toFixed(1)} s after the last); server CPU ${cpuMs.toFixed(2)} ms per delivery; RSS ${rss0}→${rssMb(d.server.pid)} MB; load ${loadAvg}`,
    };
  } finally {
    await d.close();
  }
}

/**
 * 2. INCIDENTS incidents across TENANTS tenants, two webhook connectors each,
 * the endpoint answering after 20 ms. The endpoint refuses (503, Retry-After
 * 1 s) while the incidents are ingested, so the whole backlog is in the
 * outbox; then it opens and the drain is timed — connector operations per
 * second — with the server's memory sampled throughout.
 */
async function outbox(serverUrl: string, receiver: Receiver, caPath: string): Promise<Record<string, string | number>> {
  const names = Array.from({ length: TENANTS }, (_, i) => `bench-${i}`);
  const d = await deploy(serverUrl, names, (tenants, dir) => {
    writeFileSync(join(dir, 'ca.pem'), readFileSync(caPath));
    return {
      PROBECTL_NOTIFY_CONNECTORS: tenants.flatMap((t, i) => [`${t}|webhook|https://127.0.0.1:${receiver.port}/t${i}/a|${HOOK_SECRET}`, `${t}|webhook|https://127.0.0.1:${receiver.port}/t${i}/b|${HOOK_SECRET}`]).join(','),
      PROBECTL_NOTIFY_CA_FILE: join(dir, 'ca.pem'),
      // Connectors that met the closed endpoint come back within a second of it opening.
      PROBECTL_NOTIFY_RETRY_BASE: '100ms', PROBECTL_NOTIFY_RETRY_MAX: '1s',
    };
  });
  try {
    const tokens = new Map<string, string>();
    for (const t of d.tenants) tokens.set(t, await tenantToken(d, t));
    receiver.reset();
    receiver.gate(false);
    await new Promise((r) => setTimeout(r, 300));
    const pid = d.server.pid;
    const rssStart = rssMb(pid);
    let rssPeak = rssStart;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssMb(pid));
    }, 200);
    const per = Math.floor(INCIDENTS / TENANTS);
    const ops = per * TENANTS * 2;
    const ingestStart = process.hrtime.bigint();
    await runConcurrently(d.tenants, 8, async (t) => {
      const batch = Array.from({ length: per }, (_, k) => ({ kind: 'link.down', severity: 'critical', confidence: 90, target: `sw-${k}:ge-0/0/1`, title: `link ${k} down` }));
      const res = await call(d.pool, 'POST', '/v1/signals', { token: tokens.get(t), body: JSON.stringify(batch) });
      if (res.status !== 201) throw new Error(`bench: signals answered ${res.status}`);
    });
    const ingested = Number(process.hrtime.bigint() - ingestStart) / 1e9;
    const rssBacklog = rssMb(pid);
    const start = process.hrtime.bigint();
    const cpu0 = processTreeCpuSeconds(pid);
    receiver.gate(true);
    await until(() => receiver.state.distinct >= ops, 'every operation delivered', 600_000);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpuMs = ((processTreeCpuSeconds(pid) - cpu0) * 1000) / ops;
    clearInterval(sampler);
    const rssEnd = rssMb(pid);
    return {
      measurement: `outbox drain: ${(per * TENANTS).toLocaleString('en-US')} incidents, ${TENANTS} tenants × 2 connectors, endpoint 20 ms`, operations: ops, seconds, 'per second': Math.round(ops / seconds),
      target: '≥ 1,000/s, memory flat', note: `ingest (outbox written) ${ingested.toFixed(1)} s before; ${receiver.state.requests - receiver.state.distinct} duplicates; server CPU ${cpuMs.toFixed(2)} ms per operation; RSS ${rssStart} MB idle, ${rssBacklog} with the backlog, peak ${rssPeak}, ${rssEnd} after; load ${load()}`,
    };
  } finally {
    await d.close();
  }
}

/** 3. From a signal that opens an incident to its page arriving, one at a time, default poll interval. */
async function latency(serverUrl: string, receiver: Receiver, caPath: string): Promise<Record<string, string | number>> {
  const d = await deploy(serverUrl, ['acme'], ([acme], dir) => {
    writeFileSync(join(dir, 'ca.pem'), readFileSync(caPath));
    return { PROBECTL_NOTIFY_CONNECTORS: `${acme}|pagerduty|https://127.0.0.1:${receiver.port}/v2/enqueue|${ROUTING_KEY}`, PROBECTL_NOTIFY_CA_FILE: join(dir, 'ca.pem') };
  });
  try {
    const token = await tenantToken(d, d.tenants[0] as string);
    receiver.reportOpens();
    const samples: number[] = [];
    for (let i = 0; i < PAGES; i++) {
      const sent = Date.now();
      const res = await call(d.pool, 'POST', '/v1/signals', { token, body: JSON.stringify({ kind: 'link.down', severity: 'critical', confidence: 90, target: `lat-${i}`, title: `link ${i} down` }) });
      const key = `probectl-${res.json.signals[0].incident_id as string}`;
      await until(() => receiver.opens.has(key), `page ${i}`, 30_000);
      samples.push((receiver.opens.get(key) as number) - sent);
      await new Promise((r) => setTimeout(r, 25));
    }
    samples.sort((a, b) => a - b);
    return {
      measurement: `signal → page at the endpoint, ${PAGES} new incidents one by one (poll interval 1s)`, operations: PAGES, seconds: samples.reduce((a, b) => a + b, 0) / 1000,
      'per second': '-', target: 'p50 < 1 s', note: `p50 ${percentile(samples, 50)} ms, p95 ${percentile(samples, 95)} ms, p99 ${percentile(samples, 99)} ms, max ${samples.at(-1)} ms`,
    };
  } finally {
    await d.close();
  }
}

export async function main(): Promise<void> {
  const serverUrl = benchServerUrl();
  if (!serverUrl) {
    process.stderr.write('bench: notify runs on PostgreSQL: set PROBECTL_BENCH_DATABASE_URL (or PROBECTL_TEST_DATABASE_URL); skipped\n');
    return;
  }
  build();
  const dir = mkdtempSync(join(tmpdir(), 'probectl-bench-notify-ca-'));
  const caPath = join(dir, 'ca.pem');
  writeFileSync(caPath, (await testCa()).certPem);
  const fast = await startReceiver(0);
  const slow = await startReceiver(20);
  const rows: Record<string, string | number>[] = [];
  const only = (process.env.PROBECTL_BENCH_NOTIFY_ONLY ?? 'inbound,outbox,latency').split(',');
  try {
    if (only.includes('inbound')) for (const n of INBOUND_TENANTS) rows.push(await inbound(serverUrl, fast, caPath, n));
    if (only.includes('outbox')) rows.push(await outbox(serverUrl, slow, caPath));
    if (only.includes('latency')) rows.push(await latency(serverUrl, fast, caPath));
  } finally {
    fast.stop();
    slow.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  printTable('On-call mirroring on PostgreSQL: probectl serve (one process) ↔ a local HTTPS endpoint (another process)', rows);
}

if (import.meta.main) await main();
