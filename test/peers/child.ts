import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';

/** Stops a peer program this test started: SIGTERM, then SIGKILL if it has not exited within 20 s. Resolves once it exited. */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Waits until GET `url` answers 200 (each try with a 2 s deadline, every 200 ms), throwing with
 * the program's output when it exits first or `ms` pass. The caller stops it on a throw.
 */
export async function waitReady(child: ChildProcess, url: string, what: string, ms: number, output: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${output()}`);
    const ready = await request(url, { signal: AbortSignal.timeout(2000) }).then(async (r) => {
      await r.body.text();
      return r.statusCode === 200;
    }, () => false);
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${ms / 1000} s:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface SpawnedPeer {
  dir: string;
  /** Everything it printed so far. */
  output(): string;
  /** Stops it (stopChild) and removes `dir`. */
  stop(): Promise<void>;
}

/**
 * A peer program in a temporary directory of its own (`prefix`): `launch(dir)` writes its files
 * and spawns it with piped output, then it must answer 200 at `ready` within `ms`. A failed start
 * stops it and removes the directory before it throws.
 */
export async function spawnPeer(what: string, prefix: string, ms: number, launch: (dir: string) => Promise<{ child: ChildProcess; ready: string }>): Promise<SpawnedPeer> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let child: ChildProcess | undefined;
  let out = '';
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const launched = await launch(dir);
    child = launched.child;
    child.stdout?.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr?.on('data', (c: Buffer) => { out += c.toString(); });
    await waitReady(child, launched.ready, what, ms, () => out);
    return { dir, output: () => out, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
