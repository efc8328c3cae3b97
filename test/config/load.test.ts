import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DYNAMIC_VARIABLE_PATTERNS, knownVariableNames, loadConfig } from '../../src/settings.ts';
import { renderConfigReference, renderEffectiveConfig } from '../../src/settings.ts';
import { isProbectlError, type ProbectlError } from '../../src/core/errors.ts';
import { TEST_ENCRYPTION_KEY } from '../helpers/keys.ts';

function problems(env: NodeJS.ProcessEnv): ProbectlError {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(isProbectlError(err, 'PROBECTL_ERR_CONFIG_INVALID'));
    return err;
  }
  assert.fail('configuration should have been refused');
}

describe('configuration', () => {
  it('defaults give a frozen, typed configuration', () => {
    const c = loadConfig({});
    assert.equal(c.dataDir, './.probectl');
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8443 });
    assert.equal(c.incidentWindow, 30 * 60_000);
    assert.equal(c.allowPlaintextHttp, false);
    assert.ok(Object.isFrozen(c));
    assert.throws(() => {
      (c as { dataDir: string }).dataDir = 'x';
    });
  });

  it('cross-checks still run when other variables fail to parse: one start names every bad variable, without findings that rest on a failed one', () => {
    const names = (env: NodeJS.ProcessEnv) => [...new Set((problems(env).details?.problems as Array<{ variable: string }>).map((p) => p.variable))].sort();
    // A bad log level does not hide the database URL that is no postgres:// URL, nor plaintext HTTP on every interface.
    const secret = 'SuperSecret123';
    const err = problems({ PROBECTL_LOG_LEVEL: 'verbose', PROBECTL_DATABASE_URL: `mysql://admin:${secret}@db.example/x`, PROBECTL_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, PROBECTL_ALLOW_PLAINTEXT_HTTP: 'true', PROBECTL_LISTEN: '0.0.0.0:8443' });
    assert.deepEqual(names({ PROBECTL_LOG_LEVEL: 'verbose', PROBECTL_DATABASE_URL: `mysql://admin:${secret}@db.example/x`, PROBECTL_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, PROBECTL_ALLOW_PLAINTEXT_HTTP: 'true', PROBECTL_LISTEN: '0.0.0.0:8443' }),
      ['PROBECTL_ALLOW_PLAINTEXT_HTTP', 'PROBECTL_DATABASE_URL', 'PROBECTL_LOG_LEVEL']);
    assert.ok(!err.message.includes(secret), 'the database password is never shown');
    // Two Vault auth methods next to an unrelated bad value.
    assert.deepEqual(names({ PROBECTL_BODY_LIMIT: '12', PROBECTL_SECRETS_VAULT_ADDR: 'https://vault.example:8200', PROBECTL_SECRETS_VAULT_TOKEN: 'x', PROBECTL_SECRETS_VAULT_K8S_ROLE: 'r' }),
      ['PROBECTL_BODY_LIMIT', 'PROBECTL_SECRETS_VAULT_ADDR']);
    // An unknown preset next to a plaintext endpoint to a remote host: both named; nothing judged against the unknown preset.
    assert.deepEqual(names({ PROBECTL_SIEM_PRESET: 'splunkk', PROBECTL_SIEM_ENDPOINT: 'http://siem.example/services/collector', PROBECTL_SIEM_SPLUNK_ACK: 'true' }),
      ['PROBECTL_SIEM_ENDPOINT', 'PROBECTL_SIEM_PRESET']);
    // An unreadable CA file next to a Splunk path that is neither /raw nor /event and a missing token.
    assert.deepEqual(names({ PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_PRESET: 'splunk', PROBECTL_SIEM_CA_FILE: '/definitely/missing-ca.pem', PROBECTL_SIEM_ENDPOINT: 'https://splunk.example:8088/services/collector/nope' }),
      ['PROBECTL_SIEM_CA_FILE', 'PROBECTL_SIEM_ENDPOINT', 'PROBECTL_SIEM_TOKEN']);
    // A failed variable is not reported twice, nor a pair rule resting on it.
    assert.deepEqual(names({ PROBECTL_LOG_LEVEL: 'x', PROBECTL_SECRETS_VAULT_ADDR: 'not a url', PROBECTL_SECRETS_VAULT_TOKEN: 'x' }), ['PROBECTL_LOG_LEVEL', 'PROBECTL_SECRETS_VAULT_ADDR']);
  });

  it('a CA file that holds no certificate, or a private key, is refused at startup for every integration that takes one', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'probectl-ca-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const notPem = join(dir, 'notes.txt');
    writeFileSync(notPem, 'this is not a certificate\n');
    const key = join(dir, 'key.pem');
    writeFileSync(key, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    for (const file of [notPem, key]) {
      const err = problems({
        PROBECTL_SIEM_CA_FILE: file, PROBECTL_NOTIFY_CA_FILE: file, PROBECTL_METRICS_UPSTREAM_URL: 'http://127.0.0.1:9090', PROBECTL_METRICS_UPSTREAM_CA_FILE: file,
        PROBECTL_CMDB_PROVIDER: 'netbox', PROBECTL_CMDB_URL: 'https://netbox.example', PROBECTL_CMDB_SECRET: 'x'.repeat(40), PROBECTL_CMDB_CA_FILE: file,
      });
      const bad = (err.details?.problems as Array<{ variable: string; problem: string }>).filter((p) => p.variable.endsWith('_CA_FILE'));
      assert.deepEqual(bad.map((p) => p.variable).sort(), ['PROBECTL_CMDB_CA_FILE', 'PROBECTL_METRICS_UPSTREAM_CA_FILE', 'PROBECTL_NOTIFY_CA_FILE', 'PROBECTL_SIEM_CA_FILE'], file);
      for (const p of bad) assert.match(p.problem, file === key ? /other than CERTIFICATE/ : /no PEM certificate/);
      assert.ok(!err.message.includes('PRIVATE KEY-----'), 'the key is never echoed');
    }
  });

  it('reports every bad variable at once, with what is accepted', () => {
    const err = problems({
      PROBECTL_LISTEN: 'nowhere',
      PROBECTL_INCIDENT_WINDOW: 'soon',
      PROBECTL_BODY_LIMIT: '12',
      PROBECTL_LOG_LEVEL: 'chatty',
      PROBECTL_TLS_POSTURE_TARGETS: 'not-a-uuid|host:1',
      PROBECTL_TLS_CERT_FILE: '/definitely/missing.pem',
    });
    for (const name of ['PROBECTL_LISTEN', 'PROBECTL_INCIDENT_WINDOW', 'PROBECTL_BODY_LIMIT', 'PROBECTL_LOG_LEVEL', 'PROBECTL_TLS_POSTURE_TARGETS', 'PROBECTL_TLS_CERT_FILE']) {
      assert.match(err.message, new RegExp(`${name}: `), name);
    }
    assert.match(err.message, /6 problems/);
    assert.match(err.message, /PROBECTL_INCIDENT_WINDOW: not a duration \(got "soon"\); accepted: a duration/);
    assert.match(err.message, /PROBECTL_LOG_LEVEL: .*accepted: one of fatal, error, warn, info, debug, trace/);
  });

  it('never echoes a secret value, even a malformed one', () => {
    const secret = 'vault:kv/only-a-path-no-field-s3cr3t';
    const err = problems({ PROBECTL_DATABASE_URL: secret, PROBECTL_DATABASE_PASSWORD: 'hunter2' });
    assert.match(err.message, /PROBECTL_DATABASE_URL: vault: reference needs a #<field>/);
    assert.ok(!err.message.includes('s3cr3t') && !err.message.includes('only-a-path'));
    const literal = problems({ PROBECTL_DATABASE_URL: 'mysql://root:hunter2@db/x' });
    assert.ok(!literal.message.includes('hunter2'));
    assert.match(literal.message, /PROBECTL_DATABASE_URL: not a postgres:\/\/ URL/);
  });

  it('never echoes credentials carried by a refused non-secret URL (user-info, query values), whatever the variable', () => {
    const pw = 'pw-0d9e1c7b5a3f';
    const env = {
      PROBECTL_SECRETS_VAULT_ADDR: `https://probectl:${pw}@vault.example:8200`,
      PROBECTL_SECRETS_CYBERARK_URL: `http://u:${pw}@ccp.example`,
      PROBECTL_SECRETS_CONJUR_URL: `ftp://u:${pw}@conjur.example`,
      PROBECTL_SECRETS_AWS_ENDPOINT: `https://u:${pw}@vpce.example`,
      PROBECTL_SECRETS_GCP_ENDPOINT: `u:${pw}@sm.example`,
      PROBECTL_INCIDENT_WINDOW: `https://x.example/?token=${pw}`,
    };
    const err = problems(env);
    for (const name of Object.keys(env)) assert.match(err.message, new RegExp(`${name}: `), name);
    assert.ok(!err.message.includes(pw), err.message);
    assert.match(err.message, /\(got "https:\/\/\[redacted\]@vault\.example:8200"\)/, 'the rest of the value is still shown');
  });

  it('refuses a database URL that serve would refuse, without echoing it: a bad port, a remote server without TLS', () => {
    for (const [url, why] of [
      ['postgres://app:pw-77aa1c@127.0.0.1:99999/db', /PROBECTL_DATABASE_URL: not a valid URL/],
      ['postgres://app:pw-77aa1c@db.example/db', /PROBECTL_DATABASE_URL: a remote database needs sslmode=verify-full/],
    ] as const) {
      const err = problems({ PROBECTL_DATABASE_URL: url });
      assert.match(err.message, why);
      assert.ok(!err.message.includes('pw-77aa1c'));
    }
    assert.doesNotThrow(() => loadConfig({ PROBECTL_DATABASE_URL: 'postgres://app:pw@db.example/db?sslmode=verify-full', PROBECTL_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY }));
  });

  it('refuses plaintext HTTP off loopback and a lone TLS file', () => {
    const err = problems({ PROBECTL_ALLOW_PLAINTEXT_HTTP: 'true', PROBECTL_LISTEN: '0.0.0.0:8080' });
    assert.match(err.message, /PROBECTL_ALLOW_PLAINTEXT_HTTP: plain HTTP refused on non-loopback/);
    assert.equal(loadConfig({ PROBECTL_ALLOW_PLAINTEXT_HTTP: 'true', PROBECTL_LISTEN: '[::1]:8080' }).allowPlaintextHttp, true);
    assert.match(problems({ PROBECTL_TLS_CERT_FILE: import.meta.filename }).message, /PROBECTL_TLS_KEY_FILE: must be set together/);
  });

  it('an unknown PROBECTL_ variable is an error that suggests the closest name', () => {
    const err = problems({ PROBECTL_INCIDENT_WINDOWS: '5m' });
    assert.match(err.message, /PROBECTL_INCIDENT_WINDOWS: unknown variable \(did you mean PROBECTL_INCIDENT_WINDOW\?\)/);
    assert.doesNotThrow(() => loadConfig({ PROBECTL_TEST_DATABASE_URL: 'postgres://x' }));
  });

  it('config check output masks credentials and shows references only redacted', () => {
    const out = renderEffectiveConfig(loadConfig({
      PROBECTL_DATABASE_URL: 'postgres://app:hunter2@127.0.0.1/db', PROBECTL_DATABASE_PASSWORD: 'vault:kv/probectl/db#password', PROBECTL_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      PROBECTL_SECRETS_VAULT_ADDR: 'https://vault.example:8200', PROBECTL_SECRETS_VAULT_TOKEN: 'hvs.vault-token-1',
    }));
    assert.match(out, /PROBECTL_DATABASE_URL=\[literal\]/);
    assert.match(out, /PROBECTL_DATABASE_PASSWORD=vault:kv\/probectl\/db#…/);
    assert.ok(!out.includes('hunter2') && !out.includes('#password') && !out.includes('hvs.vault-token-1'));
    for (const name of knownVariableNames()) assert.ok(out.includes(`${name}=`), `${name} is shown`);
  });
});

describe('every secret reference names a configured backend', () => {
  const vault = { PROBECTL_SECRETS_VAULT_ADDR: 'https://vault.example:8200', PROBECTL_SECRETS_VAULT_TOKEN: 'env:VAULT_TOKEN' };

  it('a vault: or cyberark: reference without its backend is refused, naming the variable and the variable to set', () => {
    const cases: Array<[NodeJS.ProcessEnv, string, string]> = [
      [{ PROBECTL_SIEM_TOKEN: 'vault:kv/siem/splunk#token' }, 'PROBECTL_SIEM_TOKEN', 'PROBECTL_SECRETS_VAULT_ADDR'],
      [{ PROBECTL_DATABASE_URL: 'postgres://db.example/x?sslmode=verify-full', PROBECTL_DATABASE_PASSWORD: 'vault:kv/db#password', PROBECTL_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY }, 'PROBECTL_DATABASE_PASSWORD', 'PROBECTL_SECRETS_VAULT_ADDR'],
      [{ PROBECTL_TLS_CERT: 'cyberark:Safe=tls;Object=server#Content', PROBECTL_TLS_KEY: 'env:TLS_KEY' }, 'PROBECTL_TLS_CERT', 'PROBECTL_SECRETS_CYBERARK_URL'],
      [{ PROBECTL_DEVICE_CRED_CORE_SW_COMMUNITY: 'cyberark:conjur/acme/snmp/community' }, 'PROBECTL_DEVICE_CRED_CORE_SW_COMMUNITY', 'PROBECTL_SECRETS_CONJUR_URL'],
    ];
    for (const [env, variable, needed] of cases) {
      const err = problems(env);
      assert.match(err.message, new RegExp(`${variable}: refers to the .* backend \\(.*\\), which is not configured: ${needed} is not set; accepted: .*set ${needed}`), variable);
      assert.match(err.message, /1 problem\)/);
      assert.ok(!err.message.includes('#token') && !err.message.includes('#password'), 'the field of a reference is never shown');
    }
    // The SIEM token is checked with export off too: `serve` would refuse to start on it.
    assert.equal((problems({ PROBECTL_SIEM_TOKEN: 'vault:kv/a#b', PROBECTL_SIEM_ENABLED: 'false' }).details?.problems as unknown[]).length, 1);
  });

  it('a configured backend, env: and the cloud schemes (their SDK credential chains) are accepted', () => {
    assert.doesNotThrow(() => loadConfig({ ...vault, PROBECTL_SIEM_TOKEN: 'vault:kv/siem/splunk#token' }));
    for (const ref of ['env:HEC_TOKEN', 'aws:prod/probectl/hec', 'azure:netops-kv/hec', 'gcp:netops-prod/hec', 'literal:abc', 'plain-token']) {
      assert.doesNotThrow(() => loadConfig({ PROBECTL_SIEM_TOKEN: ref }), ref);
    }
  });

  it('a secret backend\'s own credential is a literal or env:, and the reference table says so', () => {
    for (const ref of ['aws:vault-token', 'vault:kv/vault#token', 'gcp:p/vault-token']) {
      assert.match(problems({ ...vault, PROBECTL_SECRETS_VAULT_TOKEN: ref }).message, /PROBECTL_SECRETS_VAULT_TOKEN: a secret-backend credential cannot itself come from a secret backend; accepted: a literal value, literal:<value> or env:NAME/);
    }
    const row = renderConfigReference().split('\n').find((l) => l.startsWith('| `PROBECTL_SECRETS_VAULT_TOKEN`')) as string;
    assert.ok(row.includes('env:NAME') && !row.includes('aws:') && !row.includes('vault:<mount>'), row);
  });
});

describe('config check shows effective values', () => {
  it('a list variable with a default shows the default, in the output and the reference table', () => {
    assert.match(renderEffectiveConfig(loadConfig({})), /^PROBECTL_SIEM_STREAMS=audit,threat$/m);
    assert.match(renderEffectiveConfig(loadConfig({ PROBECTL_SIEM_STREAMS: 'threat' })), /^PROBECTL_SIEM_STREAMS=threat$/m);
    assert.match(renderEffectiveConfig(loadConfig({})), /^PROBECTL_SIEM_REDACT_KEYS=\(none\)$/m);
    assert.deepEqual(loadConfig({}).integrationValues.siem?.streams, ['audit', 'threat']);
    assert.match(renderConfigReference(), /\| `PROBECTL_SIEM_STREAMS` \| `audit,threat` \|/);
  });
  it('an unset variable that another decides shows what it amounts to; device credentials are listed, redacted', () => {
    const out = renderEffectiveConfig(loadConfig({
      PROBECTL_SIEM_PRESET: 'elastic', PROBECTL_SIEM_ENDPOINT: 'https://es.example:9200/probectl/_bulk',
      PROBECTL_DEVICE_CRED_CORE_SW_USERNAME: 'admin', PROBECTL_DEVICE_CRED_CORE_SW_PASSWORD: 'device-pass-canary',
    }));
    assert.match(out, /^PROBECTL_SIEM_FORMAT=\(unset\) \(effective: ecs\)$/m);
    assert.match(out, /^PROBECTL_DEVICE_CRED_CORE_SW_PASSWORD=\[literal\]$/m);
    assert.match(out, /^PROBECTL_DEVICE_CRED_CORE_SW_USERNAME=\[literal\]$/m);
    assert.ok(!out.includes('device-pass-canary'));
    assert.match(renderEffectiveConfig(loadConfig({})), /^# Device credentials[^\n]*\n\(none configured\)$/m);
    assert.match(renderEffectiveConfig(loadConfig({})), /^PROBECTL_SIEM_FORMAT=\(unset\)$/m, 'no endpoint, no format to name');
  });
  it('a CMDB default that a shorter TTL or timeout shortens shows what it amounts to; a value set or not shortened shows no note', () => {
    const cmdb = { PROBECTL_CMDB_PROVIDER: 'servicenow', PROBECTL_CMDB_URL: 'https://snow.example.com', PROBECTL_CMDB_SECRET: 'u:p' };
    const shortened = renderEffectiveConfig(loadConfig({ ...cmdb, PROBECTL_CMDB_CACHE_TTL: '30s', PROBECTL_CMDB_TIMEOUT: '1s' }));
    assert.match(shortened, /^PROBECTL_CMDB_NEGATIVE_TTL=1m \(effective: 30s\)$/m);
    assert.match(shortened, /^PROBECTL_CMDB_ENRICH_TIMEOUT=2s \(effective: 1s\)$/m);
    const plain = renderEffectiveConfig(loadConfig({ ...cmdb, PROBECTL_CMDB_ENRICH_TIMEOUT: '500ms' }));
    assert.match(plain, /^PROBECTL_CMDB_NEGATIVE_TTL=1m$/m);
    assert.match(plain, /^PROBECTL_CMDB_ENRICH_TIMEOUT=500ms$/m);
    assert.match(renderEffectiveConfig(loadConfig({})), /^PROBECTL_CMDB_ENRICH_TIMEOUT=2s$/m, 'CMDB off: nothing to shorten');
  });
});

describe('the generated reference (docs/configuration.md)', () => {
  it('documents the variable families read by pattern, one row per name shape, each shape accepted by its pattern', () => {
    const shapes = [...renderConfigReference().matchAll(/^\| `(PROBECTL_[A-Z0-9_]*<NAME>[A-Z0-9_]*)`/gm)].map((m) => m[1] as string);
    assert.ok(shapes.includes('PROBECTL_DEVICE_CRED_<NAME>_AUTH_PASS') && shapes.includes('PROBECTL_DEVICE_CRED_<NAME>_COMMUNITY'), shapes.join());
    for (const shape of shapes) assert.ok(DYNAMIC_VARIABLE_PATTERNS.some((re) => re.test(shape.replace('<NAME>', 'CORE_SW'))), shape);
    for (const re of DYNAMIC_VARIABLE_PATTERNS) assert.ok(shapes.some((shape) => re.test(shape.replace('<NAME>', 'CORE_SW'))), `${re} has no documented shape`);
  });
});
