import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { request, type Agent } from 'undici';
import { openPglite } from '../../src/store/pglite.ts';
import { testAgent } from '../helpers/http.ts';
import { cli, serve, type ServerProcess } from '../helpers/process.ts';
import { TEST_ENCRYPTION_KEY } from '../helpers/keys.ts';

/**
 * The real `probectl` binary on the embedded database: first start, the CLI
 * through a running server, graceful SIGTERM, restart durability, direct CLI
 * use when no server runs, and audit verification after tampering.
 */
describe('server and CLI lifecycle (embedded database)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'probectl-e2e-'));
  const env = { PROBECTL_DATA_DIR: dataDir, PROBECTL_LISTEN: '127.0.0.1:0' };
  let server: ServerProcess;
  let agent: Agent;
  let tenant: string;
  let token: string;

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await request(`${server.url}${path}`, {
      method: method as 'GET', dispatcher: agent,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.statusCode, json: (await res.body.json()) as any };
  };

  before(async () => {
    server = await serve(env);
    agent = testAgent(readFileSync(join(dataDir, 'tls', 'server.crt'), 'utf8'));
  });
  after(async () => {
    await server?.stop('SIGKILL');
    await agent?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('first start prints the admin token file path and the certificate fingerprint, never the token', () => {
    const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    assert.match(server.output(), new RegExp(`"admin_token_file":"${join(dataDir, 'admin-token')}"`));
    assert.match(server.output(), /"sha256_fingerprint":"([0-9A-F]{2}:){31}[0-9A-F]{2}"/);
    assert.ok(!server.output().includes(adminToken));
  });

  it('the CLI goes through the running server; it never opens the database files a second time', () => {
    const created = cli(['tenant', 'create', '--name', 'acme'], env);
    assert.equal(created.status, 0, created.stderr);
    const json = JSON.parse(created.stdout) as { id: string; name: string };
    assert.deepEqual(Object.keys(json).sort(), ['id', 'name']);
    tenant = json.id;
    const tok = cli(['token', 'create', '--tenant', tenant, '--permissions', 'signals-write,incidents-read,audit-read', '--name', 'ops'], env);
    assert.equal(tok.status, 0, tok.stderr);
    assert.match(tok.stdout, /^pcl_[A-Za-z0-9_-]{43}\n$/, 'the token alone on stdout');
    token = tok.stdout.trim();
    const list = cli(['tenant', 'list', '--json'], env);
    assert.deepEqual(JSON.parse(list.stdout).tenants.map((t: { name: string }) => t.name), ['default', 'acme']);
    const migrate = cli(['migrate'], env);
    assert.equal(migrate.status, 1);
    assert.match(migrate.stderr, /in use by process \d+.*PROBECTL_ERR_DATA_DIR_LOCKED/);
  });

  it('a second server on the same data directory is refused', () => {
    const second = cli(['serve'], env);
    assert.equal(second.status, 1);
    assert.match(second.stderr, /PROBECTL_ERR_DATA_DIR_LOCKED/);
  });

  it('bad CLI input gets a usage error and changes nothing', () => {
    const bad = cli(['token', 'create', '--tenant', tenant, '--permissions', 'root'], env);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--permissions: unknown permission "root"; accepted: a comma-separated list of /);
    const missing = cli(['tenant', 'create'], env);
    assert.equal(missing.status, 2);
    for (const cmd of [['serve'], ['migrate'], ['tenant', 'create'], ['token', 'revoke'], ['audit', 'verify'], ['config', 'check']]) {
      const help = cli([...cmd, '--help'], env);
      assert.equal(help.status, 0);
      assert.match(help.stdout, /Usage: probectl/);
    }
  });

  it('SIGTERM finishes in-flight requests, closes cleanly, and a restart loses nothing', async () => {
    const first = await call('POST', '/v1/signals', { kind: 'tls.expired', severity: 'critical', confidence: 100, target: 'db:5432', title: 'expired' });
    assert.equal(first.status, 201);
    // Requests whose bodies are still arriving when SIGTERM lands are truly in flight.
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slowBody = (i: number) => {
      const json = JSON.stringify({ kind: 'ioc.match', severity: 'warning', confidence: 50, target: `10.0.0.${i}`, title: 'hit' });
      return (async function* () {
        yield Buffer.from(json.slice(0, 10));
        await released;
        yield Buffer.from(json.slice(10));
      })();
    };
    const inflight = Array.from({ length: 5 }, async (_, i) => {
      const res = await request(`${server.url}/v1/signals`, {
        method: 'POST', dispatcher: agent, body: Readable.from(slowBody(i)),
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
      await res.body.text();
      return res.statusCode;
    });
    await new Promise((r) => setTimeout(r, 300));
    const stopped = server.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    release();
    const statuses = await Promise.all(inflight);
    assert.deepEqual(statuses, [201, 201, 201, 201, 201], 'requests in flight at SIGTERM complete');
    assert.equal(await stopped, 0);
    assert.match(server.output(), /stopped cleanly/);
    // Idle keep-alive connections (this client's) do not hold the shutdown until its timeout.
    assert.doesNotMatch(server.output(), /shutdown timeout reached/);
    const accepted = statuses.length;

    server = await serve(env);
    const incidents = await call('GET', '/v1/incidents?limit=500');
    assert.equal(incidents.status, 200);
    assert.equal(incidents.json.incidents.length, 1 + accepted, 'every accepted signal survived the restart');
    const audit = await call('GET', '/v1/audit?limit=5000');
    assert.ok(audit.json.events.some((e: { action: string }) => e.action === 'auth.login'));
  });

  it('with no server running, the CLI opens the database itself; audit verify names a tampered seq', async () => {
    assert.equal(await server.stop('SIGTERM'), 0);
    const migrate = cli(['migrate'], env);
    assert.equal(migrate.status, 0, migrate.stderr);
    assert.match(migrate.stdout, /up to date at migration \d+/);
    const ok = cli(['audit', 'verify', '--tenant', tenant], env);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /audit chain OK: \d+ record\(s\)/);
    const db = await openPglite(join(dataDir, 'pglite'));
    await db.transaction((tx) => tx.query(`UPDATE audit_events SET actor = 'nobody' WHERE tenant_id = $1 AND seq = 2`, [tenant]));
    await db.close();
    const broken = cli(['audit', 'verify', '--tenant', tenant], env);
    assert.equal(broken.status, 1);
    assert.match(broken.stderr, /BROKEN at seq 2: hash does not match the record \[PROBECTL_ERR_AUDIT_CHAIN_BROKEN\]/);
    server = await serve(env);
  });

  it('config check prints the masked configuration, or every problem with a non-zero exit', () => {
    const good = cli(['config', 'check'], { ...env, PROBECTL_DATABASE_PASSWORD: 'hunter2', PROBECTL_DATABASE_URL: 'postgres://u@127.0.0.1/db', PROBECTL_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY });
    assert.equal(good.status, 0, good.stderr);
    assert.match(good.stdout, /PROBECTL_DATABASE_PASSWORD=\[literal\]/);
    assert.ok(!good.stdout.includes('hunter2'));
    const bad = cli(['config', 'check'], { ...env, PROBECTL_LISTEN: 'x', PROBECTL_INCIDENT_WINDOW: 'y' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /invalid configuration, config check failed \(2 problems[\s\S]*PROBECTL_LISTEN[\s\S]*PROBECTL_INCIDENT_WINDOW/);
    const refused = cli(['serve'], { ...env, PROBECTL_LISTEN: 'x' });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /invalid configuration, startup refused/);
  });
});
