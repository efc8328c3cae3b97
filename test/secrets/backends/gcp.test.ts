import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { googleAuthLibrary } from 'google-gax';
import type { Issued } from '../../../src/core/x509.ts';
import { createGcpBackend, crc32c, type GcpBackendOptions } from '../../../src/secrets/backends/gcp.ts';
import { parseSecretRef } from '../../../src/secrets/ref.ts';
import { SecretResolver } from '../../../src/secrets/resolver.ts';
import { GCP_TEST_TOKEN, startGcpServer, type GcpServer } from '../servers/gcp.ts';
import { secretsTestCa, serverCert } from '../servers/tls.ts';
import { assertClean, failsWith, manualClock, text } from './helpers.ts';

const PROJECT = 'probectl-test';
const LEASE = 60_000;
const SECRET_WORDS = ['gsm-v1-77aa', 'gsm-v2-e01f', 'db-password'];

function authClient(token = GCP_TEST_TOKEN): InstanceType<typeof googleAuthLibrary.OAuth2Client> {
  const client = new googleAuthLibrary.OAuth2Client();
  client.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 });
  return client;
}

describe('gcp backend (Secret Manager AccessSecretVersion over gRPC)', () => {
  let ca: Issued;
  let cert: Issued;
  let gsm: GcpServer;

  before(async () => {
    ca = await secretsTestCa();
    cert = await serverCert();
    gsm = await startGcpServer({ cert, project: PROJECT });
    gsm.put('db-password', 'gsm-v1-77aa');
  });
  after(() => gsm.close());

  function setup(extra: GcpBackendOptions = {}, server: GcpServer = gsm) {
    const clock = manualClock();
    const backend = createGcpBackend({ endpoint: server.endpoint, caPem: ca.certPem, authClient: authClient(), ...extra });
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE, clock, timeoutMs: 5000 });
    return { clock, backend, resolver };
  }

  it('CRC32C is the Castagnoli checksum (RFC 3720 test vectors)', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  });

  it('happy path: the resource name and routing header the API expects, the token in the call metadata, checksum verified', async () => {
    const { resolver } = setup();
    try {
      const names = gsm.names.length;
      const refused = gsm.refused.length;
      assert.equal(await text(resolver, parseSecretRef(`gcp:${PROJECT}/db-password`)), 'gsm-v1-77aa');
      assert.equal(await text(resolver, parseSecretRef(`gcp:${PROJECT}/db-password/1`)), 'gsm-v1-77aa');
      assert.deepEqual(gsm.names.slice(names), [`projects/${PROJECT}/secrets/db-password/versions/latest`, `projects/${PROJECT}/secrets/db-password/versions/1`]);
      assert.equal(gsm.refused.length, refused);
    } finally {
      await resolver.close();
    }
  });

  it('binary payloads come back byte for byte', async () => {
    const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80]);
    gsm.put('binary', bytes);
    const { resolver } = setup();
    try {
      assert.deepEqual(await resolver.use(parseSecretRef(`gcp:${PROJECT}/binary`), (b) => Buffer.from(b)), bytes);
    } finally {
      await resolver.close();
    }
  });

  it('rotation: latest moves to the new version at the next lease; a pinned version does not', async () => {
    gsm.put('rotating', 'gsm-v1-77aa');
    const { resolver, clock } = setup();
    const ref = parseSecretRef(`gcp:${PROJECT}/rotating`);
    try {
      assert.equal(await text(resolver, ref), 'gsm-v1-77aa');
      gsm.put('rotating', 'gsm-v2-e01f');
      const served = gsm.served;
      clock.advance(LEASE - 1);
      assert.equal(await text(resolver, ref), 'gsm-v1-77aa');
      assert.equal(gsm.served, served);
      clock.advance(1);
      assert.equal(await text(resolver, ref), 'gsm-v2-e01f');
      assert.equal(gsm.served, served + 1);
      assert.equal(await text(resolver, parseSecretRef(`gcp:${PROJECT}/rotating/1`)), 'gsm-v1-77aa');
    } finally {
      await resolver.close();
    }
  });

  it('expiry with the backend down: an error, never the stale value', async () => {
    const down = await startGcpServer({ cert, project: PROJECT });
    down.put('db-password', 'gsm-v1-77aa');
    const { resolver, clock } = setup({}, down);
    const ref = parseSecretRef(`gcp:${PROJECT}/db-password`);
    try {
      assert.equal(await text(resolver, ref), 'gsm-v1-77aa');
      await down.close();
      clock.advance(LEASE);
      await failsWith(text(resolver, ref), 'PROBECTL_ERR_SECRET_UNAVAILABLE', SECRET_WORDS);
      await failsWith(text(resolver, ref), 'PROBECTL_ERR_SECRET_UNAVAILABLE', SECRET_WORDS);
      const health = resolver.health().backends.find((b) => b.scheme === 'gcp');
      assert.equal(health?.cached_leases, 0);
      assert.equal(health?.failures, 2);
      assertClean(JSON.stringify(resolver.health()), [...SECRET_WORDS, PROJECT]);
    } finally {
      await resolver.close();
      await down.close();
    }
  });

  it('PERMISSION_DENIED (IAM) and UNAUTHENTICATED (a bad token) are PROBECTL_ERR_SECRET_DENIED', async () => {
    gsm.put('denied', 'never-served-5d3c');
    gsm.deny('denied', true);
    const { backend } = setup();
    const bad = createGcpBackend({ endpoint: gsm.endpoint, caPem: ca.certPem, authClient: authClient('ya29.not-the-token') });
    try {
      const msg = await failsWith(backend.fetch(parseSecretRef(`gcp:${PROJECT}/denied`), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_DENIED', ['never-served-5d3c', 'denied/', 'secretmanager.versions.access']);
      assert.match(msg, /PERMISSION_DENIED/);
      const msg2 = await failsWith(bad.fetch(parseSecretRef(`gcp:${PROJECT}/db-password`), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_DENIED', [...SECRET_WORDS, 'not-the-token']);
      assert.match(msg2, /UNAUTHENTICATED/);
    } finally {
      await backend.close?.();
      await bad.close?.();
    }
  });

  it('not found, a disabled version, and UNAVAILABLE', async () => {
    gsm.put('disabled', 'gsm-v1-77aa');
    gsm.setState('disabled', 1, 'DISABLED');
    const { backend } = setup();
    const fetch = (t: string) => backend.fetch(parseSecretRef(t), AbortSignal.timeout(5000));
    try {
      await failsWith(fetch(`gcp:${PROJECT}/no-such-secret`), 'PROBECTL_ERR_SECRET_NOT_FOUND', ['no-such-secret']);
      await failsWith(fetch(`gcp:${PROJECT}/disabled/1`), 'PROBECTL_ERR_SECRET_NOT_FOUND', ['disabled/']);
      gsm.fault = 'unavailable';
      await failsWith(fetch(`gcp:${PROJECT}/db-password`), 'PROBECTL_ERR_SECRET_UNAVAILABLE', SECRET_WORDS);
    } finally {
      gsm.fault = undefined;
      await backend.close?.();
    }
  });

  it('malformed answers: a payload failing its CRC32C, no payload, an undecodable message; a missing checksum is tolerated', async () => {
    const { backend } = setup();
    const fetch = () => backend.fetch(parseSecretRef(`gcp:${PROJECT}/db-password`), AbortSignal.timeout(5000));
    try {
      gsm.fault = 'crc-mismatch';
      const msg = await failsWith(fetch(), 'PROBECTL_ERR_SECRET_MALFORMED', SECRET_WORDS);
      assert.match(msg, /CRC32C/);
      gsm.fault = 'no-payload';
      await failsWith(fetch(), 'PROBECTL_ERR_SECRET_MALFORMED', SECRET_WORDS);
      gsm.fault = 'garbage';
      await failsWith(fetch(), 'PROBECTL_ERR_SECRET_MALFORMED', SECRET_WORDS);
      gsm.fault = 'no-crc';
      assert.equal((await fetch()).value.toString(), 'gsm-v1-77aa');
    } finally {
      gsm.fault = undefined;
      await backend.close?.();
    }
  });

  it('TLS is validated: without the private CA nothing is served', async () => {
    const { backend } = setup({ caPem: undefined });
    try {
      const served = gsm.served;
      await failsWith(backend.fetch(parseSecretRef(`gcp:${PROJECT}/db-password`), AbortSignal.timeout(5000)), 'PROBECTL_ERR_SECRET_UNAVAILABLE', SECRET_WORDS);
      assert.equal(gsm.served, served);
    } finally {
      await backend.close?.();
    }
  });

  it('the SDK\'s default channel (no caPem) sends the auth client\'s token itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'probectl-gcp-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), ca.certPem);
      const script = fileURLToPath(new URL('./fixtures/gcp-default-channel.ts', import.meta.url));
      const run = (token: string) => new Promise<{ ok: boolean; sha?: string; code?: string }>((resolve, reject) => {
        execFile(process.execPath, [script], {
          env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'), GCP_TEST_TOKEN: token, GCP_TEST_ENDPOINT: gsm.endpoint, GCP_TEST_REF: `gcp:${PROJECT}/db-password` },
          timeout: 30_000,
        }, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as { ok: boolean })));
      });
      const good = await run(GCP_TEST_TOKEN);
      assert.deepEqual(good, { ok: true, length: 11, sha: createHash('sha256').update('gsm-v1-77aa').digest('hex') });
      assert.deepEqual(await run('ya29.wrong'), { ok: false, code: 'PROBECTL_ERR_SECRET_DENIED' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
