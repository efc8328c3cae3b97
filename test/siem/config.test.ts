import assert from 'node:assert/strict';
import { siemOf } from './helpers/forwarder.ts';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/settings.ts';
import { isProbectlError, type ProbectlError } from '../../src/core/errors.ts';

function refused(env: NodeJS.ProcessEnv): ProbectlError {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(isProbectlError(err, 'PROBECTL_ERR_CONFIG_INVALID'));
    return err;
  }
  assert.fail('startup should have been refused');
}

const on = { PROBECTL_SIEM_ENABLED: 'true' };

describe('SIEM export configuration', () => {
  it('is off by default; then nothing is required, but every variable that is set is checked as if it were on', () => {
    assert.equal(siemOf(loadConfig({})), undefined);
    // Nothing is required while off: an endpoint alone, a preset without a token, a lone token.
    assert.equal(siemOf(loadConfig({ PROBECTL_SIEM_ENDPOINT: 'https://siem.example/in' })), undefined);
    assert.equal(siemOf(loadConfig({ PROBECTL_SIEM_PRESET: 'splunk' })), undefined);
    assert.equal(siemOf(loadConfig({ PROBECTL_SIEM_TOKEN: 'hec-token' })), undefined);
    // A value that enabling export would refuse is refused now, naming the variable.
    const off: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ PROBECTL_SIEM_ENDPOINT: 'http://example.com' }, /PROBECTL_SIEM_ENDPOINT: plaintext http:\/\/ is refused to a non-loopback host/],
      [{ PROBECTL_SIEM_ENDPOINT: 'syslog+tcp://collector.example:514' }, /PROBECTL_SIEM_ENDPOINT: plaintext syslog\+tcp:\/\/ is refused/],
      // *.localhost may be sent to DNS by a plain resolver: not loopback for plaintext.
      [{ PROBECTL_SIEM_ENDPOINT: 'http://siem.localhost:8088/ingest' }, /PROBECTL_SIEM_ENDPOINT: plaintext http:\/\/ is refused to a non-loopback host/],
      [{ PROBECTL_SIEM_ENDPOINT: 'not a url' }, /PROBECTL_SIEM_ENDPOINT: not a URL/],
      [{ PROBECTL_SIEM_ENDPOINT: 'https://user:pw@siem.example/in' }, /PROBECTL_SIEM_ENDPOINT: credentials in the URL are refused/],
      [{ PROBECTL_SIEM_ENDPOINT: 'ftp://siem.example/in' }, /PROBECTL_SIEM_ENDPOINT: unsupported scheme ftp/],
      [{ PROBECTL_SIEM_PRESET: 'splunk', PROBECTL_SIEM_ENDPOINT: 'https://splunk.example:8088/x' }, /PROBECTL_SIEM_ENDPOINT: a Splunk HEC endpoint path must end in/],
      [{ PROBECTL_SIEM_PRESET: 'elastic', PROBECTL_SIEM_ENDPOINT: 'https://es.example:9200/_bulk' }, /PROBECTL_SIEM_ELASTIC_INDEX: required when the _bulk URL names no index/],
      [{ PROBECTL_SIEM_ENDPOINT: 'syslog+tls://collector.example:6514', PROBECTL_SIEM_FORMAT: 'ecs' }, /PROBECTL_SIEM_FORMAT: ecs cannot travel as RFC 5425 syslog frames/],
      [{ PROBECTL_SIEM_SPLUNK_ACK: 'true' }, /PROBECTL_SIEM_SPLUNK_ACK: indexer acknowledgement exists only for Splunk HEC/],
      [{ PROBECTL_SIEM_RETRY_BASE: '2m', PROBECTL_SIEM_RETRY_MAX: '1m' }, /PROBECTL_SIEM_RETRY_BASE: larger than PROBECTL_SIEM_RETRY_MAX/],
      [{ PROBECTL_SIEM_CLIENT_CERT_FILE: import.meta.filename }, /PROBECTL_SIEM_CLIENT_KEY_FILE: must be set together with its pair/],
    ];
    for (const [env, message] of off) assert.match(refused(env).message, message, JSON.stringify(env));
  });

  it('refuses an unknown preset or format, naming the variable', () => {
    const err = refused({ ...on, PROBECTL_SIEM_PRESET: 'qradar', PROBECTL_SIEM_FORMAT: 'leef', PROBECTL_SIEM_ENDPOINT: 'https://siem.example/in' });
    assert.match(err.message, /PROBECTL_SIEM_PRESET: not an accepted value \(got "qradar"\); accepted: one of splunk, sentinel, elastic, chronicle, generic/);
    assert.match(err.message, /PROBECTL_SIEM_FORMAT: not an accepted value .*accepted: one of syslog, cef, ecs, otlp/);
  });

  it('refuses export enabled without an endpoint, and plaintext to a remote host', () => {
    assert.match(refused(on).message, /PROBECTL_SIEM_ENDPOINT: required when PROBECTL_SIEM_ENABLED=true/);
    assert.match(refused({ ...on, PROBECTL_SIEM_ENDPOINT: 'http://siem.example:8088/ingest' }).message, /PROBECTL_SIEM_ENDPOINT: plaintext http:\/\/ is refused to a non-loopback host/);
    assert.match(refused({ ...on, PROBECTL_SIEM_ENDPOINT: 'syslog+tcp://siem.example:514' }).message, /plaintext syslog\+tcp:\/\/ is refused/);
    assert.equal(siemOf(loadConfig({ ...on, PROBECTL_SIEM_ENDPOINT: 'http://127.0.0.1:9999/ingest' }))?.transport, 'https');
  });

  it('refuses an unreadable CA file', () => {
    const err = refused({ ...on, PROBECTL_SIEM_ENDPOINT: 'https://siem.example/in', PROBECTL_SIEM_CA_FILE: '/nope/ca.pem' });
    assert.match(err.message, /PROBECTL_SIEM_CA_FILE: file is missing or unreadable/);
    const lone = refused({ ...on, PROBECTL_SIEM_ENDPOINT: 'https://siem.example/in', PROBECTL_SIEM_CLIENT_CERT_FILE: import.meta.filename });
    assert.match(lone.message, /PROBECTL_SIEM_CLIENT_KEY_FILE: must be set together with its pair/);
  });

  it('refuses credentials in the URL; the token belongs in the header', () => {
    assert.match(refused({ ...on, PROBECTL_SIEM_ENDPOINT: 'https://u:p@siem.example/in' }).message, /credentials in the URL are refused/);
    const err = refused({ ...on, PROBECTL_SIEM_ENDPOINT: 'https://siem.example/in?token=s3cret' });
    assert.match(err.message, /credential-like query parameter is refused/);
    assert.ok(!err.message.includes('s3cret'));
  });

  it('checks the preset against the endpoint and format, and needs a token where the SIEM does', () => {
    const splunk = refused({ ...on, PROBECTL_SIEM_PRESET: 'splunk', PROBECTL_SIEM_ENDPOINT: 'https://splunk.example:8088/services/other' });
    assert.match(splunk.message, /PROBECTL_SIEM_ENDPOINT: a Splunk HEC endpoint path must end in \/services\/collector\/raw or \/services\/collector\/event/);
    assert.match(splunk.message, /PROBECTL_SIEM_TOKEN: the splunk preset needs an ingest token/);
    assert.match(refused({ ...on, PROBECTL_SIEM_PRESET: 'elastic', PROBECTL_SIEM_TOKEN: 'k', PROBECTL_SIEM_FORMAT: 'cef', PROBECTL_SIEM_ENDPOINT: 'https://es.example:9200/_bulk' }).message,
      /PROBECTL_SIEM_ELASTIC_INDEX: required[\s\S]*PROBECTL_SIEM_FORMAT: _bulk takes JSON documents/);
    assert.match(refused({ ...on, PROBECTL_SIEM_ENDPOINT: 'syslog+tls://collector.example:6514', PROBECTL_SIEM_FORMAT: 'ecs' }).message, /PROBECTL_SIEM_FORMAT: ecs cannot travel as RFC 5425 syslog frames/);
    assert.match(refused({ ...on, PROBECTL_SIEM_ENDPOINT: 'https://siem.example/in', PROBECTL_SIEM_SPLUNK_ACK: 'true' }).message, /PROBECTL_SIEM_SPLUNK_ACK: indexer acknowledgement exists only for Splunk HEC/);
  });

  it('derives the target, format and streams from the preset and endpoint', () => {
    const vault = { PROBECTL_SECRETS_VAULT_ADDR: 'https://vault.example:8200', PROBECTL_SECRETS_VAULT_TOKEN: 'env:VAULT_TOKEN' };
    const splunk = siemOf(loadConfig({ ...on, ...vault, PROBECTL_SIEM_PRESET: 'splunk', PROBECTL_SIEM_TOKEN: 'vault:kv/siem/splunk#token', PROBECTL_SIEM_ENDPOINT: 'https://splunk.example:8088/services/collector/event' }))!;
    assert.deepEqual([splunk.target.kind, splunk.format, splunk.authScheme, splunk.streams], ['splunk-event', 'cef', 'Splunk', ['audit', 'threat']]);
    const elastic = siemOf(loadConfig({ ...on, PROBECTL_SIEM_PRESET: 'elastic', PROBECTL_SIEM_TOKEN: 'k', PROBECTL_SIEM_ENDPOINT: 'https://es.example:9200/logs-probectl/_bulk' }))!;
    assert.deepEqual([elastic.target, elastic.format, elastic.authScheme], [{ kind: 'elastic-bulk', provider: 'elastic', format: 'ecs', index: 'logs-probectl', indexInPath: true }, 'ecs', 'ApiKey']);
    const syslog = siemOf(loadConfig({ ...on, PROBECTL_SIEM_ENDPOINT: 'syslog+tls://collector.example:6514', PROBECTL_SIEM_STREAMS: 'threat' }))!;
    assert.deepEqual([syslog.transport, syslog.format, syslog.streams], ['syslog-tls', 'syslog', ['threat']]);
  });

  it('never echoes the token, even when a reference in it is malformed', () => {
    const err = refused({ ...on, PROBECTL_SIEM_ENDPOINT: 'https://siem.example/in', PROBECTL_SIEM_TOKEN: 'vault:kv/only-path-x9secret' });
    assert.match(err.message, /PROBECTL_SIEM_TOKEN: vault: reference needs a #<field>/);
    assert.ok(!err.message.includes('x9secret'));
  });
});
