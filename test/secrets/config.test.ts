import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readSection, type ConfigProblem } from '../../src/config/section.ts';
import { secretsCrossChecks, secretsVars } from '../../src/secrets/config.ts';
import { DEVICE_CRED_PATTERN, readDeviceCredentials } from '../../src/secrets/device-config.ts';

function check(env: NodeJS.ProcessEnv, core: { tlsCertFile?: string; tlsKeyFile?: string } = {}) {
  const problems: ConfigProblem[] = [];
  const section = readSection(env, secretsVars, problems);
  if (problems.length === 0) secretsCrossChecks(section, { tlsCertFile: core.tlsCertFile, tlsKeyFile: core.tlsKeyFile }, problems);
  return { section, problems };
}

const named = (problems: ConfigProblem[]) => problems.map((p) => p.variable);

describe('secrets configuration', () => {
  it('defaults: a 5m lease, a 10s timeout, no backend configured', () => {
    const { section, problems } = check({});
    assert.deepEqual(problems, []);
    assert.equal(section.secretsLease, 300_000);
    assert.equal(section.secretsTimeout, 10_000);
    assert.equal(section.vaultAddr, undefined);
    assert.equal(section.vaultApproleMount, 'approle');
  });

  it('Vault needs exactly one auth method', () => {
    assert.deepEqual(check({ PROBECTL_SECRETS_VAULT_ADDR: 'https://vault.example:8200', PROBECTL_SECRETS_VAULT_TOKEN: 'hvs.x' }).problems, []);
    assert.deepEqual(named(check({ PROBECTL_SECRETS_VAULT_ADDR: 'https://vault.example:8200' }).problems), ['PROBECTL_SECRETS_VAULT_ADDR']);
    const two = check({ PROBECTL_SECRETS_VAULT_ADDR: 'https://vault.example:8200', PROBECTL_SECRETS_VAULT_TOKEN: 'hvs.x', PROBECTL_SECRETS_VAULT_K8S_ROLE: 'probectl' }).problems;
    assert.deepEqual(named(two), ['PROBECTL_SECRETS_VAULT_ADDR']);
    assert.match(two[0]!.problem, /more than one Vault auth method is set \(token, Kubernetes\)/);
    assert.deepEqual(named(check({ PROBECTL_SECRETS_VAULT_ADDR: 'https://vault.example:8200', PROBECTL_SECRETS_VAULT_ROLE_ID: 'r' }).problems), ['PROBECTL_SECRETS_VAULT_SECRET_ID']);
    assert.deepEqual(named(check({ PROBECTL_SECRETS_VAULT_TOKEN: 'hvs.x' }).problems), ['PROBECTL_SECRETS_VAULT_TOKEN']);
    assert.deepEqual(named(check({ PROBECTL_SECRETS_VAULT_ADDR: 'https://v:8200', PROBECTL_SECRETS_VAULT_K8S_ROLE: 'r', PROBECTL_SECRETS_VAULT_K8S_TOKEN_FILE: '/nonexistent/token' }).problems), ['PROBECTL_SECRETS_VAULT_K8S_TOKEN_FILE']);
  });

  it('plain http:// is refused except to loopback, naming the variable and never echoing a credential', () => {
    const remote = check({ PROBECTL_SECRETS_VAULT_ADDR: 'http://vault.example:8200', PROBECTL_SECRETS_VAULT_TOKEN: 'hvs.topsecret' }).problems;
    assert.deepEqual(named(remote), ['PROBECTL_SECRETS_VAULT_ADDR']);
    assert.match(remote[0]!.problem, /refused except to a loopback host/);
    assert.ok(!JSON.stringify(remote).includes('hvs.topsecret'));
    assert.deepEqual(check({ PROBECTL_SECRETS_VAULT_ADDR: 'http://127.0.0.1:8200', PROBECTL_SECRETS_VAULT_TOKEN: 'x' }).problems, []);
    assert.deepEqual(named(check({ PROBECTL_SECRETS_CYBERARK_URL: 'http://ccp.example', PROBECTL_SECRETS_CYBERARK_APP_ID: 'a' }).problems), ['PROBECTL_SECRETS_CYBERARK_URL']);
    assert.deepEqual(named(check({ PROBECTL_SECRETS_CONJUR_URL: 'https://u:p@conjur.example', PROBECTL_SECRETS_CONJUR_LOGIN: 'host/x', PROBECTL_SECRETS_CONJUR_API_KEY: 'k' }).problems), ['PROBECTL_SECRETS_CONJUR_URL']);
  });

  it('a backend credential may be a literal or env:, never another backend', () => {
    assert.deepEqual(check({ PROBECTL_SECRETS_VAULT_ADDR: 'https://v:8200', PROBECTL_SECRETS_VAULT_TOKEN: 'env:VAULT_TOKEN' }).problems, []);
    assert.deepEqual(named(check({ PROBECTL_SECRETS_VAULT_ADDR: 'https://v:8200', PROBECTL_SECRETS_VAULT_TOKEN: 'aws:vault-token' }).problems), ['PROBECTL_SECRETS_VAULT_TOKEN']);
    const bad = check({ PROBECTL_SECRETS_VAULT_ADDR: 'https://v:8200', PROBECTL_SECRETS_VAULT_TOKEN: 'vault:kv/x' }).problems;
    assert.deepEqual(named(bad), ['PROBECTL_SECRETS_VAULT_TOKEN']);
    assert.ok(!JSON.stringify(bad).includes('kv/x'), 'a malformed reference is described, not quoted');
  });

  it('CyberArk and Conjur settings come in complete sets', () => {
    assert.deepEqual(named(check({ PROBECTL_SECRETS_CYBERARK_URL: 'https://ccp.example' }).problems), ['PROBECTL_SECRETS_CYBERARK_APP_ID']);
    assert.deepEqual(named(check({ PROBECTL_SECRETS_CYBERARK_APP_ID: 'probectl' }).problems), ['PROBECTL_SECRETS_CYBERARK_APP_ID']);
    const dir = mkdtempSync(join(tmpdir(), 'probectl-cfg-'));
    writeFileSync(join(dir, 'c.pem'), 'x');
    assert.deepEqual(named(check({ PROBECTL_SECRETS_CYBERARK_URL: 'https://ccp.example', PROBECTL_SECRETS_CYBERARK_APP_ID: 'a', PROBECTL_SECRETS_CYBERARK_CLIENT_CERT_FILE: join(dir, 'c.pem') }).problems), ['PROBECTL_SECRETS_CYBERARK_CLIENT_KEY_FILE']);
    assert.deepEqual(named(check({ PROBECTL_SECRETS_CONJUR_URL: 'https://conjur.example' }).problems).sort(), ['PROBECTL_SECRETS_CONJUR_API_KEY', 'PROBECTL_SECRETS_CONJUR_LOGIN']);
  });

  it('the server identity comes from files or from references, as a pair', () => {
    assert.deepEqual(named(check({ PROBECTL_TLS_CERT: 'vault:kv/tls/server#cert' }).problems), ['PROBECTL_TLS_KEY']);
    assert.deepEqual(named(check({ PROBECTL_TLS_CERT: 'vault:kv/tls/server#cert', PROBECTL_TLS_KEY: 'vault:kv/tls/server#key' }, { tlsCertFile: '/a', tlsKeyFile: '/b' }).problems), ['PROBECTL_TLS_CERT']);
    assert.deepEqual(check({ PROBECTL_TLS_CERT: 'vault:kv/tls/server#cert', PROBECTL_TLS_KEY: 'vault:kv/tls/server#key' }).problems, []);
  });
});

describe('device credentials configuration', () => {
  it('parses PROBECTL_DEVICE_CRED_<NAME>_<FIELD> into typed specs, any value a reference', () => {
    const problems: ConfigProblem[] = [];
    const specs = readDeviceCredentials({
      PROBECTL_DEVICE_CRED_CORE_SW_USERNAME: 'monitor',
      PROBECTL_DEVICE_CRED_CORE_SW_AUTH_PASS: 'vault:kv/netops/snmp#auth',
      PROBECTL_DEVICE_CRED_CORE_SW_PRIV_PASS: 'vault:kv/netops/snmp#priv',
      PROBECTL_DEVICE_CRED_CORE_SW_AUTH_PROTO: 'sha256',
      PROBECTL_DEVICE_CRED_EDGE1_COMMUNITY: 'env:EDGE_COMMUNITY',
      PROBECTL_DEVICE_CRED_FW_PASSWORD: 'cyberark:Safe=net;Object=fw#Content',
      PROBECTL_DEVICE_CRED_FW_USERNAME: 'cyberark:Safe=net;Object=fw#UserName',
      PROBECTL_OTHER: 'ignored',
    }, problems);
    assert.deepEqual(problems, []);
    assert.deepEqual(specs.map((s) => s.name).sort(), ['CORE_SW', 'EDGE1', 'FW']);
    const core = specs.find((s) => s.name === 'CORE_SW')!;
    assert.deepEqual(core.fields.AUTH_PASS, { scheme: 'vault', mount: 'kv', path: 'netops/snmp', field: 'auth' });
    assert.deepEqual(core.fields.USERNAME, { scheme: 'literal', value: 'monitor' });
    assert.equal(DEVICE_CRED_PATTERN.exec('PROBECTL_DEVICE_CRED_CORE_SW_AUTH_PASS')?.[1], 'CORE_SW');
    assert.equal(DEVICE_CRED_PATTERN.exec('PROBECTL_DEVICE_CRED_CORE_SW_AUTHPASS'), null);
  });

  it('collects problems naming the variable and never quoting a value', () => {
    const problems: ConfigProblem[] = [];
    readDeviceCredentials({
      PROBECTL_DEVICE_CRED_A_AUTH_PASS: 'a-secret-pass',
      PROBECTL_DEVICE_CRED_B_PRIV_PASS: 'b-secret', PROBECTL_DEVICE_CRED_B_USERNAME: 'u', PROBECTL_DEVICE_CRED_B_COMMUNITY: 'c-secret',
      PROBECTL_DEVICE_CRED_C_USERNAME: 'only-a-user',
      PROBECTL_DEVICE_CRED_D_USERNAME: 'u', PROBECTL_DEVICE_CRED_D_AUTH_PASS: 'p', PROBECTL_DEVICE_CRED_D_AUTH_PROTO: 'ROT13',
      PROBECTL_DEVICE_CRED_E_USERNAME: 'u', PROBECTL_DEVICE_CRED_E_AUTH_PASS: 'vault:kv/x',
      PROBECTL_DEVICE_CRED_F_COMMUNITY: 'c', PROBECTL_DEVICE_CRED_F_AUTH_PASS: 'p', PROBECTL_DEVICE_CRED_F_USERNAME: 'u',
    }, problems);
    assert.deepEqual(problems.map((p) => p.variable).sort(), [
      'PROBECTL_DEVICE_CRED_A_USERNAME',
      'PROBECTL_DEVICE_CRED_B_PRIV_PASS',
      'PROBECTL_DEVICE_CRED_C_*',
      'PROBECTL_DEVICE_CRED_D_AUTH_PROTO',
      'PROBECTL_DEVICE_CRED_E_AUTH_PASS',
      'PROBECTL_DEVICE_CRED_F_COMMUNITY',
    ]);
    const text = JSON.stringify(problems);
    for (const secret of ['a-secret-pass', 'b-secret', 'c-secret', 'ROT13', 'kv/x']) assert.ok(!text.includes(secret), `problem quotes ${secret}`);
  });
});
