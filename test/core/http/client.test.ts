import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { HttpClient, HttpClientError } from '../../../src/core/http/client.ts';
import { safeOrigin, transportProblem } from '../../../src/core/http/transport.ts';
import { issueCertificate } from '../../../src/core/x509.ts';
import { deadPort, startHttpsServer, testPki, type TestPki, type TestServer } from './test-server.ts';

async function rejectsWith(p: Promise<unknown>, kind: string): Promise<HttpClientError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof HttpClientError, `expected HttpClientError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    return err;
  }
  assert.fail(`expected a ${kind} error`);
}

describe('hardened HTTPS client', () => {
  let pki: TestPki;
  let srv: TestServer;

  before(async () => {
    pki = await testPki();
    srv = await startHttpsServer(pki, (req) => {
      if (req.url.startsWith('/slow')) return { status: 200, body: 'late', delayMs: 2000 };
      if (req.url.startsWith('/big')) return { status: 200, body: Buffer.alloc(64 * 1024, 0x61) };
      if (req.url.startsWith('/redirect')) return { status: 302, headers: { location: '/elsewhere' } };
      if (req.url.startsWith('/hangup')) return { status: 200, hangUp: true };
      return { status: 200, body: { method: req.method, echo: req.body.toString('utf8'), auth: req.headers.authorization ?? null } };
    });
  });
  after(() => srv?.close());

  it('talks to a server whose certificate chains to the extra CA, sending method, headers and body as given', async () => {
    const client = new HttpClient({ tls: { ca: [pki.ca.certPem] } });
    try {
      const res = await client.request(`${srv.url}/echo?x=1`, { method: 'POST', headers: { authorization: 'Bearer t0k', 'content-type': 'text/plain' }, body: 'hello' });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json(), { method: 'POST', echo: 'hello', auth: 'Bearer t0k' });
      const seen = srv.requests.at(-1)!;
      assert.equal(seen.url, '/echo?x=1');
      assert.equal(seen.headers['content-type'], 'text/plain');
    } finally {
      await client.close();
    }
  });

  it('refuses a server certificate the trust store does not vouch for, naming only scheme and host', async () => {
    const client = new HttpClient();
    try {
      const err = await rejectsWith(client.request(`${srv.url}/secret/path?token=abc`), 'tls');
      assert.ok(!err.message.includes('/secret/path') && !err.message.includes('abc'), err.message);
      assert.ok(err.message.startsWith(`${srv.url}:`), err.message);
    } finally {
      await client.close();
    }
  });

  it('refuses a certificate for another host name even from a trusted CA', async () => {
    const wrong = await issueCertificate({ commonName: 'elsewhere', altNames: ['elsewhere.example'], issuer: pki.ca });
    const other = await startHttpsServer({ ...pki, server: wrong }, () => ({ status: 200, body: 'x' }));
    const client = new HttpClient({ tls: { ca: [pki.ca.certPem] } });
    try {
      await rejectsWith(client.request(`${other.url}/`), 'tls');
    } finally {
      await client.close();
      await other.close();
    }
  });

  it('refuses plain http:// to a non-loopback host before connecting, and URL credentials', async () => {
    const client = new HttpClient();
    try {
      const err = await rejectsWith(client.request('http://vault.example.com:8200/v1/kv/data/x'), 'insecure');
      assert.ok(!err.message.includes('/v1/kv'), err.message);
      await rejectsWith(client.request('https://user:pw@127.0.0.1:1/'), 'insecure');
      await rejectsWith(client.request('ftp://127.0.0.1/'), 'insecure');
    } finally {
      await client.close();
    }
    assert.equal(transportProblem('http://127.0.0.1:8200'), undefined);
    assert.equal(transportProblem('http://[::1]:8200'), undefined);
    assert.equal(transportProblem('http://localhost:8200'), undefined);
    assert.match(transportProblem('http://10.0.0.1:8200') ?? '', /refused/);
    assert.equal(safeOrigin('https://h.example:8443/a/b?c=d#e'), 'https://h.example:8443');
  });

  it('allows plain http:// to loopback', async (t) => {
    const plain = createServer((req, res) => res.end('plain ok'));
    t.after(() => new Promise<void>((r) => {
      plain.close(() => r());
      plain.closeAllConnections();
    }));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
    const port = (plain.address() as { port: number }).port;
    const client = new HttpClient();
    t.after(() => client.close());
    const res = await client.request(`http://127.0.0.1:${port}/`);
    assert.equal(res.text(), 'plain ok');
  });

  it('enforces the per-request deadline', async () => {
    const client = new HttpClient({ tls: { ca: [pki.ca.certPem] }, timeoutMs: 5000 });
    try {
      const started = Date.now();
      await rejectsWith(client.request(`${srv.url}/slow`, { timeoutMs: 200 }), 'timeout');
      assert.ok(Date.now() - started < 1500);
    } finally {
      await client.close();
    }
  });

  it('caps the response size', async () => {
    const client = new HttpClient({ tls: { ca: [pki.ca.certPem] }, maxResponseBytes: 1024 });
    try {
      await rejectsWith(client.request(`${srv.url}/big`), 'too-large');
    } finally {
      await client.close();
    }
  });

  it('never follows redirects', async () => {
    const client = new HttpClient({ tls: { ca: [pki.ca.certPem] } });
    try {
      const res = await client.request(`${srv.url}/redirect`);
      assert.equal(res.status, 302);
      assert.equal(srv.requests.filter((r) => r.url === '/elsewhere').length, 0);
    } finally {
      await client.close();
    }
  });

  it('reports connection refused and hang-ups as network errors without the path', async () => {
    const client = new HttpClient({ tls: { ca: [pki.ca.certPem] } });
    try {
      const port = await deadPort();
      const err = await rejectsWith(client.request(`https://127.0.0.1:${port}/v1/secret`), 'network');
      assert.equal(err.causeCode, 'ECONNREFUSED');
      assert.ok(!err.message.includes('/v1/secret'));
      await rejectsWith(client.request(`${srv.url}/hangup`), 'network');
    } finally {
      await client.close();
    }
  });

  it('presents a client certificate for mutual TLS, and setTls swaps it for new requests', async (t) => {
    const mtls = await startHttpsServer(pki, (req) => ({ status: 200, body: { cn: req.clientCn ?? null } }), { requestClientCert: true });
    t.after(() => mtls.close());
    const first = await pki.issueClient('probectl-a');
    const second = await pki.issueClient('probectl-b');
    const client = new HttpClient({ tls: { ca: [pki.ca.certPem], cert: first.certPem, key: first.keyPem } });
    t.after(() => client.close());
    const anonymous = new HttpClient({ tls: { ca: [pki.ca.certPem] } });
    t.after(() => anonymous.close());
    assert.deepEqual((await client.request(`${mtls.url}/`)).json(), { cn: 'probectl-a' });
    client.setTls({ ca: [pki.ca.certPem], cert: second.certPem, key: second.keyPem });
    assert.deepEqual((await client.request(`${mtls.url}/`)).json(), { cn: 'probectl-b' });
    await assert.rejects(anonymous.request(`${mtls.url}/`), HttpClientError);
  });

  it('a closed client refuses new requests', async () => {
    const client = new HttpClient({ tls: { ca: [pki.ca.certPem] } });
    await client.close();
    await rejectsWith(client.request(`${srv.url}/`), 'closed');
  });
});
