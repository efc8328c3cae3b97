import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Issued } from '../../../src/core/x509.ts';
import { isProbectlError } from '../../../src/core/errors.ts';
import { createAwsBackend, type AwsBackendOptions } from '../../../src/secrets/backends/aws.ts';
import { parseSecretRef } from '../../../src/secrets/ref.ts';
import { SecretResolver } from '../../../src/secrets/resolver.ts';
import { startAwsServer, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, type AwsServer } from '../servers/aws.ts';
import { secretsTestCa, serverCert } from '../servers/tls.ts';
import { assertClean, failsWith, manualClock, text } from './helpers.ts';

const REGION = 'eu-west-1';
const LEASE = 60_000;
const CREDS = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const NAME = 'probectl/db-credentials';
const SECRET_WORDS = ['pw-v1-4f1c', 'pw-v2-9a7e', NAME, 'password'];

describe('aws backend (Secrets Manager GetSecretValue, SigV4)', () => {
  let ca: Issued;
  let aws: AwsServer;

  before(async () => {
    ca = await secretsTestCa();
    aws = await startAwsServer({ cert: await serverCert(), region: REGION });
    aws.put(NAME, JSON.stringify({ username: 'probectl', password: 'pw-v1-4f1c', port: 5432 }));
  });
  after(() => aws.close());

  function setup(extra: AwsBackendOptions = {}) {
    const clock = manualClock();
    const backend = createAwsBackend({ region: REGION, endpoint: aws.url, caPem: ca.certPem, credentials: CREDS, ...extra });
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE, clock, timeoutMs: 5000 });
    return { clock, backend, resolver };
  }

  it('happy path: a signed GetSecretValue the server verifies, #field taken from the JSON SecretString', async () => {
    const { resolver } = setup();
    try {
      const served = aws.served;
      const refused = aws.refused.length;
      assert.equal(await text(resolver, parseSecretRef(`aws:${NAME}#password`)), 'pw-v1-4f1c');
      assert.equal(await text(resolver, parseSecretRef(`aws:${NAME}#username`)), 'probectl');
      assert.equal(aws.served, served + 2);
      assert.equal(aws.refused.length, refused, `server refused: ${aws.refused.slice(refused).join(', ')}`);
      // Without #field the whole SecretString is the value.
      const whole = JSON.parse(await text(resolver, parseSecretRef(`aws:${NAME}`))) as Record<string, unknown>;
      assert.equal(whole.password, 'pw-v1-4f1c');
    } finally {
      await resolver.close();
    }
  });

  it('SecretBinary is returned as bytes', async () => {
    const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f]);
    aws.put('probectl/tls-key-der', bytes);
    const { resolver } = setup();
    try {
      const got = await resolver.use(parseSecretRef('aws:probectl/tls-key-der'), (b) => Buffer.from(b));
      assert.deepEqual(got, bytes);
    } finally {
      await resolver.close();
    }
  });

  it('an ARN reference is signed for the ARN\'s region when no region is configured', async () => {
    const arn = aws.put('probectl/arn-secret', 'arn-value-1');
    const { resolver } = setup({ region: undefined });
    try {
      const refused = aws.refused.length;
      assert.equal(await text(resolver, parseSecretRef(`aws:${arn}`)), 'arn-value-1');
      assert.equal(aws.refused.length, refused);
    } finally {
      await resolver.close();
    }
  });

  it('rotation: the cached value holds for the lease, the next lease sees the new version; ;stage=AWSPREVIOUS reads the old one', async () => {
    aws.put('probectl/rotating', JSON.stringify({ password: 'pw-v1-4f1c' }));
    const { resolver, clock } = setup();
    const ref = parseSecretRef('aws:probectl/rotating#password');
    try {
      assert.equal(await text(resolver, ref), 'pw-v1-4f1c');
      aws.put('probectl/rotating', JSON.stringify({ password: 'pw-v2-9a7e' }));
      const served = aws.served;
      clock.advance(LEASE - 1);
      assert.equal(await text(resolver, ref), 'pw-v1-4f1c', 'inside the lease the sealed value is served');
      assert.equal(aws.served, served, 'no backend call inside the lease');
      clock.advance(1);
      assert.equal(await text(resolver, ref), 'pw-v2-9a7e', 'the next lease sees the rotated value');
      assert.equal(aws.served, served + 1);
      assert.equal(await text(resolver, parseSecretRef('aws:probectl/rotating#password;stage=AWSPREVIOUS')), 'pw-v1-4f1c');
    } finally {
      await resolver.close();
    }
  });

  it('expiry with the backend down: an error, never the stale value', async () => {
    const down = await startAwsServer({ cert: await serverCert(), region: REGION });
    down.put(NAME, JSON.stringify({ password: 'pw-v1-4f1c' }));
    const clock = manualClock();
    const backend = createAwsBackend({ region: REGION, endpoint: down.url, caPem: ca.certPem, credentials: CREDS });
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE, clock, timeoutMs: 4000 });
    const ref = parseSecretRef(`aws:${NAME}#password`);
    try {
      assert.equal(await text(resolver, ref), 'pw-v1-4f1c');
      await down.close();
      clock.advance(LEASE);
      const msg = await failsWith(text(resolver, ref), 'PROBECTL_ERR_SECRET_UNAVAILABLE', SECRET_WORDS);
      assert.match(msg, /could not be reached|call failed/);
      const health = resolver.health().backends.find((b) => b.scheme === 'aws');
      assert.equal(health?.cached_leases, 0);
      assert.equal(health?.failures, 1);
      assertClean(JSON.stringify(resolver.health()), SECRET_WORDS);
    } finally {
      await resolver.close();
      await down.close();
    }
  });

  it('denied: AccessDeniedException (resource policy) and a bare 403 from a proxy are PROBECTL_ERR_SECRET_DENIED', async () => {
    aws.put('probectl/denied', 'never-served-7c1d');
    aws.deny('probectl/denied', true);
    const { backend } = setup();
    try {
      const msg = await failsWith(backend.fetch(parseSecretRef('aws:probectl/denied'), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_DENIED', ['never-served-7c1d', 'probectl/denied', 'not authorized']);
      assert.match(msg, /AccessDeniedException/);
      aws.fault = 'http-403-html';
      await failsWith(backend.fetch(parseSecretRef(`aws:${NAME}`), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_DENIED', SECRET_WORDS);
    } finally {
      aws.fault = undefined;
      await backend.close?.();
    }
  });

  it('a wrong secret key fails the server\'s SigV4 check (InvalidSignatureException); an unknown key id is unrecognized', async () => {
    const wrongSecret = setup({ credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: 'not-the-key-0000000000000000000000000' } });
    const wrongId = setup({ credentials: { accessKeyId: 'AKIDUNKNOWN000000000', secretAccessKey: TEST_SECRET_ACCESS_KEY } });
    try {
      const served = aws.served;
      const refused = aws.refused.length;
      const msg = await failsWith(text(wrongSecret.resolver, parseSecretRef(`aws:${NAME}#password`)), 'PROBECTL_ERR_SECRET_DENIED', [...SECRET_WORDS, 'not-the-key']);
      assert.match(msg, /InvalidSignatureException/);
      await failsWith(text(wrongId.resolver, parseSecretRef(`aws:${NAME}#password`)), 'PROBECTL_ERR_SECRET_DENIED', SECRET_WORDS);
      assert.deepEqual(aws.refused.slice(refused), ['InvalidSignatureException', 'UnrecognizedClientException']);
      assert.equal(aws.served, served);
    } finally {
      await wrongSecret.resolver.close();
      await wrongId.resolver.close();
    }
  });

  it('temporary credentials: the session token is sent and signed', async () => {
    const sts = await startAwsServer({ cert: await serverCert(), region: REGION, sessionToken: 'FwoGZXIvYXdzEXAMPLEtoken' });
    sts.put(NAME, 'session-value');
    const good = createAwsBackend({ region: REGION, endpoint: sts.url, caPem: ca.certPem, credentials: { ...CREDS, sessionToken: 'FwoGZXIvYXdzEXAMPLEtoken' } });
    const missing = createAwsBackend({ region: REGION, endpoint: sts.url, caPem: ca.certPem, credentials: CREDS });
    try {
      const got = await good.fetch(parseSecretRef(`aws:${NAME}`), AbortSignal.timeout(5000));
      assert.equal(got.value.toString(), 'session-value');
      await failsWith(missing.fetch(parseSecretRef(`aws:${NAME}`), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_DENIED');
    } finally {
      await good.close?.();
      await missing.close?.();
      await sts.close();
    }
  });

  it('malformed answers: truncated JSON, no SecretString/SecretBinary, a #field on a non-JSON secret or a non-string field', async () => {
    aws.put('probectl/plain', 'just-a-string-5e2a');
    const { backend } = setup();
    const fetch = (t: string) => backend.fetch(parseSecretRef(t), AbortSignal.timeout(5000));
    try {
      aws.fault = 'malformed-json';
      await failsWith(fetch(`aws:${NAME}#password`), 'PROBECTL_ERR_SECRET_MALFORMED', SECRET_WORDS);
      aws.fault = 'no-value';
      await failsWith(fetch(`aws:${NAME}#password`), 'PROBECTL_ERR_SECRET_MALFORMED', SECRET_WORDS);
      aws.fault = undefined;
      await failsWith(fetch('aws:probectl/plain#password'), 'PROBECTL_ERR_SECRET_MALFORMED', ['just-a-string-5e2a', 'password']);
      await failsWith(fetch(`aws:${NAME}#port`), 'PROBECTL_ERR_SECRET_MALFORMED', ['5432', 'port', ...SECRET_WORDS]);
      await failsWith(fetch(`aws:${NAME}#no_such_field`), 'PROBECTL_ERR_SECRET_NOT_FOUND', ['no_such_field', ...SECRET_WORDS]);
    } finally {
      aws.fault = undefined;
      await backend.close?.();
    }
  });

  it('an empty secret is an error, never an empty credential', async () => {
    aws.put('probectl/empty', '');
    aws.put('probectl/empty-field', JSON.stringify({ password: '' }));
    const { backend } = setup();
    try {
      await failsWith(backend.fetch(parseSecretRef('aws:probectl/empty'), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_MALFORMED');
      await failsWith(backend.fetch(parseSecretRef('aws:probectl/empty-field#password'), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_MALFORMED');
    } finally {
      await backend.close?.();
    }
  });

  it('not found and server errors', async () => {
    const { backend } = setup();
    try {
      await failsWith(backend.fetch(parseSecretRef('aws:probectl/does-not-exist'), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_NOT_FOUND', ['probectl/does-not-exist']);
      aws.fault = 'http-500';
      await failsWith(backend.fetch(parseSecretRef(`aws:${NAME}`), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_UNAVAILABLE', SECRET_WORDS);
    } finally {
      aws.fault = undefined;
      await backend.close?.();
    }
  });

  it('TLS is validated: without the private CA the call fails before any request is served', async () => {
    const { backend } = setup({ caPem: undefined });
    try {
      const served = aws.served;
      const msg = await failsWith(backend.fetch(parseSecretRef(`aws:${NAME}`), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_UNAVAILABLE', SECRET_WORDS);
      assert.match(msg, /TLS certificate validation failed/);
      assert.equal(aws.served, served);
    } finally {
      await backend.close?.();
    }
  });

  it('no region anywhere (settings, AWS_REGION, profile, ARN) is reported as an unconfigured backend', async (t) => {
    if (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION) return t.skip('the environment names a region');
    const saved = process.env.AWS_CONFIG_FILE;
    process.env.AWS_CONFIG_FILE = '/nonexistent/probectl-test/aws-config';
    const backend = createAwsBackend({ credentials: CREDS });
    try {
      const msg = await failsWith(backend.fetch(parseSecretRef(`aws:${NAME}`), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_BACKEND_UNCONFIGURED', SECRET_WORDS);
      assert.match(msg, /PROBECTL_SECRETS_AWS_REGION/);
    } finally {
      if (saved === undefined) delete process.env.AWS_CONFIG_FILE;
      else process.env.AWS_CONFIG_FILE = saved;
      await backend.close?.();
    }
  });

  it('http:// endpoints are refused except to loopback', async () => {
    assert.throws(() => createAwsBackend({ endpoint: 'http://secretsmanager.eu-west-1.amazonaws.com' }), (err: unknown) => isProbectlError(err, 'PROBECTL_ERR_SECRET_INSECURE_TRANSPORT'));
    const plain = await startAwsServer({ region: REGION, plaintext: true });
    plain.put(NAME, 'loopback-value');
    const backend = createAwsBackend({ region: REGION, endpoint: `http://127.0.0.1:${plain.port}`, credentials: CREDS });
    try {
      assert.equal((await backend.fetch(parseSecretRef(`aws:${NAME}`), AbortSignal.timeout(5000))).value.toString(), 'loopback-value');
    } finally {
      await backend.close?.();
      await plain.close();
    }
  });

  it('a backend that accepts and never answers is cut off by the resolver deadline', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const port = (silent.address() as AddressInfo).port;
    const backend = createAwsBackend({ region: REGION, endpoint: `https://localhost:${port}`, caPem: ca.certPem, credentials: CREDS });
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE, timeoutMs: 300 });
    try {
      const started = Date.now();
      await failsWith(text(resolver, parseSecretRef(`aws:${NAME}`)), 'PROBECTL_ERR_SECRET_UNAVAILABLE', SECRET_WORDS);
      assert.ok(Date.now() - started < 3000, 'the deadline bounds the call');
    } finally {
      await resolver.close();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});
