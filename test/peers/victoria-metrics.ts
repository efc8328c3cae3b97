/**
 * A real VictoriaMetrics single-node for peer tests (built by .ci/install-peers.sh into
 * .peers/bin/victoria-metrics, `go install …@v1.151.0`): started on a free loopback port with
 * a temporary storage directory, stopped (SIGTERM, then SIGKILL) by stop(). `restart()` starts
 * it again on the same port and storage (the engine coming back after an outage).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { stopChild, waitReady } from './child.ts';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { freePort } from './prometheus.ts';

export const VICTORIA_METRICS_BIN = process.env.PROBECTL_PEER_VICTORIA_METRICS ?? resolve(import.meta.dirname, '../../.peers/bin/victoria-metrics');

export interface VictoriaPeer {
  url: string;
  /** GET <url><path> as JSON (5 s deadline). */
  api<T = any>(path: string): Promise<T>;
  /** Makes recently written samples searchable now (/internal/force_flush). */
  flush(): Promise<void>;
  output(): string;
  /** Stops the process, keeping its storage. */
  kill(): Promise<void>;
  /** Starts it again on the same port and storage. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startVictoriaMetrics(): Promise<VictoriaPeer> {
  if (!existsSync(VICTORIA_METRICS_BIN)) throw new Error(`victoria-metrics is not installed at ${VICTORIA_METRICS_BIN}: run .ci/install-peers.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'probectl-vm-peer-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let out = '';
  const kill = async () => {
    await stopChild(child);
  };
  const start = async () => {
    child = spawn(VICTORIA_METRICS_BIN, [
      `-storageDataPath=${join(dir, 'data')}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=30d',
      // Recent samples searchable at once, and no rollup cache: answers depend on the samples only.
      '-search.latencyOffset=0s', '-search.disableCache', '-loggerLevel=WARN',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr?.on('data', (c: Buffer) => { out += c.toString(); });
    await waitReady(child, `${url}/health`, 'victoria-metrics', 60_000, () => out);
  };
  const stop = async () => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await start();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url, output: () => out, kill, restart: start, stop,
    async api(path) {
      const res = await request(`${url}${path}`, { signal: AbortSignal.timeout(5000) });
      return res.body.json() as Promise<any>;
    },
    async flush() {
      const res = await request(`${url}/internal/force_flush`, { signal: AbortSignal.timeout(5000) });
      await res.body.text();
    },
  };
}
