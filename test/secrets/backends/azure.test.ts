import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Issued } from '../../../src/core/x509.ts';
import { isProbectlError } from '../../../src/core/errors.ts';
import { createAzureBackend, type AzureBackendOptions } from '../../../src/secrets/backends/azure.ts';
import { parseSecretRef } from '../../../src/secrets/ref.ts';
import { SecretResolver } from '../../../src/secrets/resolver.ts';
import { startAzureServer, TEST_TENANT_ID, VAULT_RESOURCE, type AzureServer } from '../servers/azure.ts';
import { secretsTestCa, serverCert } from '../servers/tls.ts';
import { assertClean, failsWith, manualClock, text } from './helpers.ts';

const VAULT = 'probectl-test';
const HOST = `${VAULT}.vault.azure.net`;
const LEASE = 60_000;
const SECRET_WORDS = ['kv-v1-31d0', 'kv-v2-c84b', 'db-password'];

describe('azure backend (Key Vault getSecret, bearer challenge)', () => {
  let ca: Issued;
  let cert: Issued;
  let kv: AzureServer;

  before(async () => {
    ca = await secretsTestCa();
    cert = await serverCert([HOST]);
    kv = await startAzureServer({ cert, vaultName: VAULT });
    kv.put('db-password', 'kv-v1-31d0');
  });
  after(() => kv.close());

  /** The vault is reached as https://probectl-test.vault.azure.net:<port>, resolved to the local server by the lookup seam. */
  function options(server: AzureServer, extra: AzureBackendOptions = {}): AzureBackendOptions {
    return { vaultSuffix: `vault.azure.net:${server.port}`, caPem: ca.certPem, credential: server.credential, lookup: server.lookup, ...extra };
  }

  function setup(extra: AzureBackendOptions = {}) {
    const clock = manualClock();
    const backend = createAzureBackend(options(kv, extra));
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE, clock, timeoutMs: 5000 });
    return { clock, backend, resolver };
  }

  it('happy path: the SDK answers the 401 challenge with a token for the challenged resource and tenant, then reads the value', async () => {
    const { resolver } = setup();
    try {
      const tokens = kv.tokenRequests.length;
      const refused = kv.refused.length;
      assert.equal(await text(resolver, parseSecretRef(`azure:${VAULT}/db-password`)), 'kv-v1-31d0');
      assert.deepEqual(kv.tokenRequests.slice(tokens), [{ scopes: [`${VAULT_RESOURCE}/.default`], tenantId: TEST_TENANT_ID }]);
      assert.deepEqual(kv.refused.slice(refused), ['Unauthorized'], 'exactly one unauthenticated challenge request');
      // A full host name in the reference is used as is.
      const byHost = createAzureBackend(options(kv));
      const viaHost = await byHost.fetch(parseSecretRef(`azure:${HOST}:${kv.port}/db-password`), AbortSignal.timeout(5000));
      assert.equal(viaHost.value.toString(), 'kv-v1-31d0');
      await byHost.close?.();
    } finally {
      await resolver.close();
    }
  });

  it('concurrent first reads of different secrets share one client and all pass the challenge', async () => {
    for (let i = 0; i < 5; i++) kv.put(`parallel-${i}`, `parallel-value-${i}`);
    const { resolver } = setup();
    try {
      const got = await Promise.all([0, 1, 2, 3, 4].map((i) => text(resolver, parseSecretRef(`azure:${VAULT}/parallel-${i}`))));
      assert.deepEqual(got, [0, 1, 2, 3, 4].map((i) => `parallel-value-${i}`));
    } finally {
      await resolver.close();
    }
  });

  it('rotation: the next lease sees the new version; an explicit version keeps reading the old one', async () => {
    const v1 = kv.put('rotating', 'kv-v1-31d0');
    const { resolver, clock } = setup();
    const ref = parseSecretRef(`azure:${VAULT}/rotating`);
    try {
      assert.equal(await text(resolver, ref), 'kv-v1-31d0');
      kv.put('rotating', 'kv-v2-c84b');
      const served = kv.served;
      clock.advance(LEASE - 1);
      assert.equal(await text(resolver, ref), 'kv-v1-31d0');
      assert.equal(kv.served, served, 'no call inside the lease');
      clock.advance(1);
      assert.equal(await text(resolver, ref), 'kv-v2-c84b');
      assert.equal(kv.served, served + 1);
      assert.equal(await text(resolver, parseSecretRef(`azure:${VAULT}/rotating/${v1}`)), 'kv-v1-31d0');
    } finally {
      await resolver.close();
    }
  });

  it('expiry with the vault down: an error, never the stale value', async () => {
    const down = await startAzureServer({ cert, vaultName: VAULT });
    down.put('db-password', 'kv-v1-31d0');
    const clock = manualClock();
    const resolver = new SecretResolver({ backends: [createAzureBackend(options(down))], leaseMs: LEASE, clock, timeoutMs: 4000 });
    const ref = parseSecretRef(`azure:${VAULT}/db-password`);
    try {
      assert.equal(await text(resolver, ref), 'kv-v1-31d0');
      await down.close();
      clock.advance(LEASE);
      await failsWith(text(resolver, ref), 'PROBECTL_ERR_SECRET_UNAVAILABLE', SECRET_WORDS);
      await failsWith(text(resolver, ref), 'PROBECTL_ERR_SECRET_UNAVAILABLE', SECRET_WORDS);
      const health = resolver.health().backends.find((b) => b.scheme === 'azure');
      assert.equal(health?.cached_leases, 0);
      assert.equal(health?.failures, 2);
      assertClean(JSON.stringify(resolver.health()), [...SECRET_WORDS, VAULT]);
    } finally {
      await resolver.close();
      await down.close();
    }
  });

  it('403 (RBAC deny) and a token the vault rejects are PROBECTL_ERR_SECRET_DENIED', async () => {
    kv.put('denied-secret', 'never-served-0b6f');
    kv.deny('denied-secret', true);
    const { backend } = setup();
    const wrong = await startAzureServer({ cert, vaultName: VAULT, wrongCredential: true });
    wrong.put('db-password', 'kv-v1-31d0');
    try {
      const msg = await failsWith(backend.fetch(parseSecretRef(`azure:${VAULT}/denied-secret`), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_DENIED', ['never-served-0b6f', 'denied-secret']);
      assert.match(msg, /ForbiddenByRbac, HTTP 403/);
      const refused = wrong.refused.length;
      const wrongBackend = createAzureBackend(options(wrong));
      const msg401 = await failsWith(wrongBackend.fetch(parseSecretRef(`azure:${VAULT}/db-password`), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_DENIED', SECRET_WORDS);
      assert.match(msg401, /HTTP 401/);
      assert.deepEqual(wrong.refused.slice(refused), ['Unauthorized', 'InvalidToken']);
      assert.equal(wrong.served, 0);
      await wrongBackend.close?.();
    } finally {
      await backend.close?.();
      await wrong.close();
    }
  });

  it('a challenge naming a resource outside the vault domain is refused before any token is requested', async () => {
    const rogue = await startAzureServer({ cert, vaultName: VAULT, challengeResource: 'https://management.example.net' });
    rogue.put('db-password', 'kv-v1-31d0');
    try {
      const rogueBackend = createAzureBackend(options(rogue));
      const msg = await failsWith(rogueBackend.fetch(parseSecretRef(`azure:${VAULT}/db-password`), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_DENIED', SECRET_WORDS);
      assert.match(msg, /outside the vault domain/);
      await rogueBackend.close?.();
      assert.equal(rogue.tokenRequests.length, 0, 'no token was issued for a foreign resource');
      assert.equal(rogue.served, 0);
    } finally {
      await rogue.close();
    }
  });

  it('not found, a disabled version, and server errors', async () => {
    const v1 = kv.put('disabled', 'kv-v1-31d0');
    kv.put('disabled', 'kv-v2-c84b');
    kv.disable('disabled', v1);
    const { backend } = setup();
    const fetch = (t: string) => backend.fetch(parseSecretRef(t), AbortSignal.timeout(5000));
    try {
      await failsWith(fetch(`azure:${VAULT}/no-such-secret`), 'PROBECTL_ERR_SECRET_NOT_FOUND', ['no-such-secret']);
      await failsWith(fetch(`azure:${VAULT}/disabled/${v1}`), 'PROBECTL_ERR_SECRET_NOT_FOUND', [v1, 'disabled/']);
      assert.equal((await fetch(`azure:${VAULT}/disabled`)).value.toString(), 'kv-v2-c84b');
      kv.fault = 'http-500';
      await failsWith(fetch(`azure:${VAULT}/db-password`), 'PROBECTL_ERR_SECRET_UNAVAILABLE', SECRET_WORDS);
    } finally {
      kv.fault = undefined;
      await backend.close?.();
    }
  });

  it('malformed answers: truncated JSON and a bundle without a value', async () => {
    const { backend } = setup();
    try {
      kv.fault = 'malformed-json';
      await failsWith(backend.fetch(parseSecretRef(`azure:${VAULT}/db-password`), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_MALFORMED', SECRET_WORDS);
      kv.fault = 'no-value';
      await failsWith(backend.fetch(parseSecretRef(`azure:${VAULT}/db-password`), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_MALFORMED', SECRET_WORDS);
    } finally {
      kv.fault = undefined;
      await backend.close?.();
    }
  });

  it('TLS is validated: without the private CA no request reaches the vault', async () => {
    const { backend } = setup({ caPem: undefined });
    try {
      const tokens = kv.tokenRequests.length;
      const msg = await failsWith(backend.fetch(parseSecretRef(`azure:${VAULT}/db-password`), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_UNAVAILABLE', SECRET_WORDS);
      assert.match(msg, /TLS certificate validation failed/);
      assert.equal(kv.tokenRequests.length, tokens);
    } finally {
      await backend.close?.();
    }
  });

  it('a malformed vault DNS suffix is a configuration error', () => {
    assert.throws(() => createAzureBackend({ vaultSuffix: 'not a host' }), (err: unknown) => isProbectlError(err, 'PROBECTL_ERR_CONFIG_INVALID'));
  });
});
