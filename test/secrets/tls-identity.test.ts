import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it, type TestContext } from 'node:test';
import { connect, type SecureVersion } from 'node:tls';
import { isProbectlError } from '../../src/core/errors.ts';
import { HttpClient } from '../../src/core/http/client.ts';
import { issueCertificate, type Issued } from '../../src/core/x509.ts';
import { EnvBackend } from '../../src/secrets/backends/env.ts';
import { parseSecretRef } from '../../src/secrets/ref.ts';
import { SecretResolver } from '../../src/secrets/resolver.ts';
import { TlsIdentity } from '../../src/secrets/tls-identity.ts';
import { startHttpsServer, testPki, type TestPki } from '../core/http/test-server.ts';
import { manualClock } from '../helpers/tenants.ts';

function writeAtomic(path: string, content: string): void {
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
}

/** One TLS handshake (10 s at most): the fingerprint of the certificate the server presented, or the error code. */
function handshake(port: number, ca: string, maxVersion: SecureVersion = 'TLSv1.3'): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion, timeout: 10_000 }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.on('timeout', () => socket.destroy(Object.assign(new Error('no handshake within 10 s'), { code: 'TIMEOUT' })));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(`error:${err.code}`));
  });
}

/** Listens on a loopback port; the server (and any connection left open) is closed when the test ends. */
async function listen(t: TestContext, server: Server): Promise<number> {
  t.after(() => new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

/** A resolver closed when the test ends. */
function resolverFor(t: TestContext, opts: ConstructorParameters<typeof SecretResolver>[0] = { backends: [], leaseMs: 60_000 }): SecretResolver {
  const resolver = new SecretResolver(opts);
  t.after(() => resolver.close());
  return resolver;
}

describe('TLS identities: renewal in place without a restart', () => {
  let pki: TestPki;
  let a: Issued;
  let b: Issued;
  let c: Issued;

  before(async () => {
    pki = await testPki();
    [a, b, c] = await Promise.all(['a', 'b', 'c'].map((cn) => issueCertificate({ commonName: `server-${cn}`, altNames: ['localhost', '127.0.0.1'], issuer: pki.ca }))) as [Issued, Issued, Issued];
  });

  function files(issued: Issued) {
    const dir = mkdtempSync(join(tmpdir(), 'probectl-tls-'));
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    writeFileSync(cert, issued.certPem);
    writeFileSync(key, issued.keyPem);
    return { dir, cert, key };
  }

  it('file replaced → the next handshake presents the new certificate; server options survive the swap', async (t) => {
    const f = files(a);
    const resolver = resolverFor(t);
    const identity = await TlsIdentity.load({ name: 'server', cert: { file: f.cert }, key: { file: f.key }, resolver });
    const server = createServer({ ...identity.material(), minVersion: 'TLSv1.3' }, (_q, r) => r.end('ok'));
    identity.attach(server, { minVersion: 'TLSv1.3' });
    const port = await listen(t, server);
    assert.equal(await handshake(port, pki.ca.certPem), a.fingerprint256);
    writeAtomic(f.cert, b.certPem);
    writeAtomic(f.key, b.keyPem);
    assert.equal(await identity.check(), 'loaded');
    assert.equal(await handshake(port, pki.ca.certPem), b.fingerprint256);
    assert.match(await handshake(port, pki.ca.certPem, 'TLSv1.2'), /^error:/, 'minVersion still applies after the reload');
    assert.equal(await identity.check(), 'unchanged');
    const h = resolver.health().tls_identities[0]!;
    assert.equal(h.name, 'server');
    assert.equal(h.fingerprint256, b.fingerprint256);
    assert.equal(h.reloads, 1);
    assert.equal(h.current, true);
  });

  it('garbage or a key that does not match: the old identity is kept and the error shows in health', async (t) => {
    const f = files(a);
    const resolver = resolverFor(t);
    const identity = await TlsIdentity.load({ name: 'server', cert: { file: f.cert }, key: { file: f.key }, resolver });
    const server = createServer(identity.material(), (_q, r) => r.end('ok'));
    identity.attach(server);
    const port = await listen(t, server);
    writeAtomic(f.cert, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    assert.equal(await identity.check(), 'rejected');
    assert.equal(await handshake(port, pki.ca.certPem), a.fingerprint256);
    let h = resolver.health().tls_identities[0]!;
    assert.equal(h.current, false);
    assert.equal(h.failures, 1);
    assert.match(h.last_error ?? '', /renewal refused, previous identity kept: the certificate does not parse/);
    assert.equal(await identity.check(), 'rejected');
    assert.equal(resolver.health().tls_identities[0]!.failures, 1, 'the same bad renewal is reported once');

    writeAtomic(f.cert, c.certPem); // c's certificate with a's key
    assert.equal(await identity.check(), 'rejected');
    h = resolver.health().tls_identities[0]!;
    assert.match(h.last_error ?? '', /does not match/);
    assert.equal(await handshake(port, pki.ca.certPem), a.fingerprint256);
    assert.ok(!JSON.stringify(resolver.health()).includes('PRIVATE KEY'));
    assert.ok(!JSON.stringify(resolver.health()).includes(f.dir), 'no file paths in health');

    writeAtomic(f.key, c.keyPem);
    assert.equal(await identity.check(), 'loaded');
    assert.equal(await handshake(port, pki.ca.certPem), c.fingerprint256);
    assert.equal(resolver.health().tls_identities[0]!.current, true);
  });

  it('references: the identity follows the lease — unchanged inside it, renewed after it', async (t) => {
    const env: NodeJS.ProcessEnv = { TLS_CERT_PEM: a.certPem, TLS_KEY_PEM: a.keyPem };
    const clock = manualClock();
    const resolver = resolverFor(t, { backends: [new EnvBackend(env)], leaseMs: 60_000, clock });
    const identity = await TlsIdentity.load({ name: 'server', cert: { ref: parseSecretRef('env:TLS_CERT_PEM') }, key: { ref: parseSecretRef('env:TLS_KEY_PEM') }, resolver, clock });
    const server = createServer(identity.material(), (_q, r) => r.end('ok'));
    identity.attach(server);
    const port = await listen(t, server);
    env.TLS_CERT_PEM = b.certPem;
    env.TLS_KEY_PEM = b.keyPem;
    assert.equal(await identity.check(), 'unchanged');
    assert.equal(await handshake(port, pki.ca.certPem), a.fingerprint256);
    clock.advance(60_000);
    assert.equal(await identity.check(), 'loaded');
    assert.equal(await handshake(port, pki.ca.certPem), b.fingerprint256);
    delete env.TLS_KEY_PEM;
    clock.advance(60_000);
    assert.equal(await identity.check(), 'rejected');
    assert.match(resolver.health().tls_identities[0]!.last_error ?? '', /private key reference cannot be resolved/);
    assert.equal(await handshake(port, pki.ca.certPem), b.fingerprint256);
  });

  it('start() picks a replaced file up by itself', async (t) => {
    const f = files(a);
    const resolver = resolverFor(t);
    const identity = await TlsIdentity.load({ name: 'server', cert: { file: f.cert }, key: { file: f.key }, resolver, intervalMs: 50 });
    const server = createServer(identity.material(), (_q, r) => r.end('ok'));
    identity.attach(server);
    const port = await listen(t, server);
    identity.start();
    t.after(() => identity.stop());
    writeAtomic(f.key, b.keyPem);
    writeAtomic(f.cert, b.certPem);
    const deadline = Date.now() + 5000;
    let seen = '';
    while (Date.now() < deadline && (seen = await handshake(port, pki.ca.certPem)) !== b.fingerprint256) await new Promise((r) => setTimeout(r, 25));
    assert.equal(seen, b.fingerprint256);
  });

  it('a mutual-TLS client identity: a renewed client certificate reaches the HTTP client for new connections', async (t) => {
    const first = await pki.issueClient('agent-1');
    const second = await pki.issueClient('agent-2');
    const f = files(first);
    const caFile = join(f.dir, 'ca.pem');
    writeFileSync(caFile, pki.ca.certPem);
    const peer = await startHttpsServer(pki, (req) => ({ status: 200, body: { cn: req.clientCn ?? null } }), { requestClientCert: true });
    t.after(() => peer.close());
    const resolver = resolverFor(t);
    const identity = await TlsIdentity.load({ name: 'agent-client', cert: { file: f.cert }, key: { file: f.key }, ca: { file: caFile }, resolver });
    const m = identity.material();
    const client = new HttpClient({ tls: { ca: [m.ca as string], cert: m.cert, key: m.key } });
    t.after(() => client.close());
    identity.onChange((next) => client.setTls({ ca: [next.ca as string], cert: next.cert, key: next.key }));
    assert.deepEqual((await client.request(`${peer.url}/`)).json(), { cn: 'agent-1' });
    writeAtomic(f.cert, second.certPem);
    writeAtomic(f.key, second.keyPem);
    assert.equal(await identity.check(), 'loaded');
    assert.deepEqual((await client.request(`${peer.url}/`)).json(), { cn: 'agent-2' });
  });

  it('an identity that cannot be loaded at start refuses with PROBECTL_ERR_TLS_SETUP and no key material', async (t) => {
    const f = files(a);
    writeFileSync(f.key, b.keyPem);
    const resolver = resolverFor(t);
    try {
      await TlsIdentity.load({ name: 'server', cert: { file: f.cert }, key: { file: f.key }, resolver });
      assert.fail('expected a refusal');
    } catch (err) {
      assert.ok(isProbectlError(err, 'PROBECTL_ERR_TLS_SETUP'), String(err));
      assert.match(err.message, /does not match/);
      assert.ok(!err.message.includes('PRIVATE KEY') && !err.message.includes(f.dir));
    }
  });

});
