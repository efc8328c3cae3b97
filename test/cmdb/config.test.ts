import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isProbectlError } from '../../src/core/errors.ts';
import { loadConfig } from '../../src/settings.ts';
import { testCa } from '../helpers/tls.ts';

const base = { PROBECTL_DATA_DIR: '/tmp/probectl-cmdb-config' };

function refused(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    assert.ok(isProbectlError(err, 'PROBECTL_ERR_CONFIG_INVALID'), String(err));
    return err.message;
  }
  assert.fail('the configuration was accepted');
}

describe('CMDB configuration', () => {
  it('is off until PROBECTL_CMDB_PROVIDER is set', () => {
    assert.equal(loadConfig(base).integrations.cmdb, undefined);
  });

  it('on: defaults (10m TTL, cmdb_ci) and the URL normalised', () => {
    const c = loadConfig({ ...base, PROBECTL_CMDB_PROVIDER: 'servicenow', PROBECTL_CMDB_URL: 'https://example.service-now.com', PROBECTL_CMDB_SECRET: 'probectl.cmdb:s3cret-pass' }).integrations.cmdb as Record<string, unknown>;
    assert.equal(c.cacheTtlMs, 600_000);
    assert.equal(c.table, 'cmdb_ci');
    assert.equal(String(c.url), 'https://example.service-now.com/');
  });

  it('refuses startup naming every bad variable, never echoing the secret', () => {
    const secret = 'user:very-secret-password';
    const msg = refused({
      PROBECTL_CMDB_PROVIDER: 'netbox', PROBECTL_CMDB_URL: 'http://cmdb.example.com/?token=abc', PROBECTL_CMDB_SECRET: secret,
      PROBECTL_CMDB_CACHE_TTL: 'forever', PROBECTL_CMDB_CACHE_MAX: '0', PROBECTL_CMDB_TIMEOUT: '1ms', PROBECTL_CMDB_CA_FILE: '/nonexistent/ca.pem',
      PROBECTL_CMDB_TABLE: 'cmdb_ci',
    });
    for (const v of ['PROBECTL_CMDB_URL', 'PROBECTL_CMDB_CACHE_TTL', 'PROBECTL_CMDB_CACHE_MAX', 'PROBECTL_CMDB_TIMEOUT', 'PROBECTL_CMDB_CA_FILE']) assert.match(msg, new RegExp(v), msg);
    assert.ok(!msg.includes('very-secret-password'), msg);
    assert.ok(!msg.includes('token=abc'), msg);
  });

  it('a default never refuses startup: left unset, NEGATIVE_TTL and ENRICH_TIMEOUT follow a shorter CACHE_TTL and TIMEOUT; set longer, refused', () => {
    const on = { PROBECTL_CMDB_PROVIDER: 'servicenow', PROBECTL_CMDB_URL: 'https://example.service-now.com', PROBECTL_CMDB_SECRET: 'u:p' };
    const a = loadConfig({ ...base, ...on, PROBECTL_CMDB_TIMEOUT: '1s' }).integrations.cmdb as Record<string, unknown>;
    assert.equal(a.enrichTimeoutMs, 1000);
    const b = loadConfig({ ...base, ...on, PROBECTL_CMDB_CACHE_TTL: '30s' }).integrations.cmdb as Record<string, unknown>;
    assert.equal(b.negativeTtlMs, 30_000);
    const msg = refused({ ...on, PROBECTL_CMDB_TIMEOUT: '1s', PROBECTL_CMDB_ENRICH_TIMEOUT: '1500ms', PROBECTL_CMDB_CACHE_TTL: '30s', PROBECTL_CMDB_NEGATIVE_TTL: '45s' });
    assert.match(msg, /PROBECTL_CMDB_ENRICH_TIMEOUT: longer than PROBECTL_CMDB_TIMEOUT/);
    assert.match(msg, /PROBECTL_CMDB_NEGATIVE_TTL: longer than PROBECTL_CMDB_CACHE_TTL/);
  });

  it('a value set explicitly is judged as set, even one written equal to the default: longer than CACHE_TTL or TIMEOUT, refused', () => {
    const on = { PROBECTL_CMDB_PROVIDER: 'servicenow', PROBECTL_CMDB_URL: 'https://example.service-now.com', PROBECTL_CMDB_SECRET: 'u:p' };
    assert.match(refused({ ...on, PROBECTL_CMDB_TIMEOUT: '1s', PROBECTL_CMDB_ENRICH_TIMEOUT: '2s' }), /PROBECTL_CMDB_ENRICH_TIMEOUT: longer than PROBECTL_CMDB_TIMEOUT/);
    assert.match(refused({ ...on, PROBECTL_CMDB_CACHE_TTL: '30s', PROBECTL_CMDB_NEGATIVE_TTL: '1m' }), /PROBECTL_CMDB_NEGATIVE_TTL: longer than PROBECTL_CMDB_CACHE_TTL/);
    assert.match(refused({ ...on, PROBECTL_CMDB_CACHE_TTL: '30s', PROBECTL_CMDB_NEGATIVE_TTL: '60s' }), /PROBECTL_CMDB_NEGATIVE_TTL: longer/, 'however the default is written');
    const c = loadConfig({ ...base, ...on, PROBECTL_CMDB_ENRICH_TIMEOUT: '2s', PROBECTL_CMDB_NEGATIVE_TTL: '1m' }).integrations.cmdb as Record<string, unknown>;
    assert.deepEqual([c.enrichTimeoutMs, c.negativeTtlMs], [2000, 60_000], 'equal to the default and within the limits: accepted as set');
    const empty = loadConfig({ ...base, ...on, PROBECTL_CMDB_TIMEOUT: '1s', PROBECTL_CMDB_ENRICH_TIMEOUT: '' }).integrations.cmdb as Record<string, unknown>;
    assert.equal(empty.enrichTimeoutMs, 1000, 'set empty is unset, as for every variable: the default follows');
  });

  it('a literal secret with a line break or control character is refused naming PROBECTL_CMDB_SECRET, never echoed', () => {
    for (const secret of ['TOPSECRETBEARER\nX-Injected: 1', 'u:TOPSECRET\r', 'TOPSECRET\u0000x']) {
      const msg = refused({ PROBECTL_CMDB_PROVIDER: 'servicenow', PROBECTL_CMDB_URL: 'https://example.service-now.com', PROBECTL_CMDB_SECRET: secret });
      assert.match(msg, /PROBECTL_CMDB_SECRET: holds a line break or another control character/);
      assert.ok(!msg.includes('TOPSECRET'), msg);
    }
  });

  it('a refused or unset provider hides no other problem: the secret, the URL and the limits are judged all the same, the secret never echoed', () => {
    const names = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env });
      } catch (err) {
        assert.ok(isProbectlError(err, 'PROBECTL_ERR_CONFIG_INVALID'), String(err));
        assert.ok(!err.message.includes('TOPSECRET'), err.message);
        return [...new Set((err.details?.problems as Array<{ variable: string }>).map((p) => p.variable))].sort();
      }
      assert.fail('the configuration was accepted');
    };
    const bad = { PROBECTL_CMDB_URL: 'http://cmdb.example.com', PROBECTL_CMDB_SECRET: 'u:TOPSECRET\nX-Injected: 1', PROBECTL_CMDB_TIMEOUT: '1s', PROBECTL_CMDB_ENRICH_TIMEOUT: '1500ms' };
    assert.deepEqual(names({ PROBECTL_CMDB_PROVIDER: 'snow', ...bad }), ['PROBECTL_CMDB_ENRICH_TIMEOUT', 'PROBECTL_CMDB_PROVIDER', 'PROBECTL_CMDB_SECRET', 'PROBECTL_CMDB_URL']);
    assert.match(refused({ PROBECTL_CMDB_PROVIDER: 'snow', PROBECTL_CMDB_URL: 'https://acme.service-now.com', PROBECTL_CMDB_SECRET: 'TOPSECRET\n' }), /PROBECTL_CMDB_SECRET: holds a line break/);
    // Off: a limit that would be refused once it is on is refused now.
    assert.deepEqual(names({ PROBECTL_CMDB_CACHE_TTL: '30s', PROBECTL_CMDB_NEGATIVE_TTL: '45s' }), ['PROBECTL_CMDB_NEGATIVE_TTL']);
  });

  it('needs the URL and the secret once on; an unknown provider and a plaintext non-loopback URL are refused', () => {
    assert.match(refused({ PROBECTL_CMDB_PROVIDER: 'servicenow' }), /PROBECTL_CMDB_URL: required[\s\S]*PROBECTL_CMDB_SECRET: required/);
    assert.match(refused({ PROBECTL_CMDB_PROVIDER: 'itop', PROBECTL_CMDB_URL: 'https://x.example', PROBECTL_CMDB_SECRET: 't' }), /PROBECTL_CMDB_PROVIDER/);
    assert.match(refused({ PROBECTL_CMDB_PROVIDER: 'netbox', PROBECTL_CMDB_URL: 'http://netbox.example.com', PROBECTL_CMDB_SECRET: 't' }), /PROBECTL_CMDB_URL: plaintext/);
    assert.match(refused({ PROBECTL_CMDB_PROVIDER: 'netbox', PROBECTL_CMDB_URL: 'https://u:p@netbox.example.com', PROBECTL_CMDB_SECRET: 't' }), /credentials in the URL/);
    assert.match(refused({ PROBECTL_CMDB_URL: 'https://netbox.example.com' }), /PROBECTL_CMDB_URL: set while PROBECTL_CMDB_PROVIDER is unset/);
    const loop = loadConfig({ ...base, PROBECTL_CMDB_PROVIDER: 'netbox', PROBECTL_CMDB_URL: 'http://127.0.0.1:8000', PROBECTL_CMDB_SECRET: 't' }).integrations.cmdb;
    assert.ok(loop, 'plaintext to loopback is allowed');
  });

  it('every problem of the URL is named, the provider\'s own rules included: http:// to a remote NetBox ending in /api is both', () => {
    const nb = { PROBECTL_CMDB_PROVIDER: 'netbox', PROBECTL_CMDB_SECRET: '0123456789abcdef0123456789abcdef01234567' };
    const msg = refused({ ...nb, PROBECTL_CMDB_URL: 'http://netbox.example.com/api' });
    assert.match(msg, /\(2 problems\)/, msg);
    assert.match(msg, /PROBECTL_CMDB_URL: plaintext http:\/\/ is refused[\s\S]*PROBECTL_CMDB_URL: ends in \/api/, msg);
    const all = refused({ ...nb, PROBECTL_CMDB_URL: 'ftp://u:hunter2@netbox.example.com/api?x=1' });
    for (const why of [/unsupported scheme ftp/, /credentials in the URL/, /a query or fragment/, /ends in \/api/]) assert.match(all, new RegExp(`PROBECTL_CMDB_URL: ${why.source}`), all);
    assert.ok(!all.includes('hunter2'), all);
  });

  it('a URL without a scheme is told to add https://, never called an unknown scheme, never echoed', () => {
    const on = { PROBECTL_CMDB_PROVIDER: 'servicenow', PROBECTL_CMDB_SECRET: 'u:p' };
    for (const url of ['acme.service-now.com', 'acme.service-now.com:443', 'localhost:8080/cmdb', 'admin:hunter2@acme.service-now.com']) {
      const msg = refused({ ...on, PROBECTL_CMDB_URL: url });
      assert.match(msg, /PROBECTL_CMDB_URL: not a URL: no scheme; add https:\/\/ in front/, `${url}: ${msg}`);
      assert.doesNotMatch(msg, /unsupported scheme/, url);
      assert.ok(!msg.includes('hunter2'), msg);
    }
    assert.match(refused({ ...on, PROBECTL_CMDB_URL: 'https://' }), /PROBECTL_CMDB_URL: not a URL;/, 'a scheme and nothing after it: no hint to add one');
  });

  it('NetBox: a URL ending in /api and a literal secret that is not token-shaped are refused, the secret never echoed', () => {
    const nb = { PROBECTL_CMDB_PROVIDER: 'netbox', PROBECTL_CMDB_SECRET: '0123456789abcdef0123456789abcdef01234567' };
    for (const url of ['https://netbox.example.com/api', 'https://netbox.example.com/api/', 'https://example.com/netbox/api']) {
      assert.match(refused({ ...nb, PROBECTL_CMDB_URL: url }), /PROBECTL_CMDB_URL: ends in \/api[\s\S]*without \/api/, url);
    }
    assert.ok(loadConfig({ ...base, ...nb, PROBECTL_CMDB_URL: 'https://example.com/netbox' }).integrations.cmdb, 'a NetBox under a path prefix is fine');
    for (const secret of ['admin:hunter2-netbox', 'Token 0123456789abcdef0123456789abcdef01234567', 'nbt_abc.def ghi']) {
      const msg = refused({ ...nb, PROBECTL_CMDB_URL: 'https://netbox.example.com', PROBECTL_CMDB_SECRET: secret });
      assert.match(msg, /PROBECTL_CMDB_SECRET: not a NetBox API token/, msg);
      assert.ok(!msg.includes(secret) && !msg.includes('hunter2') && !msg.includes('0123456789abcdef'), msg);
    }
    for (const secret of ['0123456789abcdef0123456789abcdef01234567', 'nbt_AbCdEf012345.0123456789abcdefghijklmnopqrstuvwxyzABCD', 'env:NETBOX_TOKEN']) {
      assert.ok(loadConfig({ ...base, ...nb, PROBECTL_CMDB_URL: 'https://netbox.example.com', PROBECTL_CMDB_SECRET: secret }).integrations.cmdb, secret);
    }
    assert.ok(loadConfig({ ...base, PROBECTL_CMDB_PROVIDER: 'servicenow', PROBECTL_CMDB_URL: 'https://example.service-now.com/api', PROBECTL_CMDB_SECRET: 'probectl.cmdb:pass' }).integrations.cmdb, 'ServiceNow: neither rule applies');
  });

  it('PROBECTL_CMDB_CA_FILE must be PEM certificates: refused at startup otherwise', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'probectl-cmdb-ca-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const ca = await testCa();
    const on = { PROBECTL_CMDB_PROVIDER: 'servicenow', PROBECTL_CMDB_URL: 'https://example.service-now.com', PROBECTL_CMDB_SECRET: 'probectl.cmdb:pass' };
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const good = file('good.pem', `# a private CA\n${ca.certPem}`);
    assert.equal((loadConfig({ ...base, ...on, PROBECTL_CMDB_CA_FILE: good }).integrations.cmdb as { caFile: string }).caFile, good);
    const cases: Array<[string, RegExp]> = [
      [file('der.pem', 'not a certificate at all'), /no PEM certificate/],
      [file('broken.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), /does not parse/],
      [file('key.pem', `${ca.certPem}${ca.keyPem}`), /other than CERTIFICATE/],
    ];
    for (const [path, why] of cases) assert.match(refused({ ...on, PROBECTL_CMDB_CA_FILE: path }), new RegExp(`PROBECTL_CMDB_CA_FILE: [^\\n]*${why.source}`), path);
  });

  it('docs: duration examples within range; PROBECTL_CMDB_TABLE shows its effective default', async () => {
    const { cmdbVars } = await import('../../src/cmdb/config.ts');
    assert.doesNotMatch(cmdbVars.cacheTtl.accepts, /500ms/);
    assert.match(cmdbVars.cacheTtl.accepts, /e\.g\. 30s, 5m, 1h$/);
    assert.equal(cmdbVars.table.defaultText, 'cmdb_ci');
    assert.equal(cmdbVars.table.show(undefined), 'cmdb_ci');
  });
});
