/**
 * SIEM export end to end (formatter throughput is bench/siem-formatters.ts):
 * 1,000,000 stored audit events drained by a real `probectl
 *    serve` process to a local HTTPS Splunk HEC receiver with indexer
 *    acknowledgement (another process), on PGlite and on PostgreSQL, with the
 *    server's peak RSS (VmHWM).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/core/clock.ts';
import { appendAudit } from '../src/audit/log.ts';
import { bootstrap } from '../src/identity/bootstrap.ts';
import { insertTenant } from '../src/identity/tenants.ts';
import type { Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPglite } from '../src/store/pglite.ts';
import { openPostgres } from '../src/store/postgres.ts';
import { inSystem } from '../src/store/scope.ts';
import { serve } from '../test/helpers/process.ts';
import { build } from '../scripts/build-if-needed.ts';
import { leaf, testCa } from '../test/helpers/tls.ts';
import { seedAuditChain } from '../test/helpers/seed.ts';
import { caFile } from '../test/siem/helpers/forwarder.ts';
import { benchServerUrl, freshDatabaseOn, printTable } from './harness.ts';
import { databaseEnv } from '../test/helpers/keys.ts';

// The server runs as `npm start` and the `probectl` bin run it: the compiled launcher (which bounds the
// heap for serve), not TypeScript stripped at load. PROBECTL_BENCH_SIEM_NODE_ARGS adds rows that run the CLI
// directly with those node arguments instead (e.g. "--max-old-space-size=4096" for V8's unbounded defaults).
const LAUNCHER = new URL('../dist/cli/probectl.js', import.meta.url).pathname;
const DIST_CLI = new URL('../dist/main.js', import.meta.url).pathname;
const EVENTS = Number(process.env.PROBECTL_BENCH_SIEM_EVENTS ?? 1_000_000);
const TENANTS = Number(process.env.PROBECTL_BENCH_SIEM_TENANTS ?? 1);
const TOKEN = 'bench-hec-token';

interface ReceiverState { events: number; distinct: number }

async function startReceiver() {
  const cert = await leaf();
  const child = fork(new URL('./siem-receiver.ts', import.meta.url).pathname, [JSON.stringify({ certPem: cert.certPem, keyPem: cert.keyPem, token: TOKEN })], { stdio: 'inherit' });
  const state: ReceiverState = { events: 0, distinct: 0 };
  const port = await new Promise<number>((resolve) => child.on('message', (m: { port?: number } & Partial<ReceiverState>) => {
    if (m.port) resolve(m.port);
    if (m.events !== undefined) Object.assign(state, m);
  }));
  return { port, state, reset: () => child.send('reset'), stop: () => child.send('stop') };
}

/** Peak resident set of a process (VmHWM), in MiB. */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

export async function main(): Promise<void> {
  const receiver = await startReceiver();
  const ca = caFile((await testCa()).certPem);
  const rows: Record<string, string | number>[] = [];
  const per = Math.floor(EVENTS / TENANTS);
  const seeded = per * TENANTS;
  build();
  const extra = process.env.PROBECTL_BENCH_SIEM_NODE_ARGS;
  const runs: Array<{ name: 'pglite' | 'postgres'; nodeArgs: string | undefined }> = [
    { name: 'pglite' as const, nodeArgs: undefined },
    { name: 'postgres' as const, nodeArgs: undefined },
    ...(extra ? [{ name: 'pglite' as const, nodeArgs: extra }, { name: 'postgres' as const, nodeArgs: extra }] : []),
  ].filter((r) => (process.env.PROBECTL_BENCH_SIEM_DRIVERS ?? 'pglite,postgres').split(',').includes(r.name));
  for (const { name, nodeArgs } of runs) {
    const dataDir = mkdtempSync(join(tmpdir(), 'probectl-bench-siem-'));
    let databaseUrl: string | undefined;
    let drop: (() => Promise<void>) | undefined;
    let db: Db;
    if (name === 'pglite') {
      db = await openPglite(join(dataDir, 'pglite'));
    } else {
      const server = benchServerUrl();
      if (!server) {
        process.stderr.write('bench: no PostgreSQL server named; skipping the postgres row\n');
        break;
      }
      const fresh = await freshDatabaseOn(server);
      databaseUrl = fresh.url;
      drop = fresh.drop;
      db = await openPostgres({ connectionString: databaseUrl, poolSize: 4 });
    }
    await migrate(db);
    await bootstrap(db, systemClock, { tenantName: 'default', adminTokenPath: join(dataDir, 'admin-token'), audit: appendAudit });
    const ids = await inSystem(db, async (tx) => Promise.all(Array.from({ length: TENANTS }, async (_, i) => (await insertTenant(tx, `bench-siem-${i}`)).id)));
    const seedStart = Date.now();
    for (const id of ids) await seedAuditChain(db, id, per, { chunk: 10_000 });
    await db.close();
    process.stderr.write(`bench: ${name}: seeded ${seeded} audit events in ${((Date.now() - seedStart) / 1000).toFixed(1)} s\n`);

    receiver.reset();
    await new Promise((r) => setTimeout(r, 300));
    const start = process.hrtime.bigint();
    const probectl = await serve({
      PROBECTL_DATA_DIR: dataDir, PROBECTL_LISTEN: '127.0.0.1:0', PROBECTL_LOG_LEVEL: 'info',
      ...(databaseUrl ? databaseEnv(databaseUrl) : {}),
      PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_PRESET: 'splunk', PROBECTL_SIEM_ENDPOINT: `https://127.0.0.1:${receiver.port}/services/collector/raw`,
      PROBECTL_SIEM_TOKEN: TOKEN, PROBECTL_SIEM_CA_FILE: ca, PROBECTL_SIEM_SPLUNK_ACK: 'true', PROBECTL_SIEM_STREAMS: 'audit',
      PROBECTL_SIEM_BATCH_SIZE: process.env.PROBECTL_BENCH_SIEM_BATCH ?? '1000',
      ...(process.env.PROBECTL_BENCH_SIEM_BUFFER ? { PROBECTL_SIEM_BUFFER_EVENTS: process.env.PROBECTL_BENCH_SIEM_BUFFER } : {}),
    }, 300_000, nodeArgs === undefined ? LAUNCHER : DIST_CLI, nodeArgs?.split(/\s+/).filter(Boolean) ?? []);
    // The default tenant's own few audit events travel too; wait for the seeded ones.
    while (receiver.state.distinct < seeded) await new Promise((r) => setTimeout(r, 20));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const rss = peakRssMb(probectl.child.pid as number);
    await probectl.stop('SIGTERM');
    rows.push({ driver: name, 'started as': nodeArgs === undefined ? 'probectl serve (as shipped)' : `node ${nodeArgs} main.js serve`, tenants: TENANTS, events: seeded, 'delivered (acked)': receiver.state.distinct, seconds, 'events/s': Math.round(seeded / seconds), 'probectl peak RSS MB': rss });
    await drop?.();
    rmSync(dataDir, { recursive: true, force: true });
  }
  receiver.stop();
  printTable(`SIEM export end to end: ${seeded.toLocaleString('en-US')} stored audit events → HTTPS Splunk HEC (raw, CEF) with indexer acknowledgement, measured from server start`, rows);
}

if (import.meta.main) await main();
