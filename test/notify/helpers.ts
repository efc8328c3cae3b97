import { appendAudit } from '../../src/audit/log.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/core/clock.ts';
import { bootstrap } from '../../src/identity/bootstrap.ts';
import { insertTenant } from '../../src/identity/tenants.ts';
import { migrate } from '../../src/store/migrate.ts';
import { openPglite } from '../../src/store/pglite.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { inSystem, inTenant } from '../../src/store/scope.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { freshDatabaseOn } from '../helpers/pg.ts';
import { databaseEnv } from '../helpers/keys.ts';

/** Where cleanups go: a test's context, or a suite's `closer()`. */
export interface Closer {
  after(fn: () => unknown): void;
}

/** A Closer for a suite's before/after hooks: `run()` undoes everything registered, last first. */
export function closer(): Closer & { run(): Promise<void> } {
  const fns: Array<() => unknown> = [];
  return {
    after: (fn) => void fns.push(fn),
    async run() {
      for (const fn of fns.reverse()) await Promise.resolve().then(fn).catch(() => undefined);
      fns.length = 0;
    },
  };
}

/**
 * A data directory and a migrated database that already holds the named
 * tenants (connectors must name existing tenants at start): the embedded
 * database in the directory, or — when PROBECTL_TEST_DATABASE_URL names a
 * PostgreSQL server and `embedded` is not asked for — a fresh database there
 * (its URL in `env`). Removed when the test ends.
 */
export async function prepareDataDir(t: Closer, names: readonly string[], opts: { embedded?: boolean } = {}): Promise<{ dataDir: string; tenants: Record<string, string>; env: Record<string, string> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'probectl-notify-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const server = opts.embedded ? undefined : process.env.PROBECTL_TEST_DATABASE_URL;
  const fresh = server ? await freshDatabaseOn(server) : undefined;
  if (fresh) t.after(() => fresh.drop());
  const db = fresh ? await openPostgres({ connectionString: fresh.url, poolSize: 2 }) : await openPglite(join(dataDir, 'pglite'));
  const tenants: Record<string, string> = {};
  try {
    await migrate(db);
    await bootstrap(db, systemClock, { tenantName: 'default', adminTokenPath: join(dataDir, 'admin-token'), audit: appendAudit });
    for (const name of names) tenants[name] = await inSystem(db, async (tx) => (await insertTenant(tx, name)).id);
  } finally {
    await db.close();
  }
  return { dataDir, tenants, env: fresh ? databaseEnv(fresh.url) : {} };
}

/** Writes a PEM (the stand-ins' CA) into the data directory and returns its path. */
export function pemFile(dataDir: string, pem: string, name = 'vendors-ca.pem'): string {
  const path = join(dataDir, name);
  writeFileSync(path, pem);
  return path;
}

export interface NotifyApp {
  app: TestApp;
  tenants: Record<string, string>;
  dataDir: string;
  /** The server's certificate (to trust when emitting webhooks at it). */
  serverCa: string;
  /** A token of the tenant holding every tenant permission. */
  token(tenant: string): Promise<string>;
  /** POSTs one signal as the tenant; returns its incident id. */
  signal(tenant: string, s?: Partial<{ kind: string; severity: string; target: string; title: string }>): Promise<string>;
  /** Rows of a notify table for a tenant. */
  rows<R = Record<string, unknown>>(tenant: string, sql: string, params?: unknown[]): Promise<R[]>;
}

/** The real server in this process with tenants created first and the env built from their ids. */
export async function startNotifyApp(t: Closer, names: readonly string[], env: (tenants: Record<string, string>, dataDir: string) => Record<string, string>): Promise<NotifyApp> {
  const { dataDir, tenants, env: dbEnv } = await prepareDataDir(t, names);
  const app = await startTestApp({ PROBECTL_DATA_DIR: dataDir, ...dbEnv, ...env(tenants, dataDir) });
  t.after(() => app.close());
  const tokens = new Map<string, string>();
  const token = async (tenant: string) => {
    let tok = tokens.get(tenant);
    if (!tok) {
      const res = await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant, permissions: ['admin'], name: 'notify-test' } });
      if (res.status !== 201) throw new Error(`token: ${res.text}`);
      tok = res.json.token as string;
      tokens.set(tenant, tok);
    }
    return tok;
  };
  return {
    app, tenants, dataDir, token,
    serverCa: readFileSync(join(dataDir, 'tls', 'server.crt'), 'utf8'),
    async signal(tenant, s = {}) {
      const res = await app.request('POST', '/v1/signals', { token: await token(tenant), body: { kind: s.kind ?? 'link.down', severity: s.severity ?? 'critical', confidence: 90, target: s.target ?? 'core-sw-1:ge-0/0/1', title: s.title ?? 'Link down on core-sw-1' } });
      if (res.status !== 201) throw new Error(`signal: ${res.text}`);
      return res.json.signals[0].incident_id as string;
    },
    rows: (tenant, sql, params = []) => inTenant(app.service.deps.db, tenant, async (tx) => (await tx.query(sql, params)).rows) as never,
  };
}

/** Polls until `predicate` holds (every 20 ms), failing with `what` after `timeoutMs`. */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`not reached within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
