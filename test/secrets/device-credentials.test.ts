import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import type { ConfigProblem } from '../../src/config/section.ts';
import { VaultBackend } from '../../src/secrets/backends/vault.ts';
import { readDeviceCredentials } from '../../src/secrets/device-config.ts';
import { DeviceCredentials, type ResolvedDeviceCredential } from '../../src/secrets/device-credentials.ts';
import { registerSecretsMetrics } from '../../src/secrets/metrics.ts';
import { SecretResolver } from '../../src/secrets/resolver.ts';
import { testPki, type TestPki } from '../core/http/test-server.ts';
import { manualClock } from '../helpers/tenants.ts';
import { FakeVault } from './servers/vault.ts';

const LEASE = 300_000;

describe('device credentials: resolved per poll cycle', () => {
  let pki: TestPki;
  let vault: FakeVault;

  before(async () => {
    pki = await testPki();
    vault = await FakeVault.start(pki);
    vault.addToken('s.device-token');
  });
  after(() => vault?.close());

  /** A resolver and device credentials over the local Vault, closed when the test ends however it ends. */
  function setup(t: TestContext, env: NodeJS.ProcessEnv, timeoutMs?: number) {
    const problems: ConfigProblem[] = [];
    const specs = readDeviceCredentials(env, problems);
    assert.deepEqual(problems, []);
    const clock = manualClock();
    const resolver = new SecretResolver({ leaseMs: LEASE, clock, ...(timeoutMs === undefined ? {} : { timeoutMs }), backends: [new VaultBackend({ addr: vault.url, ca: [pki.ca.certPem], auth: { method: 'token', token: () => 's.device-token' } })] });
    t.after(() => resolver.close());
    const skips: string[] = [];
    const devices = new DeviceCredentials({ resolver, specs, clock, onSkip: (name, err) => skips.push(`${name}:${err.code}`) });
    resolver.addHealthContributor(devices);
    return { resolver, devices, clock, skips };
  }

  const SPEC = {
    PROBECTL_DEVICE_CRED_CORE_SW_USERNAME: 'monitor',
    PROBECTL_DEVICE_CRED_CORE_SW_AUTH_PASS: 'vault:kv/netops/snmp#auth',
    PROBECTL_DEVICE_CRED_CORE_SW_PRIV_PASS: 'vault:kv/netops/snmp#priv',
  };

  it('a cycle gets the SNMPv3 credential (defaults SHA / AES), buffers zeroed after the cycle', async (t) => {
    vault.put('kv', 'netops/snmp', { auth: 'auth-key-1', priv: 'priv-key-1' });
    const { devices } = setup(t, SPEC);
    let held: ResolvedDeviceCredential | undefined;
    const outcome = await devices.pollCycle('CORE_SW', (cred) => {
      held = cred;
      return { user: cred.username, auth: cred.snmpv3?.authKey.toString(), priv: cred.snmpv3?.privKey?.toString(), protos: [cred.snmpv3?.authProtocol, cred.snmpv3?.privProtocol] };
    });
    assert.deepEqual(outcome, { ok: true, value: { user: 'monitor', auth: 'auth-key-1', priv: 'priv-key-1', protos: ['SHA', 'AES'] } });
    assert.ok(held!.snmpv3!.authKey.every((b) => b === 0) && held!.snmpv3!.privKey!.every((b) => b === 0));
  });

  it('rotation applies at the next lease; a failed re-resolution skips the cycle (counted), the next cycle tries again', async (t) => {
    vault.put('kv', 'netops/snmp', { auth: 'auth-old', priv: 'priv-old' });
    // A short fetch deadline: a Vault that keeps answering 503 is retried until then, and the cycle is skipped.
    const { resolver, devices, clock, skips } = setup(t, SPEC, 1000);
    const poll = () => devices.pollCycle('CORE_SW', (cred) => cred.snmpv3!.authKey.toString());
    assert.deepEqual(await poll(), { ok: true, value: 'auth-old' });
    vault.put('kv', 'netops/snmp', { auth: 'auth-new', priv: 'priv-new' });
    assert.deepEqual(await poll(), { ok: true, value: 'auth-old' });
    clock.advance(LEASE);
    assert.deepEqual(await poll(), { ok: true, value: 'auth-new' });

    clock.advance(LEASE);
    vault.override = { status: 503, body: { errors: ['Vault is sealed'] } };
    t.after(() => {
      vault.override = undefined;
    });
    let ran = false;
    const skipped = await devices.pollCycle('CORE_SW', () => {
      ran = true;
    });
    assert.equal(skipped.ok, false);
    assert.equal(ran, false, 'the poll never runs with missing or stale material');
    assert.ok(!skipped.ok && skipped.error.code === 'PROBECTL_ERR_SECRET_UNAVAILABLE');
    assert.ok(!skipped.ok && /PROBECTL_DEVICE_CRED_CORE_SW_(AUTH|PRIV)_PASS \(vault:kv\/netops\/snmp#…\)/.test(skipped.error.message), !skipped.ok ? skipped.error.message : '');
    assert.deepEqual(skips, ['CORE_SW:PROBECTL_ERR_SECRET_UNAVAILABLE']);
    const h = resolver.health().device_credentials;
    assert.equal(h.length, 1);
    assert.deepEqual({ ...h[0], last_error_at: typeof h[0]!.last_error_at }, { name: 'CORE_SW', cycles: 4, skipped: 1, last_error: h[0]!.last_error, last_error_at: 'string' });
    assert.match(h[0]!.last_error ?? '', /^PROBECTL_ERR_SECRET_UNAVAILABLE: PROBECTL_DEVICE_CRED_CORE_SW_(AUTH|PRIV)_PASS: the vault backend is unavailable: \d+ attempts within 1000 ms failed, the last with: vault is unavailable \(HTTP 503\)$/);
    assert.ok(!JSON.stringify(resolver.health()).includes('netops'), 'health shows no reference locations');

    const registry = new Registry();
    registerSecretsMetrics(registry, resolver);
    const text = await registry.metrics();
    assert.match(text, /probectl_secrets_device_cycles_skipped_total\{credential="CORE_SW"\} 1/);
    assert.match(text, /probectl_secrets_device_cycles_total\{credential="CORE_SW"\} 4/);

    vault.override = undefined;
    assert.deepEqual(await poll(), { ok: true, value: 'auth-new' });
  });

  it('a protocol resolved from a reference is validated at use; an unknown one skips the cycle', async (t) => {
    vault.put('kv', 'netops/proto', { auth: 'ROT13', pass: 'p' });
    const { devices } = setup(t, {
      PROBECTL_DEVICE_CRED_X_USERNAME: 'u', PROBECTL_DEVICE_CRED_X_AUTH_PASS: 'vault:kv/netops/proto#pass', PROBECTL_DEVICE_CRED_X_AUTH_PROTO: 'vault:kv/netops/proto#auth',
    });
    const out = await devices.pollCycle('X', () => 'ran');
    assert.equal(out.ok, false);
    assert.ok(!out.ok && out.error.code === 'PROBECTL_ERR_SECRET_MALFORMED');
    assert.ok(!out.ok && !out.error.message.includes('ROT13'));
  });

  it('errors thrown by the poll itself are the caller\'s, not a skipped cycle', async (t) => {
    vault.put('kv', 'netops/snmp', { auth: 'a', priv: 'p' });
    const { devices } = setup(t, SPEC);
    await assert.rejects(devices.pollCycle('CORE_SW', () => {
      throw new Error('device timed out');
    }), /device timed out/);
    assert.equal(devices.stats()[0]!.skipped, 0);
  });

  it('community (SNMPv2c) and password credentials', async (t) => {
    vault.put('kv', 'netops/fw', { password: 'fw-pass', community: 'public-not' });
    const { devices } = setup(t, {
      PROBECTL_DEVICE_CRED_EDGE_COMMUNITY: 'vault:kv/netops/fw#community',
      PROBECTL_DEVICE_CRED_FW_USERNAME: 'admin', PROBECTL_DEVICE_CRED_FW_PASSWORD: 'vault:kv/netops/fw#password',
    });
    assert.deepEqual(await devices.use('EDGE', (c) => [c.community?.toString(), c.snmpv3, c.password]), ['public-not', undefined, undefined]);
    assert.deepEqual(await devices.use('FW', (c) => [c.username, c.password?.toString()]), ['admin', 'fw-pass']);
    await assert.rejects(devices.use('NOPE', () => 1), /no device credential named NOPE/);
  });
});
