import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { connect } from 'node:tls';
import pino from 'pino';
import { request } from 'undici';
import { loadConfig } from '../../src/settings.ts';
import { issueCertificate, type Issued } from '../../src/core/x509.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { testPki, type TestPki } from '../core/http/test-server.ts';
import { testAgent } from '../helpers/http.ts';
import { startFaultProxy } from './servers/faults.ts';
import { FakeVault } from './servers/vault.ts';

function writeAtomic(path: string, content: string): void {
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
}

/** The fingerprint of the certificate the server presents; the handshake has 10 s, and the socket is destroyed on every path. */
function presented(url: string, ca: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), ca, servername: 'localhost', timeout: 10_000 }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.on('timeout', () => s.destroy(new Error('no TLS handshake within 10 s')));
    s.on('error', reject);
  });
}

async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** The running server picks a renewed HTTPS identity up without a restart. */
describe('server HTTPS identity renewal (through the service)', () => {
  let pki: TestPki;
  let certs: Issued[];
  let dir: string;

  before(async () => {
    pki = await testPki();
    certs = await Promise.all([1, 2, 3].map((n) => issueCertificate({ commonName: `probectl-${n}`, altNames: ['localhost', '127.0.0.1'], issuer: pki.ca })));
    dir = mkdtempSync(join(tmpdir(), 'probectl-srvtls-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts the service; it is closed when the test ends, however it ends. */
  async function start(t: TestContext, env: Record<string, string>): Promise<RunningService> {
    const full = { PROBECTL_DATA_DIR: mkdtempSync(join(dir, 'data-')), PROBECTL_LISTEN: '127.0.0.1:0', PROBECTL_TLS_RELOAD_INTERVAL: '1s', ...env };
    const service = await startService(loadConfig(full), { env: full, log: pino({ level: 'silent' }) });
    t.after(() => service.close());
    return service;
  }

  it('files replaced in place: the next handshake presents the new certificate; garbage keeps it and shows in health', async (t) => {
    const certFile = join(dir, 'server.crt');
    const keyFile = join(dir, 'server.key');
    writeFileSync(certFile, certs[0]!.certPem);
    writeFileSync(keyFile, certs[0]!.keyPem);
    const service = await start(t, { PROBECTL_TLS_CERT_FILE: certFile, PROBECTL_TLS_KEY_FILE: keyFile });
    const agent = testAgent(pki.ca.certPem, { servername: 'localhost' });
    t.after(() => agent.close());
    assert.equal(await presented(service.url, pki.ca.certPem), certs[0]!.fingerprint256);
    writeAtomic(keyFile, certs[1]!.keyPem);
    writeAtomic(certFile, certs[1]!.certPem);
    await eventually('the renewed certificate', async () => (await presented(service.url, pki.ca.certPem)) === certs[1]!.fingerprint256);

    writeAtomic(certFile, 'garbage, not a certificate');
    await eventually('the refused renewal in health', async () => service.deps.secrets.health().tls_identities[0]?.current === false);
    assert.equal(await presented(service.url, pki.ca.certPem), certs[1]!.fingerprint256, 'the previous identity is kept');
    const token = readFileSync(join(service.deps.config.dataDir, 'admin-token'), 'utf8').trim();
    const res = await request(`${service.url}/v1/secrets/health`, { dispatcher: agent, headers: { authorization: `Bearer ${token}` } });
    const body = (await res.body.json()) as { tls_identities: { name: string; current: boolean; reloads: number; last_error: string }[] };
    assert.equal(res.statusCode, 200);
    assert.equal(body.tls_identities[0]!.name, 'server');
    assert.equal(body.tls_identities[0]!.reloads, 1);
    assert.match(body.tls_identities[0]!.last_error, /renewal refused, previous identity kept: the certificate is not PEM/);
  });

  it('references: the certificate and key come from Vault and follow a rotation at the lease end', async (t) => {
    // Closed however the test ends: a Vault left open kept this file's process alive for good.
    const vault = await FakeVault.start(pki);
    t.after(() => vault.close());
    vault.addToken('s.tls');
    // The start-up fetch meets a reset connection first (the fault that used to refuse the start): it is retried.
    const proxy = await startFaultProxy(vault.server.port);
    t.after(() => proxy.close());
    proxy.resetNext(1);
    vault.put('kv', 'tls/server', { cert: certs[0]!.certPem, key: certs[0]!.keyPem });
    const caFile = join(dir, 'vault-ca.pem');
    writeFileSync(caFile, pki.ca.certPem);
    const service = await start(t, {
      PROBECTL_SECRETS_VAULT_ADDR: `https://127.0.0.1:${proxy.port}`, PROBECTL_SECRETS_VAULT_TOKEN: 's.tls', PROBECTL_SECRETS_VAULT_CA_FILE: caFile, PROBECTL_SECRETS_LEASE: '1s',
      PROBECTL_TLS_CERT: 'vault:kv/tls/server#cert', PROBECTL_TLS_KEY: 'vault:kv/tls/server#key',
    });
    assert.ok(service.deps.secrets.stats().find((b) => b.scheme === 'vault')!.retries >= 1, 'the reset start-up fetch was retried');
    assert.equal(proxy.accepted >= 2, true, 'a second connection after the reset one');
    assert.equal(await presented(service.url, pki.ca.certPem), certs[0]!.fingerprint256);
    vault.put('kv', 'tls/server', { cert: certs[2]!.certPem, key: certs[2]!.keyPem });
    await eventually('the rotated certificate', async () => (await presented(service.url, pki.ca.certPem)) === certs[2]!.fingerprint256);
    vault.put('kv', 'tls/server', { cert: certs[1]!.certPem, key: certs[0]!.keyPem });
    await eventually('the mismatched renewal refused', async () => /does not match/.test(service.deps.secrets.health().tls_identities[0]?.last_error ?? ''));
    assert.equal(await presented(service.url, pki.ca.certPem), certs[2]!.fingerprint256);
  });
});
