/**
 * What both demos (scripts/demo-siem.ts, scripts/demo-oncall.ts) share: one
 * temporary directory for everything they create, removed on every way out
 * — the end, an error, Ctrl-C (exit 130) — after the things they started are
 * closed, last first; errors printed as one line with their code.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Agent, request } from 'undici';
import { isProbectlError } from '../src/core/errors.ts';
import { startService } from '../src/service.ts';
import { loadConfig } from '../src/settings.ts';

export const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
export const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

/** Runs `main` with a fresh directory (`<tmpdir>/<prefix>…`) and a way to register what must be closed before it is removed. */
export async function runInTempDir(prefix: string, main: (dir: string, onClose: (close: () => unknown) => void) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const closers: Array<() => unknown> = [];
  let cleaned = false;
  let interrupted = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    try {
      for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      process.stderr.write(`\nprobectl demo: ${signal}: stopping and removing ${dir}\n`);
      const forced = setTimeout(() => {
        rmSync(dir, { recursive: true, force: true });
        process.exit(130);
      }, 10_000);
      forced.unref();
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    await main(dir, (close) => void closers.push(close));
  } catch (err) {
    // After Ctrl-C the steps still running fail as the server closes under them: that is not news.
    if (!interrupted) process.stderr.write(`probectl demo: ${isProbectlError(err) ? `${err.message} [${err.code}]` : `failed: ${(err as Error)?.message ?? String(err)}`}\n`);
    process.exitCode = interrupted ? 130 : 1;
  } finally {
    await cleanup();
  }
}

/** A JSON call to the demo's server as `bearer` (the admin token by default). */
export type DemoApi = (method: string, path: string, body?: unknown, bearer?: string) => Promise<{ status: number; json: any }>;

/**
 * The real service in this process on the demo's directory (closed with it),
 * and a client of its API trusting its generated certificate.
 */
export async function startDemoService(dir: string, env: Record<string, string>, onClose: (close: () => unknown) => void): Promise<{ url: string; serverCa: string; api: DemoApi }> {
  const svc = await startService(loadConfig(env), { log: pino({ level: 'warn' }), env });
  onClose(() => svc.close());
  const serverCa = readFileSync(join(dir, 'tls', 'server.crt'), 'utf8');
  const dispatcher = new Agent({ connect: { ca: serverCa } });
  onClose(() => dispatcher.close());
  const admin = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
  const api: DemoApi = async (method, path, body, bearer = admin) => {
    const res = await request(`${svc.url}${path}`, {
      method: method as 'GET', dispatcher, body: body === undefined ? undefined : JSON.stringify(body),
      headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    });
    return { status: res.statusCode, json: (await res.body.json().catch(() => undefined)) as any };
  };
  return { url: svc.url, serverCa, api };
}
