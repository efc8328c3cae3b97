import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it, type TestContext } from 'node:test';
import { googleAuthLibrary } from 'google-gax';
import type { Issued } from '../../src/core/x509.ts';
import type { SecretBackend } from '../../src/secrets/backend.ts';
import { createAwsBackend } from '../../src/secrets/backends/aws.ts';
import { createAzureBackend } from '../../src/secrets/backends/azure.ts';
import { CyberArkBackend } from '../../src/secrets/backends/cyberark.ts';
import { createGcpBackend } from '../../src/secrets/backends/gcp.ts';
import { VaultBackend } from '../../src/secrets/backends/vault.ts';
import { parseSecretRef, type SecretRef } from '../../src/secrets/ref.ts';
import { SecretResolver, type BackendStats } from '../../src/secrets/resolver.ts';
import { testPki, type TestPki } from '../core/http/test-server.ts';
import { failsWith } from '../helpers/errors.ts';
import { startAwsServer, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from './servers/aws.ts';
import { startAzureServer } from './servers/azure.ts';
import { FakeCcp, FakeConjur } from './servers/cyberark.ts';
import { startFaultProxy, type FaultProxy } from './servers/faults.ts';
import { GCP_TEST_TOKEN, startGcpServer } from './servers/gcp.ts';
import { secretsTestCa, serverCert } from './servers/tls.ts';
import { FakeVault } from './servers/vault.ts';

/**
 * Issue 7, point 15 (a): a transient transport failure on a secret fetch — a
 * reset connection, a refused one while the backend restarts, a 5xx/429 (or
 * the SDK's and gRPC's equivalents) — is retried with backoff within
 * PROBECTL_SECRETS_TIMEOUT, for every backend, through the resolver's one
 * retry loop; denied, missing and malformed answers are not retried. Each
 * backend is reached through a TCP fault proxy in front of its local
 * stand-in, so resets and refusals are real socket events.
 */

/** One backend under test: its stand-in, reached through a fault proxy each test starts. */
interface Harness {
  readonly name: string;
  /** The stand-in's port. */
  readonly port: number;
  /** A reference the stand-in holds, and its value. */
  readonly ref: SecretRef;
  readonly value: string;
  /** A reference the stand-in does not hold (its API's not-found answer). */
  readonly missing: SecretRef;
  /** A fresh backend (no pooled connection) reaching the stand-in through a proxy on this port. */
  backend(port: number): SecretBackend;
  /** Values the stand-in handed out so far. */
  served(): number;
  /** Requests the stand-in saw so far, answered or refused. */
  requests(): number;
  /** The next n requests get the service's transient error answer (5xx, 429, throttling, UNAVAILABLE). */
  failNext(n: number): void;
  /** Drops faults a failed test left queued. */
  clearFaults(): void;
  /** What the stand-in answers while failing, for the messages. */
  readonly transientAnswer: string;
}

interface Rig {
  harnesses: Harness[];
  pki: TestPki;
  vault: FakeVault;
  close(): Promise<void>;
}

const AWS_NAME = 'probectl/retry-db';

async function startRig(): Promise<Rig> {
  const pki = await testPki();
  const ca: Issued = await secretsTestCa();
  const out: Harness[] = [];
  // Each stand-in and its proxy are pushed as soon as they exist, so a failure part-way still closes them.
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const vault = await FakeVault.start(pki);
    closers.push(() => vault.close());
    vault.addToken('s.retry');
    vault.put('kv', 'retry/db', { password: 'vault-retry-value' });
    out.push({
      name: 'vault', port: vault.server.port, ref: parseSecretRef('vault:kv/retry/db#password'), value: 'vault-retry-value', missing: parseSecretRef('vault:kv/retry/nope#password'),
      backend: (port) => new VaultBackend({ addr: `https://127.0.0.1:${port}`, ca: [pki.ca.certPem], auth: { method: 'token', token: () => 's.retry' } }),
      served: () => vault.reads, requests: () => vault.server.requests.length,
      failNext: (n) => vault.server.failNext(...Array.from({ length: n }, () => ({ status: 503, body: { errors: ['Vault is sealed'] } }))),
      clearFaults: () => vault.server.clearFaults(),
      transientAnswer: 'HTTP 503 (sealed)',
    });

    const ccpCert = await pki.issueClient('probectl-app');
    const ccp = await FakeCcp.start(pki, { appId: 'probectl', certCn: 'probectl-app' });
    closers.push(() => ccp.close());
    ccp.set('netops', 'retry', { Content: 'ccp-retry-value', UserName: 'u' });
    out.push({
      name: 'cyberark (ccp)', port: ccp.server.port, ref: parseSecretRef('cyberark:Safe=netops;Object=retry#Content'), value: 'ccp-retry-value', missing: parseSecretRef('cyberark:Safe=netops;Object=nope#Content'),
      backend: (port) => new CyberArkBackend({ ccp: { url: `https://127.0.0.1:${port}`, appId: 'probectl', ca: [pki.ca.certPem], clientCert: { cert: ccpCert.certPem, key: ccpCert.keyPem } } }),
      served: () => ccp.calls, requests: () => ccp.server.requests.length,
      failNext: (n) => ccp.server.failNext(...Array.from({ length: n }, () => ({ status: 503, body: { ErrorCode: 'AIMWS031E', ErrorMsg: 'The service is unavailable' } }))),
      clearFaults: () => ccp.server.clearFaults(),
      transientAnswer: 'HTTP 503',
    });

    const conjur = await FakeConjur.start(pki, { account: 'acme', login: 'host/probectl', apiKey: 'conjur-retry-key' });
    closers.push(() => conjur.close());
    conjur.variables.set('retry/db', 'conjur-retry-value');
    out.push({
      name: 'cyberark (conjur)', port: conjur.server.port, ref: parseSecretRef('cyberark:conjur/acme/retry/db'), value: 'conjur-retry-value', missing: parseSecretRef('cyberark:conjur/acme/retry/nope'),
      backend: (port) => new CyberArkBackend({ conjur: { url: `https://127.0.0.1:${port}`, login: 'host/probectl', apiKey: () => 'conjur-retry-key', ca: [pki.ca.certPem] } }),
      served: () => conjur.reads, requests: () => conjur.server.requests.length,
      failNext: (n) => conjur.server.failNext(...Array.from({ length: n }, () => ({ status: 502, body: 'Bad Gateway' }))),
      clearFaults: () => conjur.server.clearFaults(),
      transientAnswer: 'HTTP 502 (its load balancer)',
    });

    const aws = await startAwsServer({ cert: await serverCert(), region: 'eu-west-1' });
    closers.push(() => aws.close());
    aws.put(AWS_NAME, 'aws-retry-value');
    out.push({
      name: 'aws', port: aws.port, ref: parseSecretRef(`aws:${AWS_NAME}`), value: 'aws-retry-value', missing: parseSecretRef('aws:probectl/nope'),
      backend: (port) => createAwsBackend({ region: 'eu-west-1', endpoint: `https://localhost:${port}`, caPem: ca.certPem, credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY } }),
      served: () => aws.served, requests: () => aws.served + aws.refused.length,
      failNext: (n) => {
        for (let i = 0; i < n; i++) aws.failNext(1, i % 2 === 0 ? 'throttle' : 'http-503');
      },
      clearFaults: () => aws.clearFaults(),
      transientAnswer: 'ThrottlingException (HTTP 400), then HTTP 503',
    });

    const azure = await startAzureServer({ cert: await serverCert(['probectl-retry.vault.azure.net']), vaultName: 'probectl-retry' });
    closers.push(() => azure.close());
    azure.put('db', 'azure-retry-value');
    out.push({
      name: 'azure', port: azure.port, ref: parseSecretRef('azure:probectl-retry/db'), value: 'azure-retry-value', missing: parseSecretRef('azure:probectl-retry/nope'),
      backend: (port) => createAzureBackend({ vaultSuffix: `vault.azure.net:${port}`, caPem: ca.certPem, credential: azure.credential, lookup: azure.lookup }),
      served: () => azure.served, requests: () => azure.served + azure.refused.length,
      failNext: (n) => {
        for (let i = 0; i < n; i++) azure.failNext(1, i % 2 === 0 ? 'throttle' : 'http-503');
      },
      clearFaults: () => azure.clearFaults(),
      transientAnswer: 'HTTP 429 with Retry-After, then HTTP 503',
    });

    const gcp = await startGcpServer({ cert: await serverCert(), project: 'probectl-retry' });
    closers.push(() => gcp.close());
    gcp.put('db', 'gcp-retry-value');
    out.push({
      name: 'gcp', port: gcp.port, ref: parseSecretRef('gcp:probectl-retry/db'), value: 'gcp-retry-value', missing: parseSecretRef('gcp:probectl-retry/nope'),
      backend: (port) => {
        const authClient = new googleAuthLibrary.OAuth2Client();
        authClient.setCredentials({ access_token: GCP_TEST_TOKEN, expiry_date: Date.now() + 3_600_000 });
        return createGcpBackend({ endpoint: `localhost:${port}`, caPem: ca.certPem, authClient });
      },
      served: () => gcp.served, requests: () => gcp.served + gcp.refused.length,
      failNext: (n) => {
        for (let i = 0; i < n; i++) gcp.failNext(1, i % 2 === 0 ? 'UNAVAILABLE' : 'RESOURCE_EXHAUSTED');
      },
      clearFaults: () => gcp.clearFaults(),
      transientAnswer: 'UNAVAILABLE, then RESOURCE_EXHAUSTED',
    });
    return { harnesses: out, pki, vault, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A proxy in front of the stand-in and a resolver reaching it, both closed (and leftover faults dropped) when the test ends, however it ends. */
async function rigFor(t: TestContext, h: Harness, timeoutMs: number): Promise<{ proxy: FaultProxy; resolver: SecretResolver }> {
  t.after(() => h.clearFaults());
  const proxy = await startFaultProxy(h.port);
  t.after(() => proxy.close());
  const resolver = new SecretResolver({ backends: [h.backend(proxy.port)], leaseMs: 60_000, timeoutMs });
  t.after(() => resolver.close());
  return { proxy, resolver };
}

function stats(resolver: SecretResolver, h: Harness): BackendStats {
  return resolver.stats().find((s) => s.scheme === h.ref.scheme)!;
}

const text = (resolver: SecretResolver, ref: SecretRef) => resolver.use(ref, (b) => b.toString('utf8'));

const NAMES = ['vault', 'cyberark (ccp)', 'cyberark (conjur)', 'aws', 'azure', 'gcp'];

describe('secret fetches retry transient failures within PROBECTL_SECRETS_TIMEOUT, for every backend', () => {
  let rig: Rig | undefined;
  before(async () => {
    rig = await startRig();
  });
  after(() => rig?.close());
  const harness = (name: string) => rig!.harnesses.find((h) => h.name === name)!;

  for (const name of NAMES) {
    describe(name, () => {
      it('a connection reset on the first attempt: the fetch succeeds on a later attempt', async (t) => {
        const h = harness(name);
        const { proxy, resolver } = await rigFor(t, h, 8000);
        const served = h.served();
        proxy.resetNext(1);
        assert.equal(await text(resolver, h.ref), h.value);
        assert.equal(h.served() - served, 1, 'one value handed out');
        const s = stats(resolver, h);
        // gRPC waits out its own reconnect backoff (about 1 s) after a failed connection,
        // failing calls fast meanwhile, so it may take more than one retry.
        if (name === 'gcp') assert.ok(s.retries >= 1, `retries ${s.retries}`);
        else assert.equal(s.retries, 1);
        assert.deepEqual([s.resolves, s.failures], [1, 0]);
      });

      it('the service\'s transient answer on the first two attempts: the fetch succeeds on the third', async (t) => {
        const h = harness(name);
        const { resolver } = await rigFor(t, h, 8000);
        const served = h.served();
        h.failNext(2);
        const started = performance.now();
        assert.equal(await text(resolver, h.ref), h.value, h.transientAnswer);
        assert.equal(h.served() - served, 1);
        const s = stats(resolver, h);
        assert.equal(s.retries, 2, h.transientAnswer);
        assert.deepEqual([s.resolves, s.failures], [1, 0]);
        if (name === 'azure') assert.ok(performance.now() - started >= 900, 'the 429\'s Retry-After (1 s) was honoured');
      });

      it('refused while the backend restarts: retried until it listens again', async (t) => {
        const h = harness(name);
        const { proxy, resolver } = await rigFor(t, h, 8000);
        const served = h.served();
        await proxy.down();
        // Both settle before the test goes on, whatever the fetch does.
        const [fetched] = await Promise.allSettled([text(resolver, h.ref), delay(400).then(() => proxy.up())]);
        assert.equal(fetched.status === 'fulfilled' ? fetched.value : fetched.reason, h.value);
        assert.equal(h.served() - served, 1);
        const s = stats(resolver, h);
        assert.ok(s.retries >= 1, `retries ${s.retries}`);
        assert.deepEqual([s.resolves, s.failures], [1, 0]);
      });

      it('a backend that stays down fails within the timeout with PROBECTL_ERR_SECRET_UNAVAILABLE after retries, and caches nothing', async (t) => {
        const h = harness(name);
        const { proxy, resolver } = await rigFor(t, h, 2500);
        // Warm up (SDK loaded, logged in), then drop the cached value: the outage meets a fetch, and the
        // recovery below is one plain read, quick even on a loaded machine.
        assert.equal(await text(resolver, h.ref), h.value);
        resolver.forget(h.ref);
        const served = h.served();
        await proxy.down();
        try {
          const started = performance.now();
          const msg = await failsWith(text(resolver, h.ref), 'PROBECTL_ERR_SECRET_UNAVAILABLE', [h.value]);
          const took = performance.now() - started;
          assert.ok(took < 2500 + 1500, `gave up after ${Math.round(took)} ms (event-loop lag under load is the slack)`);
          assert.match(msg, /unavailable: \d+ attempts within 2500 ms failed, the last with: /);
          const s = stats(resolver, h);
          assert.ok(s.retries >= 1, `retries ${s.retries}`);
          assert.deepEqual([s.resolves, s.failures, s.cachedLeases], [1, 1, 0]);
        } finally {
          await proxy.up();
        }
        // Nothing was cached, not even the failure: the next use asks the backend again.
        assert.equal(await text(resolver, h.ref), h.value);
        assert.equal(h.served() - served, 1);
      });

      it('a not-found answer is final: one request, no retry', async (t) => {
        const h = harness(name);
        const { resolver } = await rigFor(t, h, 8000);
        await text(resolver, h.ref); // authenticate first, so only the read is counted
        const requests = h.requests();
        await failsWith(text(resolver, h.missing), 'PROBECTL_ERR_SECRET_NOT_FOUND');
        assert.equal(h.requests() - requests, 1);
        assert.equal(stats(resolver, h).retries, 0);
      });
    });
  }

  it('vault AppRole: a shared login cut off with one fetch\'s attempt does not fail the other fetch waiting on it', async (t) => {
    const pki = rig!.pki;
    const vault = await FakeVault.start(pki, { approle: { roleId: 'role-r', secretId: 'secret-r', tokenTtlSeconds: 600 } });
    t.after(() => vault.close());
    vault.put('kv', 'retry/db', { password: 'pw-after-a-slow-login', user: 'user-after-a-slow-login' });
    // The first login is held (answered far too late): the attempt that started it times out at 2 s.
    vault.server.failNext({ status: 503, body: { errors: ['slow'] }, delayMs: 10_000 });
    const resolver = new SecretResolver({
      backends: [new VaultBackend({ addr: vault.url, ca: [pki.ca.certPem], auth: { method: 'approle', roleId: 'role-r', secretId: () => 'secret-r', mount: 'approle' } })],
      leaseMs: 60_000, timeoutMs: 4000,
    });
    t.after(() => resolver.close());
    // A second fetch, 300 ms later, waits on the same login with an attempt of its own that is still live when
    // the first attempt's deadline cuts the login off: that abort is not its failure, so it is retried.
    const first = text(resolver, parseSecretRef('vault:kv/retry/db#password'));
    await delay(300);
    const second = text(resolver, parseSecretRef('vault:kv/retry/db#user'));
    assert.deepEqual(await Promise.all([first, second]), ['pw-after-a-slow-login', 'user-after-a-slow-login']);
    assert.ok(vault.server.requests.filter((r) => r.url === '/v1/auth/approle/login').length >= 2, 'the held login, then one that worked');
    assert.ok(stats(resolver, harness('vault')).retries >= 2, 'both fetches retried');
  });

  it('vault: denied (403), unauthenticated (401) and malformed answers are final — one request each, no retry', async (t) => {
    const h = harness('vault');
    const { proxy, resolver } = await rigFor(t, h, 8000);
    const denied = new SecretResolver({ backends: [new VaultBackend({ addr: `https://127.0.0.1:${proxy.port}`, ca: [rig!.pki.ca.certPem], auth: { method: 'token', token: () => 's.wrong' } })], leaseMs: 60_000 });
    t.after(() => denied.close());
    const before = h.requests();
    await failsWith(text(denied, h.ref), 'PROBECTL_ERR_SECRET_DENIED');
    assert.equal(h.requests() - before, 1);

    const vaultServer = rig!.vault;
    for (const [reply, code] of [
      [{ status: 401, body: { errors: ['permission denied'] } }, 'PROBECTL_ERR_SECRET_DENIED'],
      [{ status: 200, body: 'this is not JSON' }, 'PROBECTL_ERR_SECRET_MALFORMED'],
    ] as const) {
      const n = h.requests();
      vaultServer.server.failNext(reply);
      await failsWith(text(resolver, h.ref), code);
      assert.equal(h.requests() - n, 1, code);
    }
    assert.equal(stats(resolver, h).retries, 0);
    assert.equal(stats(denied, h).retries, 0);
  });
});

