import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { secretRef } from '../../src/secrets/config-var.ts';
import { list, str } from '../../src/config/vars.ts';
import { isProbectlError } from '../../src/core/errors.ts';
import { EnvBackend } from '../../src/secrets/backends/env.ts';
import { VaultBackend } from '../../src/secrets/backends/vault.ts';
import { readDeviceCredentials } from '../../src/secrets/device-config.ts';
import { parseSecretRef } from '../../src/secrets/ref.ts';
import { SecretResolver } from '../../src/secrets/resolver.ts';
import { checkReferences, collectReferences, formatChecks, resolveAtStartup } from '../../src/secrets/startup.ts';
import { testPki, type TestPki } from '../core/http/test-server.ts';
import { FakeVault } from './servers/vault.ts';

const sections = {
  demo: {
    vars: {
      dbPassword: secretRef('PROBECTL_DEMO_PASSWORD', { doc: '' }),
      token: secretRef('PROBECTL_DEMO_TOKEN', { doc: '' }),
      plain: str('PROBECTL_DEMO_PLAIN', { default: 'x', doc: '' }),
      connectors: list('PROBECTL_DEMO_CONNECTORS', { accepts: '', doc: '', item: (t) => ({ name: t, key: parseSecretRef(`env:KEY_${t.toUpperCase()}`) }) }),
    },
  },
};

describe('startup resolution and secrets check', () => {
  let pki: TestPki;
  let vault: FakeVault;

  before(async () => {
    pki = await testPki();
    vault = await FakeVault.start(pki);
    vault.addToken('s.t');
    vault.put('kv', 'probectl/db', { password: 'db-secret-password' });
  });
  after(() => vault?.close());

  const resolverWith = (env: NodeJS.ProcessEnv) => new SecretResolver({ leaseMs: 60_000, backends: [new EnvBackend(env), new VaultBackend({ addr: vault.url, ca: [pki.ca.certPem], auth: { method: 'token', token: () => 's.t' } })] });

  it('collects every reference: plain variables, list items and device credentials, not literals', () => {
    const values = {
      dbPassword: parseSecretRef('vault:kv/probectl/db#password'),
      token: parseSecretRef('a-literal-token'),
      plain: 'x',
      connectors: [{ name: 'a', key: parseSecretRef('env:KEY_A') }, { name: 'b', key: parseSecretRef('env:KEY_B') }],
    };
    const devices = readDeviceCredentials({ PROBECTL_DEVICE_CRED_SW_USERNAME: 'u', PROBECTL_DEVICE_CRED_SW_AUTH_PASS: 'vault:kv/netops/snmp#auth' }, []);
    const refs = collectReferences(sections, values, devices);
    assert.deepEqual(refs.map((r) => r.variable), ['PROBECTL_DEMO_PASSWORD', 'PROBECTL_DEMO_CONNECTORS[1]', 'PROBECTL_DEMO_CONNECTORS[2]', 'PROBECTL_DEVICE_CRED_SW_AUTH_PASS']);
  });

  it('all resolve: one OK line per variable with the redacted reference', async () => {
    const resolver = resolverWith({ KEY_A: 'ka', KEY_B: 'kb' });
    const refs = collectReferences(sections, { dbPassword: parseSecretRef('vault:kv/probectl/db#password'), connectors: [{ key: parseSecretRef('env:KEY_A') }] });
    const results = await resolveAtStartup(resolver, refs);
    const lines = formatChecks(results);
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^PROBECTL_DEMO_PASSWORD\s+vault:kv\/probectl\/db#…\s+OK$/);
    assert.match(lines[1]!, /^PROBECTL_DEMO_CONNECTORS\[1\]\s+env:KEY_A\s+OK$/);
    await resolver.close();
  });

  it('any failure refuses startup naming each failing variable and its redacted reference, never a value', async () => {
    const resolver = resolverWith({ KEY_A: 'ka' });
    const refs = collectReferences(sections, {
      dbPassword: parseSecretRef('vault:kv/probectl/db#nosuchfield'),
      token: parseSecretRef('gcp:proj/tok'),
      connectors: [{ key: parseSecretRef('env:KEY_A') }, { key: parseSecretRef('env:KEY_MISSING') }],
    });
    try {
      await resolveAtStartup(resolver, refs);
      assert.fail('expected a refusal');
    } catch (err) {
      assert.ok(isProbectlError(err));
      assert.equal(err.code, 'PROBECTL_ERR_SECRET_NOT_FOUND');
      assert.match(err.message, /startup refused \(3 of 4\)/);
      assert.match(err.message, /PROBECTL_DEMO_PASSWORD \(vault:kv\/probectl\/db#…\): vault: the secret has no such field \[PROBECTL_ERR_SECRET_NOT_FOUND\]/);
      assert.match(err.message, /PROBECTL_DEMO_TOKEN \(gcp:proj\/tok\/…\): no gcp secret backend is configured \[PROBECTL_ERR_SECRET_BACKEND_UNCONFIGURED\]/);
      assert.match(err.message, /PROBECTL_DEMO_CONNECTORS\[2\] \(env:KEY_MISSING\)/);
      assert.ok(!err.message.includes('nosuchfield') && !err.message.includes('db-secret-password') && !err.message.includes('ka'));
    }
    const lines = formatChecks(await checkReferences(resolver, refs));
    assert.deepEqual(lines.map((l) => l.split(/\s+/).at(2) === 'OK' ? 'OK' : l.includes(' FAIL PROBECTL_ERR_') ? 'FAIL' : '?'), ['FAIL', 'FAIL', 'OK', 'FAIL']);
    await resolver.close();
  });
});
