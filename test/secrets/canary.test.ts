import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/settings.ts';
import { isProbectlError } from '../../src/core/errors.ts';
import { startService } from '../../src/service.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { assertNoLeaks, canary, findLeaks } from '../helpers/canary.ts';
import { spawn } from 'node:child_process';
import { deadPort, testPki, type TestPki } from '../core/http/test-server.ts';
import { FakeVault } from './servers/vault.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the real CLI without blocking this process (whose event loop serves the fake Vault). */
function cliAsync(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [new URL('../../src/main.ts', import.meta.url).pathname, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

/**
 * Starts the real service with known secret values behind references, drives
 * startup, health, metrics, device poll cycles, a failing backend, refused
 * startups and `probectl secrets check`, and asserts no value appears in any
 * log line, error, response, metric or CLI output.
 */
describe('canary: secret values never leave the resolver', () => {
  const SECRETS = {
    auth: canary('snmp-auth'),
    priv: canary('snmp-priv'),
    vaultToken: canary('vault-token'),
    community: canary('community'),
  };
  const all = Object.values(SECRETS);
  let pki: TestPki;
  let vault: FakeVault;
  let dir: string;
  let env: Record<string, string>;
  let app: TestApp;
  const observed: Record<string, string[]> = { responses: [], errors: [], metrics: [], cli: [], startupErrors: [] };

  before(async () => {
    pki = await testPki();
    vault = await FakeVault.start(pki);
    vault.addToken(SECRETS.vaultToken);
    vault.put('kv', 'netops/snmp', { auth: SECRETS.auth, priv: SECRETS.priv, community: SECRETS.community });
    dir = mkdtempSync(join(tmpdir(), 'probectl-canary-'));
    writeFileSync(join(dir, 'vault-ca.pem'), pki.ca.certPem);
    env = {
      PROBECTL_LOG_LEVEL: 'trace',
      PROBECTL_SECRETS_LEASE: '1s',
      // A failing Vault is retried until this deadline: short, so the failure cases below stay quick
      // (not shorter: one attempt gets half of it, and start-up on a loaded machine needs that).
      PROBECTL_SECRETS_TIMEOUT: '3s',
      PROBECTL_SECRETS_VAULT_ADDR: vault.url,
      PROBECTL_SECRETS_VAULT_TOKEN: 'env:CANARY_VAULT_TOKEN',
      PROBECTL_SECRETS_VAULT_CA_FILE: join(dir, 'vault-ca.pem'),
      CANARY_VAULT_TOKEN: SECRETS.vaultToken,
      PROBECTL_DEVICE_CRED_CORE_SW_USERNAME: 'monitor',
      PROBECTL_DEVICE_CRED_CORE_SW_AUTH_PASS: 'vault:kv/netops/snmp#auth',
      PROBECTL_DEVICE_CRED_CORE_SW_PRIV_PASS: 'vault:kv/netops/snmp#priv',
      PROBECTL_DEVICE_CRED_EDGE_COMMUNITY: 'vault:kv/netops/snmp#community',
    };
    app = await startTestApp(env);
  });

  after(async () => {
    await app?.close();
    await vault.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('startup, health, metrics and poll cycles work with the real values — and show none of them', async () => {
    const health = await app.request('GET', '/v1/secrets/health', { token: app.adminToken });
    assert.equal(health.status, 200);
    observed.responses!.push(health.text);
    const vaultHealth = health.json.backends.find((b: { scheme: string }) => b.scheme === 'vault');
    assert.equal(vaultHealth.configured, true);
    assert.ok(vaultHealth.resolves >= 3, 'startup resolved every reference');
    assert.deepEqual(health.json.device_credentials.map((d: { name: string }) => d.name).sort(), ['CORE_SW', 'EDGE']);
    assert.equal(health.json.tls_identities[0].name, 'server');

    const cycle = await app.service.devices.pollCycle('CORE_SW', (cred) => cred.snmpv3!.authKey.toString() === SECRETS.auth && cred.snmpv3!.privKey!.toString() === SECRETS.priv);
    assert.deepEqual(cycle, { ok: true, value: true }, 'the poll got the real material');

    const metrics = await app.request('GET', '/metrics', { token: app.adminToken });
    assert.equal(metrics.status, 200);
    observed.metrics!.push(metrics.text);
    assert.match(metrics.text, /probectl_secrets_resolves_total\{scheme="vault"\} \d+/);
    assert.match(metrics.text, /probectl_secrets_backend_configured\{scheme="vault"\} 1/);
  });

  it('a failing backend: 503, a 403 whose body quotes the token, a malformed body echoing a value — errors and health stay clean', async (t) => {
    t.after(() => {
      vault.override = undefined;
    });
    const replies = [
      { status: 503, body: { errors: ['Vault is sealed'] } },
      { status: 403, body: { errors: [`permission denied for token ${SECRETS.vaultToken}`] } },
      { status: 200, body: `<html>proxy error: ${SECRETS.auth}</html>` },
      { status: 200, body: { data: { data: { auth: { nested: SECRETS.auth }, priv: { nested: SECRETS.priv }, community: { nested: SECRETS.community } } } } },
    ];
    for (const reply of replies) {
      vault.override = reply;
      await sleep(1100); // the 1 s lease ends: the next cycle must fetch again
      const out = await app.service.devices.pollCycle('CORE_SW', () => 'must not run');
      assert.equal(out.ok, false, `cycle skipped on ${reply.status}`);
      if (!out.ok) {
        observed.errors!.push(out.error.message, JSON.stringify(out.error), String(out.error.stack));
      }
      try {
        await app.service.deps.secrets.use({ scheme: 'vault', mount: 'kv', path: 'netops/snmp', field: 'community' }, () => undefined);
        assert.fail('expected a failure');
      } catch (err) {
        assert.ok(isProbectlError(err));
        observed.errors!.push(err.message, JSON.stringify(err));
      }
    }
    vault.override = undefined;
    const health = await app.request('GET', '/v1/secrets/health', { token: app.adminToken });
    observed.responses!.push(health.text);
    const vaultHealth = health.json.backends.find((b: { scheme: string }) => b.scheme === 'vault');
    assert.ok(vaultHealth.failures >= 4);
    assert.match(vaultHealth.last_error, /^PROBECTL_ERR_SECRET_MALFORMED: /);
    const core = health.json.device_credentials.find((d: { name: string }) => d.name === 'CORE_SW');
    assert.equal(core.skipped, 4);
    assert.ok(!health.text.includes('netops') && !health.text.includes('#auth'), 'no reference paths or fields in health');
    const metrics = await app.request('GET', '/metrics', { token: app.adminToken });
    observed.metrics!.push(metrics.text);
    assert.match(metrics.text, /probectl_secrets_device_cycles_skipped_total\{credential="CORE_SW"\} 4/);
    await sleep(1100);
    assert.deepEqual(await app.service.devices.pollCycle('CORE_SW', () => 'ran'), { ok: true, value: 'ran' }, 'the next cycle tries again');
  });

  it('a refused startup names the variable and the redacted reference, never a value', async () => {
    for (const [label, extra] of [
      ['missing field', { PROBECTL_DEVICE_CRED_CORE_SW_PRIV_PASS: 'vault:kv/netops/snmp#nosuchfield' }],
      ['unreachable vault', { PROBECTL_SECRETS_VAULT_ADDR: `https://127.0.0.1:${await deadPort()}` }],
      ['wrong token', { CANARY_VAULT_TOKEN: `${SECRETS.vaultToken}-wrong` }],
    ] as const) {
      const startEnv = { ...env, ...extra, PROBECTL_DATA_DIR: mkdtempSync(join(dir, 'refused-')), PROBECTL_LISTEN: '127.0.0.1:0' };
      try {
        await startService(loadConfig(startEnv), { env: startEnv, log: pino({ level: 'silent' }) });
        assert.fail(`${label}: startup should be refused`);
      } catch (err) {
        assert.ok(isProbectlError(err), `${label}: ${String(err)}`);
        assert.match(err.message, /startup refused/);
        assert.match(err.message, /PROBECTL_DEVICE_CRED_CORE_SW_(AUTH|PRIV)_PASS \(vault:kv\/netops\/snmp#…\)/);
        observed.startupErrors!.push(err.message, JSON.stringify(err), String(err.stack));
      }
    }
  });

  it('probectl secrets check: one line per variable, OK or FAIL, references redacted, non-zero exit on failure', async () => {
    const cliEnv = { ...env, PROBECTL_DATA_DIR: mkdtempSync(join(dir, 'cli-')) };
    const ok = await cliAsync(['secrets', 'check'], cliEnv);
    observed.cli!.push(ok.stdout, ok.stderr);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^PROBECTL_SECRETS_VAULT_TOKEN\s+env:CANARY_VAULT_TOKEN\s+OK$/m);
    assert.match(ok.stdout, /^PROBECTL_DEVICE_CRED_CORE_SW_AUTH_PASS\s+vault:kv\/netops\/snmp#…\s+OK$/m);
    assert.match(ok.stdout, /all 4 reference\(s\) resolved/);

    const bad = await cliAsync(['secrets', 'check'], { ...cliEnv, PROBECTL_DEVICE_CRED_EDGE_COMMUNITY: 'vault:kv/netops/gone#community' });
    observed.cli!.push(bad.stdout, bad.stderr);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /^PROBECTL_DEVICE_CRED_EDGE_COMMUNITY\s+vault:kv\/netops\/gone#…\s+FAIL PROBECTL_ERR_SECRET_NOT_FOUND: /m);
    assert.match(bad.stdout, /^PROBECTL_DEVICE_CRED_CORE_SW_PRIV_PASS\s+\S+\s+OK$/m);
  });

  it('no value appears in any log line, error, response, metric or CLI output', () => {
    assert.ok(app.logs.length > 10, 'the server logged');
    assertNoLeaks({ logs: app.logs, ...observed }, all);
    // Control: the helper does find a planted value.
    assert.equal(findLeaks({ probe: `x ${Buffer.from(SECRETS.auth).toString('base64')} y` }, all).length, 1);
  });
});
