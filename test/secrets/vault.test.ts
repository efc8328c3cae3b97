import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VaultBackend, type VaultAuth } from '../../src/secrets/backends/vault.ts';
import { parseSecretRef } from '../../src/secrets/ref.ts';
import { SecretResolver } from '../../src/secrets/resolver.ts';
import { deadPort, testPki, type TestPki } from '../core/http/test-server.ts';
import { manualClock } from '../helpers/tenants.ts';
import { FakeVault } from './servers/vault.ts';
import { failsWith } from '../helpers/errors.ts';

const REF = parseSecretRef('vault:kv/netops/snmp#auth');
const LEASE = 60_000;

async function text(resolver: SecretResolver, ref = REF): Promise<string> {
  return resolver.use(ref, (b) => b.toString('utf8'));
}


describe('vault backend (KV v2)', () => {
  let pki: TestPki;
  let vault: FakeVault;

  before(async () => {
    pki = await testPki();
    vault = await FakeVault.start(pki, {
      approle: { roleId: 'role-123', secretId: 'approle-secret-id', tokenTtlSeconds: 600 },
      kubernetes: { role: 'probectl', jwt: 'eyJhbGciOiJSUzI1NiJ9.sa-token.sig', tokenTtlSeconds: 60 },
    });
    vault.addToken('s.root-token');
    vault.addToken('s.limited', ['kv/other/']);
  });
  after(() => vault?.close());

  function setup(auth: VaultAuth = { method: 'token', token: () => 's.root-token' }, extra: { namespace?: string; addr?: string; ca?: string[]; timeoutMs?: number } = {}) {
    const clock = manualClock();
    const backend = new VaultBackend({ addr: extra.addr ?? vault.url, auth, ca: extra.ca ?? [pki.ca.certPem], clock, namespace: extra.namespace });
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE, clock, ...(extra.timeoutMs === undefined ? {} : { timeoutMs: extra.timeoutMs }) });
    return { clock, backend, resolver };
  }

  it('happy path: reads data.data[field] with the token, on the documented path', async () => {
    vault.put('kv', 'netops/snmp', { auth: 'auth-v1', priv: 'priv-v1' });
    const { resolver } = setup();
    try {
      const before = vault.server.requests.length;
      assert.equal(await text(resolver), 'auth-v1');
      const req = vault.server.requests[before]!;
      assert.equal(req.method, 'GET');
      assert.equal(req.url, '/v1/kv/data/netops/snmp');
      assert.equal(req.headers['x-vault-token'], 's.root-token');
      assert.equal(req.headers['x-vault-namespace'], undefined);
    } finally {
      await resolver.close();
    }
  });

  it('rotation: within the lease the sealed value is served; after it the new value', async () => {
    vault.put('kv', 'netops/snmp', { auth: 'auth-v1' });
    const { resolver, clock } = setup();
    try {
      assert.equal(await text(resolver), 'auth-v1');
      vault.put('kv', 'netops/snmp', { auth: 'auth-v2' });
      const reads = vault.reads;
      clock.advance(LEASE - 1);
      assert.equal(await text(resolver), 'auth-v1');
      assert.equal(vault.reads, reads, 'no backend call inside the lease');
      clock.advance(2);
      assert.equal(await text(resolver), 'auth-v2');
      assert.equal(vault.reads, reads + 1);
    } finally {
      await resolver.close();
    }
  });

  it('a shorter lease_duration from Vault wins over PROBECTL_SECRETS_LEASE', async () => {
    vault.put('kv', 'netops/snmp', { auth: 'short-1' });
    vault.kvLeaseSeconds = 5;
    const { resolver, clock } = setup();
    try {
      assert.equal(await text(resolver), 'short-1');
      vault.put('kv', 'netops/snmp', { auth: 'short-2' });
      clock.advance(4_999);
      assert.equal(await text(resolver), 'short-1');
      clock.advance(2);
      assert.equal(await text(resolver), 'short-2');
    } finally {
      vault.kvLeaseSeconds = 0;
      await resolver.close();
    }
  });

  it('expiry while the backend is down: an error, never the stale value', async () => {
    vault.put('kv', 'netops/snmp', { auth: 'before-outage' });
    // A Vault that keeps failing is retried until the deadline: a short one keeps this quick.
    const { resolver, clock } = setup(undefined, { timeoutMs: 2000 });
    try {
      assert.equal(await text(resolver), 'before-outage');
      vault.override = { status: 503, body: { errors: ['Vault is sealed'] } };
      clock.advance(LEASE + 1);
      await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_UNAVAILABLE', ['before-outage', 'netops', 'snmp']);
      vault.override = { status: 200, hangUp: true };
      await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_UNAVAILABLE');
      vault.override = undefined;
      assert.equal(await text(resolver), 'before-outage', 'the next use tries again');
    } finally {
      vault.override = undefined;
      await resolver.close();
    }
  });

  it('backend unreachable: unavailable, and the message names only scheme and host', async () => {
    const port = await deadPort();
    const { resolver } = setup(undefined, { addr: `https://127.0.0.1:${port}`, timeoutMs: 2000 });
    try {
      const msg = await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_UNAVAILABLE', ['netops', '/v1/']);
      assert.match(msg, /https:\/\/127\.0\.0\.1/);
    } finally {
      await resolver.close();
    }
  });

  it('403 (a token without the policy, or an unknown token) is a denial', async () => {
    vault.put('kv', 'netops/snmp', { auth: 'x' });
    for (const token of ['s.limited', 's.unknown']) {
      const { resolver } = setup({ method: 'token', token: () => token });
      try {
        await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_DENIED', [token]);
      } finally {
        await resolver.close();
      }
    }
  });

  it('malformed answers are errors: non-JSON, a KV v1 shape, a missing field, a non-string field, a deleted version', async () => {
    const { resolver } = setup();
    try {
      vault.override = { status: 200, body: '<html>proxy login</html>' };
      await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_MALFORMED');
      vault.override = { status: 200, body: { lease_duration: 2764800, data: { auth: 'kv-v1-shape' } } };
      await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_MALFORMED', ['kv-v1-shape']);
      vault.override = { status: 200, body: { lease_duration: 'soon', data: { data: { auth: 'v' } } } };
      await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_MALFORMED');
      vault.override = undefined;
      vault.put('kv', 'netops/snmp', { priv: 'only-priv' });
      await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_NOT_FOUND', ['auth', 'only-priv']);
      vault.put('kv', 'netops/snmp', { auth: { nested: true } });
      await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_MALFORMED');
      vault.put('kv', 'netops/snmp', { auth: '' });
      await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_MALFORMED');
      vault.softDelete('kv', 'netops/snmp');
      await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_NOT_FOUND');
      await failsWith(text(resolver, parseSecretRef('vault:kv/no/such#auth')), 'PROBECTL_ERR_SECRET_NOT_FOUND');
    } finally {
      vault.override = undefined;
      await resolver.close();
    }
  });

  it('AppRole: logs in with role_id and secret_id, reads with the issued token, logs in again near the lease end', async () => {
    vault.put('kv', 'netops/snmp', { auth: 'approle-value' });
    const { resolver, clock } = setup({ method: 'approle', roleId: 'role-123', secretId: () => 'approle-secret-id', mount: 'approle' });
    try {
      const start = vault.server.requests.length;
      assert.equal(await text(resolver), 'approle-value');
      const [login, read] = vault.server.requests.slice(start);
      assert.equal(login!.method, 'POST');
      assert.equal(login!.url, '/v1/auth/approle/login');
      assert.deepEqual(JSON.parse(login!.body.toString('utf8')), { role_id: 'role-123', secret_id: 'approle-secret-id' });
      assert.match(String(read!.headers['x-vault-token']), /^hvs\./);
      const logins = vault.logins;
      clock.advance(LEASE + 1);
      await text(resolver);
      assert.equal(vault.logins, logins, 'the login token is reused inside its lease');
      clock.advance(480_000 - LEASE); // past 80% of the 600 s token lease
      await text(resolver);
      assert.equal(vault.logins, logins + 1, 'logged in again before the token lease ran out');
    } finally {
      await resolver.close();
    }
  });

  it('AppRole: a revoked login token is replaced by one new login, then the read succeeds', async () => {
    vault.put('kv', 'netops/snmp', { auth: 'after-revoke' });
    const { resolver, clock } = setup({ method: 'approle', roleId: 'role-123', secretId: () => 'approle-secret-id', mount: 'approle' });
    try {
      await text(resolver);
      for (const [token] of vault.tokens) if (token.startsWith('hvs.')) vault.tokens.delete(token);
      const logins = vault.logins;
      clock.advance(LEASE + 1);
      assert.equal(await text(resolver), 'after-revoke');
      assert.equal(vault.logins, logins + 1);
    } finally {
      await resolver.close();
    }
  });

  it('AppRole: wrong credentials are a denial and the secret_id never appears in the error', async () => {
    const { resolver } = setup({ method: 'approle', roleId: 'role-123', secretId: () => 'wrong-secret-id', mount: 'approle' });
    try {
      await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_DENIED', ['wrong-secret-id', 'role-123']);
    } finally {
      await resolver.close();
    }
  });

  it('Kubernetes: posts the role and the service-account JWT read from the file at each login', async () => {
    vault.put('kv', 'netops/snmp', { auth: 'k8s-value' });
    const dir = mkdtempSync(join(tmpdir(), 'probectl-k8s-'));
    const jwtFile = join(dir, 'token');
    writeFileSync(jwtFile, 'eyJhbGciOiJSUzI1NiJ9.sa-token.sig\n');
    const { resolver } = setup({ method: 'kubernetes', role: 'probectl', jwtFile, mount: 'kubernetes' });
    try {
      const start = vault.server.requests.length;
      assert.equal(await text(resolver), 'k8s-value');
      const login = vault.server.requests[start]!;
      assert.equal(login.url, '/v1/auth/kubernetes/login');
      assert.deepEqual(JSON.parse(login.body.toString('utf8')), { role: 'probectl', jwt: 'eyJhbGciOiJSUzI1NiJ9.sa-token.sig' });
    } finally {
      await resolver.close();
    }
    writeFileSync(jwtFile, 'a-stale-projected-token');
    const second = setup({ method: 'kubernetes', role: 'probectl', jwtFile, mount: 'kubernetes' });
    try {
      await failsWith(text(second.resolver), 'PROBECTL_ERR_SECRET_DENIED', ['a-stale-projected-token']);
    } finally {
      await second.resolver.close();
    }
    const third = setup({ method: 'kubernetes', role: 'probectl', jwtFile: join(dir, 'missing'), mount: 'kubernetes' });
    try {
      await failsWith(text(third.resolver), 'PROBECTL_ERR_SECRET_UNAVAILABLE', [dir]);
    } finally {
      await third.resolver.close();
    }
  });

  it('namespaces: X-Vault-Namespace rides every request, and a Vault that needs it refuses without it', async () => {
    const nsVault = await FakeVault.start(pki, { namespace: 'netops-team', approle: { roleId: 'r', secretId: 's', tokenTtlSeconds: 60 } });
    nsVault.put('kv', 'netops/snmp', { auth: 'ns-value' });
    try {
      const withNs = new SecretResolver({ leaseMs: LEASE, backends: [new VaultBackend({ addr: nsVault.url, ca: [pki.ca.certPem], namespace: 'netops-team', auth: { method: 'approle', roleId: 'r', secretId: () => 's', mount: 'approle' } })] });
      assert.equal(await text(withNs), 'ns-value');
      assert.ok(nsVault.server.requests.every((r) => r.headers['x-vault-namespace'] === 'netops-team'));
      await withNs.close();
      const without = new SecretResolver({ leaseMs: LEASE, backends: [new VaultBackend({ addr: nsVault.url, ca: [pki.ca.certPem], auth: { method: 'approle', roleId: 'r', secretId: () => 's', mount: 'approle' } })] });
      await failsWith(text(without), 'PROBECTL_ERR_SECRET_DENIED');
      await without.close();
    } finally {
      await nsVault.close();
    }
  });

  it('TLS: without the Vault CA the server is not trusted; http:// to a remote host is refused', async () => {
    const noCa = setup(undefined, { ca: [] });
    try {
      await failsWith(text(noCa.resolver), 'PROBECTL_ERR_SECRET_UNAVAILABLE', ['netops']);
    } finally {
      await noCa.resolver.close();
    }
    const plain = setup(undefined, { addr: 'http://vault.example.com:8200' });
    try {
      await failsWith(text(plain.resolver), 'PROBECTL_ERR_SECRET_INSECURE_TRANSPORT');
    } finally {
      await plain.resolver.close();
    }
  });
});
