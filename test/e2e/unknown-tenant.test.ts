import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { cli, cliAsync, type CliResult } from '../helpers/process.ts';

/** Every route and command that names a tenant by id: an unknown id is an error, never an empty tenant. */
const COMMANDS = (tenant: string): string[][] => [
  ['audit', 'verify', '--tenant', tenant],
  ['token', 'list', '--tenant', tenant],
  ['siem', 'status', '--tenant', tenant],
  ['siem', 'parked', 'list', '--tenant', tenant],
];

function assertRefused(res: CliResult, tenant: string, label: string): void {
  assert.equal(res.status, 1, `${label}: ${res.stdout}${res.stderr}`);
  assert.match(res.stderr, new RegExp(`no such tenant ${tenant}.*PROBECTL_ERR_NOT_FOUND`), label);
  assert.doesNotMatch(res.stdout, /audit chain OK/, label);
}

describe('an unknown tenant id is a 404 / non-zero exit, never an empty tenant', () => {
  let app: TestApp;
  let tenant: string;
  let tenantAdmin: string;
  const unknown = randomUUID();

  before(async () => {
    app = await startTestApp();
    tenant = (await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name: 'known' } })).json.id;
    tenantAdmin = (await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant, permissions: ['admin'], name: 'a' } })).json.token;
  });
  after(() => app.close());

  it('every ?tenant= and body tenant route answers 404 naming the id to a provider-admin', async () => {
    const calls: Array<[string, string, unknown?]> = [
      ['GET', `/v1/audit/verify?tenant=${unknown}`],
      ['GET', `/v1/tokens?tenant=${unknown}`],
      ['POST', '/v1/tokens', { tenant: unknown, permissions: ['incidents-read'] }],
      ['GET', `/v1/siem/status?tenant=${unknown}`],
      ['GET', `/v1/siem/parked?tenant=${unknown}`],
      ['POST', '/v1/siem/parked/retry', { tenant: unknown }],
      ['POST', '/v1/siem/replay', { tenant: unknown, from: 1 }],
    ];
    for (const [method, url, body] of calls) {
      const res = await app.request(method, url, { token: app.adminToken, ...(body ? { body } : {}) });
      assert.equal(res.status, 404, `${method} ${url}: ${res.text}`);
      assert.deepEqual(res.json, { code: 'PROBECTL_ERR_NOT_FOUND', message: `no such tenant ${unknown}` });
    }
    const known = await app.request('GET', `/v1/audit/verify?tenant=${tenant}`, { token: app.adminToken });
    assert.deepEqual([known.status, known.json.ok], [200, true], 'a known tenant still verifies');
  });

  it('a tenant admin naming another tenant gets 403 whether it exists or not (existence is not revealed)', async () => {
    for (const other of [unknown, app.service.deps.providerTenantId]) {
      const res = await app.request('GET', `/v1/tokens?tenant=${other}`, { token: tenantAdmin });
      assert.equal(res.status, 403, res.text);
    }
  });

  it('through a running server, the CLI exits 1 with "no such tenant"', async () => {
    const env = { PROBECTL_DATA_DIR: app.dataDir, PROBECTL_LISTEN: '127.0.0.1:0' };
    for (const args of COMMANDS(unknown)) assertRefused(await cliAsync(args, env), unknown, args.join(' '));
  });

  it('without a server (direct mode), the CLI exits 1 with "no such tenant" and audit verify of a real tenant still passes', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'probectl-unknown-'));
    try {
      const env = { PROBECTL_DATA_DIR: dataDir, PROBECTL_LISTEN: '127.0.0.1:0' };
      const created = cli(['tenant', 'create', '--name', 'direct'], env);
      assert.equal(created.status, 0, created.stderr);
      for (const args of COMMANDS(unknown)) assertRefused(cli(args, env), unknown, args.join(' '));
      const ok = cli(['audit', 'verify', '--tenant', (JSON.parse(created.stdout) as { id: string }).id], env);
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stdout, /audit chain OK: 1 record/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
