import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CyberArkBackend } from '../../src/secrets/backends/cyberark.ts';
import { parseSecretRef, type SecretRef } from '../../src/secrets/ref.ts';
import { SecretResolver } from '../../src/secrets/resolver.ts';
import type { Issued } from '../../src/core/x509.ts';
import { deadPort, testPki, type TestPki } from '../core/http/test-server.ts';
import { manualClock } from '../helpers/tenants.ts';
import { FakeCcp, FakeConjur } from './servers/cyberark.ts';
import { failsWith } from '../helpers/errors.ts';

const LEASE = 60_000;


const text = (r: SecretResolver, ref: SecretRef) => r.use(ref, (b) => b.toString('utf8'));

describe('cyberark backend: Central Credential Provider', () => {
  let pki: TestPki;
  let ccp: FakeCcp;
  let clientCert: Issued;
  const REF = parseSecretRef('cyberark:Safe=netops;Object=core-sw-snmp#Content');

  before(async () => {
    pki = await testPki();
    clientCert = await pki.issueClient('probectl-app');
    ccp = await FakeCcp.start(pki, { appId: 'probectl', certCn: 'probectl-app' });
  });
  after(() => ccp.close());

  function setup(opts: { appId?: string; cert?: Issued | null; url?: string; timeoutMs?: number } = {}) {
    const clock = manualClock();
    const cert = opts.cert === undefined ? clientCert : opts.cert;
    const backend = new CyberArkBackend({ ccp: { url: opts.url ?? ccp.url, appId: opts.appId ?? 'probectl', ca: [pki.ca.certPem], ...(cert ? { clientCert: { cert: cert.certPem, key: cert.keyPem } } : {}) } });
    return { clock, resolver: new SecretResolver({ backends: [backend], leaseMs: LEASE, clock, ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }) }) };
  }

  it('happy path: AppID and the query ride the documented URL, with the client certificate; the named field is the value', async () => {
    ccp.set('netops', 'core-sw-snmp', { Content: 'ccp-pass-1', UserName: 'snmp-monitor' });
    const { resolver } = setup();
    try {
      assert.equal(await text(resolver, REF), 'ccp-pass-1');
      assert.equal(await text(resolver, parseSecretRef('cyberark:Safe=netops;Object=core-sw-snmp#UserName')), 'snmp-monitor');
      const req = ccp.server.requests.at(-1)!;
      const url = new URL(req.url, 'https://x');
      assert.equal(url.pathname, '/AIMWebService/api/Accounts');
      assert.equal(url.searchParams.get('AppID'), 'probectl');
      assert.equal(url.searchParams.get('Safe'), 'netops');
      assert.equal(url.searchParams.get('Object'), 'core-sw-snmp');
      assert.equal(url.searchParams.get('FailRequestOnPasswordChange'), 'true');
      assert.equal(req.clientCn, 'probectl-app');
    } finally {
      await resolver.close();
    }
  });

  it('rotation and expiry: the sealed value until the lease ends, then the rotated one', async () => {
    ccp.set('netops', 'core-sw-snmp', { Content: 'ccp-old', UserName: 'u' });
    const { resolver, clock } = setup();
    try {
      assert.equal(await text(resolver, REF), 'ccp-old');
      ccp.set('netops', 'core-sw-snmp', { Content: 'ccp-new', UserName: 'u' });
      const calls = ccp.calls;
      assert.equal(await text(resolver, REF), 'ccp-old');
      assert.equal(ccp.calls, calls);
      clock.advance(LEASE);
      assert.equal(await text(resolver, REF), 'ccp-new');
    } finally {
      await resolver.close();
    }
  });

  it('a password being changed is refused (fail closed), not served half-rotated', async () => {
    ccp.set('netops', 'core-sw-snmp', { Content: 'mid-change', UserName: 'u', changing: true });
    // CCP answers 500 while the password changes: retried until the deadline (a short one here), then refused.
    const { resolver } = setup({ timeoutMs: 2000 });
    try {
      await failsWith(text(resolver, REF), 'PROBECTL_ERR_SECRET_UNAVAILABLE', ['mid-change']);
    } finally {
      await resolver.close();
    }
  });

  it('backend down after expiry: an error, not the stale value; the next use tries again', async () => {
    ccp.set('netops', 'core-sw-snmp', { Content: 'ccp-before', UserName: 'u' });
    // A backend that keeps failing is retried until the deadline: a short one keeps this quick.
    const { resolver, clock } = setup({ timeoutMs: 2000 });
    try {
      await text(resolver, REF);
      clock.advance(LEASE);
      ccp.override = { status: 200, hangUp: true };
      await failsWith(text(resolver, REF), 'PROBECTL_ERR_SECRET_UNAVAILABLE', ['ccp-before']);
      ccp.override = undefined;
      assert.equal(await text(resolver, REF), 'ccp-before');
    } finally {
      ccp.override = undefined;
      await resolver.close();
    }
    const port = await deadPort();
    const dead = setup({ url: `https://127.0.0.1:${port}`, timeoutMs: 2000 });
    try {
      await failsWith(text(dead.resolver, REF), 'PROBECTL_ERR_SECRET_UNAVAILABLE', ['netops', 'core-sw-snmp']);
    } finally {
      await dead.resolver.close();
    }
  });

  it('403: a wrong AppID, or a certificate that does not authenticate the application; CCP\'s query-quoting errors are not echoed', async () => {
    ccp.set('netops', 'core-sw-snmp', { Content: 'x', UserName: 'u' });
    const wrongApp = setup({ appId: 'someone-else' });
    try {
      await failsWith(text(wrongApp.resolver, REF), 'PROBECTL_ERR_SECRET_DENIED', ['netops', 'core-sw-snmp', 'APPAP']);
    } finally {
      await wrongApp.resolver.close();
    }
    const otherCert = setup({ cert: await pki.issueClient('not-probectl') });
    try {
      await failsWith(text(otherCert.resolver, REF), 'PROBECTL_ERR_SECRET_DENIED');
    } finally {
      await otherCert.resolver.close();
    }
    const noCert = setup({ cert: null });
    try {
      await failsWith(text(noCert.resolver, REF), 'PROBECTL_ERR_SECRET_UNAVAILABLE');
    } finally {
      await noCert.resolver.close();
    }
  });

  it('not found, malformed answers and unsupported query keys are errors', async () => {
    const { resolver } = setup();
    try {
      await failsWith(text(resolver, parseSecretRef('cyberark:Safe=netops;Object=missing#Content')), 'PROBECTL_ERR_SECRET_NOT_FOUND', ['missing', 'netops']);
      ccp.set('netops', 'core-sw-snmp', { Content: 'v', UserName: 'u' });
      await failsWith(text(resolver, parseSecretRef('cyberark:Safe=netops;Object=core-sw-snmp#NoSuchField')), 'PROBECTL_ERR_SECRET_NOT_FOUND', ['NoSuchField']);
      await failsWith(text(resolver, parseSecretRef('cyberark:AppID=evil;Safe=netops;Object=x#Content')), 'PROBECTL_ERR_SECRET_REF_INVALID');
      ccp.override = { status: 200, body: 'Content=v' };
      await failsWith(text(resolver, parseSecretRef('cyberark:Safe=netops;Object=other#Content')), 'PROBECTL_ERR_SECRET_MALFORMED');
      ccp.override = { status: 200, body: { Content: 42 } };
      await failsWith(text(resolver, parseSecretRef('cyberark:Safe=netops;Object=other2#Content')), 'PROBECTL_ERR_SECRET_MALFORMED');
      ccp.override = { status: 200, body: { Content: '' } };
      await failsWith(text(resolver, parseSecretRef('cyberark:Safe=netops;Object=other3#Content')), 'PROBECTL_ERR_SECRET_MALFORMED');
    } finally {
      ccp.override = undefined;
      await resolver.close();
    }
  });
});

describe('cyberark backend: Conjur', () => {
  let pki: TestPki;
  let conjur: FakeConjur;
  const REF = parseSecretRef('cyberark:conjur/acme/netops/snmp/auth');

  before(async () => {
    pki = await testPki();
    conjur = await FakeConjur.start(pki, { account: 'acme', login: 'host/probectl', apiKey: 'conjur-api-key-1' });
  });
  after(() => conjur.close());

  function setup(apiKey = 'conjur-api-key-1', url?: string, timeoutMs?: number) {
    const clock = manualClock();
    const backend = new CyberArkBackend({ conjur: { url: url ?? conjur.url, login: 'host/probectl', apiKey: () => apiKey, ca: [pki.ca.certPem], clock } });
    return { clock, resolver: new SecretResolver({ backends: [backend], leaseMs: LEASE, clock, ...(timeoutMs === undefined ? {} : { timeoutMs }) }) };
  }

  it('happy path: authenticates with the API key, then reads the URL-encoded variable with the access token', async () => {
    conjur.variables.set('netops/snmp/auth', 'conjur-value-1');
    const { resolver } = setup();
    try {
      const start = conjur.server.requests.length;
      assert.equal(await text(resolver, REF), 'conjur-value-1');
      const [auth, read] = conjur.server.requests.slice(start);
      assert.equal(auth!.method, 'POST');
      assert.equal(auth!.url, '/authn/acme/host%2Fprobectl/authenticate');
      assert.equal(auth!.body.toString('utf8'), 'conjur-api-key-1');
      assert.equal(read!.url, '/secrets/acme/variable/netops%2Fsnmp%2Fauth');
      assert.match(String(read!.headers.authorization), /^Token token="[A-Za-z0-9+/=]+"$/);
    } finally {
      await resolver.close();
    }
  });

  it('rotation and expiry; an expired access token is replaced by one new authentication', async () => {
    conjur.variables.set('netops/snmp/auth', 'conjur-old');
    const { resolver, clock } = setup();
    try {
      assert.equal(await text(resolver, REF), 'conjur-old');
      conjur.variables.set('netops/snmp/auth', 'conjur-new');
      assert.equal(await text(resolver, REF), 'conjur-old');
      clock.advance(LEASE);
      conjur.expireTokens();
      const auths = conjur.authentications;
      assert.equal(await text(resolver, REF), 'conjur-new');
      assert.equal(conjur.authentications, auths + 1);
    } finally {
      await resolver.close();
    }
  });

  it('backend down, 401/403, not found and an empty variable are errors', async () => {
    conjur.variables.set('netops/snmp/auth', 'conjur-before');
    // A 502 is retried until the deadline: a short one keeps this quick.
    const { resolver, clock } = setup('conjur-api-key-1', undefined, 2000);
    try {
      await text(resolver, REF);
      clock.advance(LEASE);
      conjur.override = { status: 502, body: 'bad gateway' };
      await failsWith(text(resolver, REF), 'PROBECTL_ERR_SECRET_UNAVAILABLE', ['conjur-before']);
      conjur.override = undefined;
      conjur.denied.add('netops/snmp/priv');
      await failsWith(text(resolver, parseSecretRef('cyberark:conjur/acme/netops/snmp/priv')), 'PROBECTL_ERR_SECRET_DENIED', ['netops']);
      await failsWith(text(resolver, parseSecretRef('cyberark:conjur/acme/netops/none')), 'PROBECTL_ERR_SECRET_NOT_FOUND', ['netops']);
      conjur.variables.set('netops/empty', '');
      await failsWith(text(resolver, parseSecretRef('cyberark:conjur/acme/netops/empty')), 'PROBECTL_ERR_SECRET_MALFORMED');
    } finally {
      conjur.override = undefined;
      await resolver.close();
    }
    const wrongKey = setup('not-the-key');
    try {
      await failsWith(text(wrongKey.resolver, REF), 'PROBECTL_ERR_SECRET_DENIED', ['not-the-key']);
    } finally {
      await wrongKey.resolver.close();
    }
  });

  it('a malformed authentication answer is an error', async () => {
    const { resolver } = setup();
    try {
      conjur.override = { status: 200, body: 'not a token' };
      await failsWith(text(resolver, REF), 'PROBECTL_ERR_SECRET_MALFORMED');
    } finally {
      conjur.override = undefined;
      await resolver.close();
    }
  });

  it('a form that is not configured is an unconfigured backend', async () => {
    const onlyConjur = setup();
    try {
      await failsWith(text(onlyConjur.resolver, parseSecretRef('cyberark:Safe=a;Object=b#Content')), 'PROBECTL_ERR_SECRET_BACKEND_UNCONFIGURED');
    } finally {
      await onlyConjur.resolver.close();
    }
  });
});
