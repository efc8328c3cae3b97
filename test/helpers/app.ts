import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { request as undiciRequest } from 'undici';
import { loadConfig } from '../../src/settings.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { testAgent } from './http.ts';
import { freshDatabaseOn, type FreshDatabase } from './pg.ts';
import { databaseEnv, TEST_ENCRYPTION_KEY } from './keys.ts';

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
  /** The body as received (a Content-Encoding: gzip body stays compressed; `text` is its UTF-8 reading). */
  bytes: Buffer;
}

export interface RequestOptions {
  token?: string | undefined;
  /** A full Authorization header value (overrides token). */
  authorization?: string;
  body?: unknown;
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
}

export interface TestApp {
  url: string;
  dataDir: string;
  adminToken: string;
  service: RunningService;
  /** Everything the server logged, one JSON line per entry. */
  logs: string[];
  request(method: string, path: string, opts?: RequestOptions): Promise<ApiResponse>;
  close(): Promise<void>;
}

/** A fresh database URL on the server named by PROBECTL_TEST_DATABASE_URL, or undefined for PGlite. */
export async function freshDatabaseUrl(): Promise<FreshDatabase | undefined> {
  const serverUrl = process.env.PROBECTL_TEST_DATABASE_URL;
  return serverUrl ? freshDatabaseOn(serverUrl) : undefined;
}

/**
 * Starts the real service in this process: real HTTPS with the generated
 * certificate (trusted by this client, validation on), a fresh data directory
 * and database. If starting fails, what was made so far is removed again.
 */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const dataDir = env.PROBECTL_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'probectl-test-'));
  const undo: (() => Promise<void> | void)[] = [];
  if (!env.PROBECTL_DATA_DIR) undo.push(() => rmSync(dataDir, { recursive: true, force: true }));
  // Every step runs even if one fails; the first failure is reported after all ran.
  const rollback = async () => {
    const failures: unknown[] = [];
    for (const step of undo.reverse()) await Promise.resolve().then(step).catch((err: unknown) => failures.push(err));
    undo.length = 0;
    if (failures.length > 0) throw failures[0];
  };
  try {
    const database = env.PROBECTL_DATABASE_URL ? undefined : await freshDatabaseUrl();
    if (database) undo.push(() => database.drop());
    const fullEnv: NodeJS.ProcessEnv = {
      PROBECTL_DATA_DIR: dataDir,
      PROBECTL_LISTEN: '127.0.0.1:0',
      PROBECTL_LOG_LEVEL: 'info',
      ...(database ? databaseEnv(database.url) : {}),
      ...(env.PROBECTL_DATABASE_URL && !env.PROBECTL_ENCRYPTION_KEY ? { PROBECTL_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } : {}),
      ...env,
    };
    const logs: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
    const service = await startService(loadConfig(fullEnv), { log, env: fullEnv });
    undo.push(() => service.close());
    const agent = testAgent(readFileSync(join(dataDir, 'tls', 'server.crt'), 'utf8'));
    undo.push(() => agent.close());
    const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    return app(service, agent, dataDir, adminToken, logs, rollback);
  } catch (err) {
    await rollback().catch(() => undefined);
    throw err;
  }
}

function app(service: RunningService, agent: ReturnType<typeof testAgent>, dataDir: string, adminToken: string, logs: string[], close: () => Promise<void>): TestApp {
  return {
    url: service.url,
    dataDir,
    adminToken,
    service,
    logs,
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.authorization) headers.authorization = opts.authorization;
      else if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let body: string | Buffer | undefined;
      if (opts.rawBody !== undefined) body = opts.rawBody;
      else if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await undiciRequest(`${service.url}${path}`, { method: method as 'GET', headers, body, dispatcher: agent });
      const bytes = Buffer.from(await res.body.arrayBuffer());
      const text = bytes.toString('utf8');
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, headers: res.headers, text, json, bytes };
    },
    /** Stops the service, closes the client and removes the database and data directory; every step runs even if one fails. */
    close,
  };
}

/** A new tenant of `app` (created by its admin) and a token of it holding `permissions`; throws when either is refused. */
export async function tenantWithToken(app: TestApp, name: string, permissions: readonly string[], tokenName = 't'): Promise<{ id: string; token: string }> {
  const t = await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name } });
  if (t.status !== 201) throw new Error(t.text);
  const k = await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant: t.json.id, permissions, name: tokenName } });
  if (k.status !== 201) throw new Error(k.text);
  return { id: t.json.id as string, token: k.json.token as string };
}
