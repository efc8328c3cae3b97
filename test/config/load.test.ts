import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { knownVariableNames, loadConfig } from '../../src/config/load.ts';
import { renderEffectiveConfig } from '../../src/config/render.ts';
import { isProbectlError, type ProbectlError } from '../../src/core/errors.ts';

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
    const out = renderEffectiveConfig(loadConfig({ PROBECTL_DATABASE_URL: 'postgres://app:hunter2@127.0.0.1/db', PROBECTL_DATABASE_PASSWORD: 'vault:kv/probectl/db#password' }));
    assert.match(out, /PROBECTL_DATABASE_URL=\[literal\]/);
    assert.match(out, /PROBECTL_DATABASE_PASSWORD=vault:kv\/probectl\/db#…/);
    assert.ok(!out.includes('hunter2') && !out.includes('#password'));
    for (const name of knownVariableNames()) assert.ok(out.includes(`${name}=`), `${name} is shown`);
  });
});
