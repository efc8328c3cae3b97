/**
 * A real Prometheus for peer tests (Debian package `prometheus`, installed by
 * .ci/install-peers.sh): started on a free loopback port with a temporary
 * configuration and TSDB, stopped (SIGTERM, then SIGKILL) and removed by
 * stop(). Also: a probectl test server whose HTTPS certificate is signed by a
 * private test CA (so Prometheus and promtool verify it with that CA only),
 * and promtool runs with a deadline.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { spawnPeer } from './child.ts';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startTestApp, tenantWithToken, type TestApp } from '../helpers/app.ts';
import { collect } from '../helpers/process.ts';
import { leaf, testCa } from '../helpers/tls.ts';

function requireProgram(name: string): void {
  const r = spawnSync(name, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) throw new Error(`${name} is not installed: run .ci/install-peers.sh (Debian package prometheus)`);
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface PrometheusPeer {
  url: string;
  dir: string;
  /** GET <url><path> as JSON (5 s deadline). */
  api<T = any>(path: string): Promise<T>;
  /** Everything Prometheus logged so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts Prometheus with `config` (YAML text; `files` written next to it first) and extra flags. */
export async function startPrometheus(config: string, opts: { files?: Record<string, string>; flags?: string[] } = {}): Promise<PrometheusPeer> {
  requireProgram('prometheus');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const peer = await spawnPeer('prometheus', 'probectl-prom-peer-', 60_000, async (dir) => {
    for (const [name, content] of Object.entries(opts.files ?? {})) writeFileSync(join(dir, name), content, { mode: 0o600 });
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const child = spawn('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
      ...(opts.flags ?? []),
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    return { child, ready: `${url}/-/ready` };
  });
  return {
    url, ...peer,
    async api(path) {
      const res = await request(`${url}${path}`, { signal: AbortSignal.timeout(5000) });
      return res.body.json() as Promise<any>;
    },
  };
}

/**
 * promtool with a deadline (asynchronous: the probectl it queries may run in this process);
 * throws with its output unless it exits 0.
 */
/**
 * Prometheus scraping `sourcePort` every second and remote-writing to probectl's
 * /v1/prometheus/write at `srv` with the tenant's token (Bearer, from a file) over the
 * private CA; `queue` is the remote_write queue_config (YAML flow mapping).
 */
export function startRemoteWritingPrometheus(sourcePort: number, srv: PrivateCaApp, token: string, queue: string): Promise<PrometheusPeer> {
  return startPrometheus([
    'global: { scrape_interval: 1s, scrape_timeout: 1s }',
    'scrape_configs:',
    '  - job_name: source',
    `    static_configs: [{ targets: ['127.0.0.1:${sourcePort}'] }]`,
    'remote_write:',
    `  - url: https://127.0.0.1:${new URL(srv.app.url).port}/v1/prometheus/write`,
    `    tls_config: { ca_file: ${srv.caFile} }`,
    '    authorization: { type: Bearer, credentials_file: token.txt }',
    `    queue_config: ${queue}`,
    '',
  ].join('\n'), { files: { 'token.txt': token } });
}

export async function promtool(args: string[], env: Record<string, string> = {}): Promise<string> {
  requireProgram('promtool');
  const r = await collect(spawn('promtool', args, { env: { PATH: process.env.PATH ?? '', ...env } }), 30_000);
  if (r.status !== 0) throw new Error(`promtool ${args.join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

export interface PrivateCaApp {
  app: TestApp;
  /** PEM of the private CA that signed the server's certificate (the only trust Prometheus gets). */
  caPem: string;
  caFile: string;
  close(): Promise<void>;
}

/** A probectl test server whose HTTPS certificate (127.0.0.1, localhost) is signed by a private test CA. */
export async function startPrivateCaApp(env: Record<string, string> = {}): Promise<PrivateCaApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'probectl-peer-data-'));
  try {
    const ca = await testCa();
    const cert = await leaf();
    mkdirSync(join(dataDir, 'tls'), { mode: 0o700 });
    // The chain is served; the test client trusts it whole, Prometheus only the CA.
    writeFileSync(join(dataDir, 'tls', 'server.crt'), `${cert.certPem}${ca.certPem}`);
    writeFileSync(join(dataDir, 'tls', 'server.key'), cert.keyPem, { mode: 0o600 });
    const caFile = join(dataDir, 'ca.pem');
    writeFileSync(caFile, ca.certPem);
    const app = await startTestApp({ PROBECTL_DATA_DIR: dataDir, ...env });
    return {
      app, caPem: ca.certPem, caFile,
      async close() {
        try {
          await app.close();
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/** A tenant with a token holding `permissions` (tenantWithToken, its token named "peer"). */
export function peerTenant(app: TestApp, name: string, permissions: string[]): Promise<{ id: string; token: string }> {
  return tenantWithToken(app, name, permissions, 'peer');
}

/** Polls `check` every 500 ms until it returns a value or `ms` pass. */
export async function until<T>(ms: number, check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
