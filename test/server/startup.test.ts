import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { Agent, request } from 'undici';
import { loadConfig } from '../../src/settings.ts';
import { startService } from '../../src/service.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { startTestApp, freshDatabaseUrl, type TestApp } from '../helpers/app.ts';
import { failsWith } from '../helpers/errors.ts';
import { cli } from '../helpers/process.ts';
import { databaseEnv } from '../helpers/keys.ts';

async function occupy(host = '127.0.0.1'): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => resolve());
  });
  return { server, port: (server.address() as { port: number }).port };
}

const closeServer = (s: Server) => new Promise<void>((resolve) => s.close(() => resolve()));

/** The command lines a first start logged. */
const commandLines = (logs: readonly string[]) => logs.map((l) => JSON.parse(l) as { msg: string; command?: string }).filter((l) => l.command !== undefined);

/** Starts the service with `env`, runs `check` on it and closes it, whatever check does. */
async function served(env: Record<string, string>, check: (app: TestApp) => Promise<void> | void): Promise<void> {
  const app = await startTestApp(env);
  try {
    await check(app);
  } finally {
    await app.close();
  }
}

/** Runs `fn` with the environment of a data directory under `tmp` and a fresh database (PGlite, or one on PROBECTL_TEST_DATABASE_URL), dropped after. */
async function onFreshStore(dataDir: string, fn: (env: Record<string, string>) => Promise<void>): Promise<void> {
  const database = await freshDatabaseUrl();
  try {
    await fn({ PROBECTL_DATA_DIR: dataDir, ...(database ? databaseEnv(database.url) : {}) });
  } finally {
    await database?.drop();
  }
}

describe('startup: PROBECTL_LISTEN is bound before anything changes (issue 7 point 10)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'probectl-listen-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('a taken port refuses startup naming PROBECTL_LISTEN and the address, with no data directory, database, tenant, token or certificate created', async () => {
    const { server, port } = await occupy();
    const database = await freshDatabaseUrl();
    const dataDir = join(tmp, 'taken');
    const logs: string[] = [];
    try {
      const env = { PROBECTL_DATA_DIR: dataDir, PROBECTL_LISTEN: `127.0.0.1:${port}`, ...(database ? databaseEnv(database.url) : {}) };
      const message = await failsWith(startService(loadConfig(env), { env, log: pino({ level: 'debug' }, { write: (l: string) => void logs.push(l) }) }), 'PROBECTL_ERR_LISTEN_UNAVAILABLE');
      assert.equal(message, `PROBECTL_LISTEN=127.0.0.1:${port}: the address is already in use (another process listens there); stop that process or choose a free host:port [EADDRINUSE]; startup refused`);
      assert.ok(!existsSync(dataDir), 'the data directory was not even created (no embedded database, token file or certificate)');
      assert.deepEqual(logs, [], 'nothing was migrated or bootstrapped');
      if (database) {
        const db = await openPostgres({ connectionString: database.url, poolSize: 1 });
        try {
          const tables = await db.transaction((tx) => tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema()`));
          assert.equal(tables.rows[0]?.n, 0, 'no migration ran on PostgreSQL');
        } finally {
          await db.close();
        }
      }
    } finally {
      await closeServer(server);
      await database?.drop();
    }
  });

  it('the real binary exits 1 with that message instead of an unexpected error', async () => {
    const { server, port } = await occupy();
    try {
      const dataDir = join(tmp, 'binary');
      const res = cli(['serve'], { PROBECTL_DATA_DIR: dataDir, PROBECTL_LISTEN: `127.0.0.1:${port}` });
      assert.equal(res.status, 1, res.stderr);
      assert.match(res.stderr, new RegExp(`^probectl: PROBECTL_LISTEN=127\\.0\\.0\\.1:${port}: the address is already in use .*\\[PROBECTL_ERR_LISTEN_UNAVAILABLE\\]\\n$`));
      assert.doesNotMatch(res.stderr, /unexpected error/);
      assert.ok(!existsSync(join(dataDir, 'admin-token')));
    } finally {
      await closeServer(server);
    }
  });

  it('an address this machine does not have is refused the same way', async () => {
    const env = { PROBECTL_DATA_DIR: join(tmp, 'foreign'), PROBECTL_LISTEN: '192.0.2.1:8443' };
    const message = await failsWith(startService(loadConfig(env), { env, log: pino({ level: 'silent' }) }), 'PROBECTL_ERR_LISTEN_UNAVAILABLE');
    assert.match(message, /^PROBECTL_LISTEN=192\.0\.2\.1:8443: no network interface of this machine has the address 192\.0\.2\.1.*\[EADDRNOTAVAIL\]/);
    assert.ok(!existsSync(env.PROBECTL_DATA_DIR));
  });

  it('a free fixed port is reserved, handed to the API server and served', async () => {
    const { server, port } = await occupy();
    await closeServer(server);
    const app = await startTestApp({ PROBECTL_LISTEN: `127.0.0.1:${port}` });
    try {
      assert.equal(app.url, `https://127.0.0.1:${port}`);
      assert.equal((await app.request('GET', '/healthz')).status, 200);
    } finally {
      await app.close();
    }
  });
});

describe('first start prints the one command that reaches the API (issue 7 point 14)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'probectl-first-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('logs a curl command with the real certificate, token file and URL, which works and never holds the token; only on first start', async () => {
    const dataDir = join(tmp, 'data');
    const database = await freshDatabaseUrl();
    const env = { PROBECTL_DATA_DIR: dataDir, ...(database ? databaseEnv(database.url) : {}) };
    const app = await startTestApp(env);
    let agent: Agent | undefined;
    try {
      const lines = commandLines(app.logs);
      assert.equal(lines.length, 1, 'one command line');
      const command = lines[0]?.command as string;
      assert.equal(command, `curl --cacert ${dataDir}/tls/server.crt --oauth2-bearer $(cat ${dataDir}/admin-token) ${app.url}/v1/tenants`);
      assert.match(lines[0]?.msg as string, /first start: reach the API/);
      assert.ok(!app.logs.join('\n').includes(app.adminToken), 'the token is never logged');
      assert.ok(!command.includes('"'), 'no double quote, so the JSON log line can be copied as is');

      // Do what the command does: trust that certificate, present that file's token, GET that URL.
      const [, ca, tokenFile, url] = /^curl --cacert (\S+) --oauth2-bearer \$\(cat (\S+)\) (\S+)$/.exec(command) ?? [];
      agent = new Agent({ connect: { ca: readFileSync(ca as string, 'utf8') } });
      const res = await request(url as string, { dispatcher: agent, headers: { authorization: `Bearer ${readFileSync(tokenFile as string, 'utf8').trim()}` }, signal: AbortSignal.timeout(10_000) });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(((await res.body.json()) as { tenants: Array<{ name: string }> }).tenants.map((t) => t.name), ['default']);
    } finally {
      await agent?.close();
      await app.close();
    }
    try {
      await served(env, (again) => assert.deepEqual(commandLines(again.logs), [], 'a restart is not a first start'));
    } finally {
      await database?.drop();
    }
  });

  it('a first start that fails after creating the tenant (an unreachable metrics engine) leaves the guidance to the next start that serves', async () => {
    const dataDir = join(tmp, 'failed-first');
    await onFreshStore(dataDir, async (env) => {
      await assert.rejects(startTestApp({ ...env, PROBECTL_METRICS_UPSTREAM_URL: 'http://127.0.0.1:1/prometheus' }), /PROBECTL_METRICS_UPSTREAM_URL/);
      assert.ok(existsSync(join(dataDir, 'admin-token')), 'the failed start had created the tenant and its token');
      await served(env, (fixed) => {
        assert.equal(commandLines(fixed.logs).length, 1, 'the start that serves logs the first-start command');
        assert.ok(fixed.logs.some((l) => l.includes('first start of the server (the default tenant was created before, by a start that did not serve or a CLI command): its admin token is in the file named here') && l.includes('admin-token')), 'and names the token file, without claiming to have created the tenant');
      });
      await served(env, (again) => assert.deepEqual(commandLines(again.logs), [], 'after a start that served, a restart is not a first start'));
    });
  });

  it('a first-start marker that cannot be removed does not take down a start that serves: logged, and the server keeps serving', async () => {
    const dataDir = join(tmp, 'stuck-marker');
    await onFreshStore(dataDir, async (env) => {
      await assert.rejects(startTestApp({ ...env, PROBECTL_METRICS_UPSTREAM_URL: 'http://127.0.0.1:1/prometheus' }), /PROBECTL_METRICS_UPSTREAM_URL/);
      const marker = join(dataDir, 'admin-token.unannounced');
      assert.ok(existsSync(marker), 'the failed start left its marker');
      // A fault where the marker is removed: it cannot be (here a directory stands in for a read-only data directory).
      rmSync(marker);
      mkdirSync(join(marker, 'stuck'), { recursive: true });
      await served(env, async (app) => {
        assert.equal(commandLines(app.logs).length, 1, 'the guidance was logged');
        assert.equal((await app.request('GET', '/v1/tenants', { token: app.adminToken })).status, 200, 'and the server serves');
        assert.ok(app.logs.some((l) => l.includes('admin-token.unannounced')), 'the marker left behind is named in the log');
      });
    });
  });

  it('a first start that cannot write its first-start marker fails before creating anything: the next start is a first start with its guidance', async () => {
    const dataDir = join(tmp, 'unwritable-marker');
    const marker = join(dataDir, 'admin-token.unannounced');
    await onFreshStore(dataDir, async (env) => {
      // A fault where the marker is written (a directory in its place): the write fails, as a crash would have stopped it.
      mkdirSync(join(marker, 'in-the-way'), { recursive: true });
      await assert.rejects(startTestApp(env));
      assert.ok(!existsSync(join(dataDir, 'admin-token')), 'no admin token was written before the marker');
      rmSync(marker, { recursive: true });
      await served(env, async (app) => {
        assert.equal(commandLines(app.logs).length, 1, 'the start that serves logs the first-start command');
        assert.equal((await app.request('GET', '/v1/tenants', { token: app.adminToken })).status, 200);
      });
    });
  });

  it('the first-start marker is created anew, never written through a symlink planted at its path', async () => {
    const dataDir = join(tmp, 'planted');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const victim = join(tmp, 'victim.txt');
    writeFileSync(victim, 'keep me');
    symlinkSync(victim, join(dataDir, 'admin-token.unannounced'));
    const app = await startTestApp({ PROBECTL_DATA_DIR: dataDir });
    try {
      assert.equal(readFileSync(victim, 'utf8'), 'keep me', 'the symlink\'s target is untouched');
      assert.equal(commandLines(app.logs).length, 1, 'the first start still logs its command');
      assert.ok(!existsSync(join(dataDir, 'admin-token.unannounced')), 'and the marker is gone once it served');
    } finally {
      await app.close();
    }
  });

  it('quotes paths for the shell, and shows a wildcard listen address as loopback', async () => {
    const dataDir = join(tmp, "it's a dir");
    const app = await startTestApp({ PROBECTL_DATA_DIR: dataDir, PROBECTL_LISTEN: '0.0.0.0:0' });
    try {
      const port = new URL(app.url).port;
      const q = (p: string) => `'${p.replace(/'/g, `'\\''`)}'`;
      assert.equal(commandLines(app.logs)[0]?.command, `curl --cacert ${q(`${dataDir}/tls/server.crt`)} --oauth2-bearer $(cat ${q(`${dataDir}/admin-token`)}) https://127.0.0.1:${port}/v1/tenants`);
    } finally {
      await app.close();
    }
  });
});
