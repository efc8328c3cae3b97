import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpClientError } from '../../../src/core/http/client.ts';
import { captureReceiver, vendorClient } from './client.ts';
import { deliver, hmacSha256Hex, probectlAuthHeaders, StandIn } from './harness.ts';

async function counterServer() {
  let applied = 0;
  const s = await StandIn.start({
    name: 'counter',
    handle: (req) => {
      if (req.method !== 'POST') return { status: 405, body: { error: 'method' } };
      applied++;
      return { status: 201, body: { applied } };
    },
    errorReply: (status) => ({ status, body: { vendor: 'shaped', status } }),
  });
  return { s, applied: () => applied };
}

describe('stand-in harness', () => {
  it('answers over TLS from the test CA, logs method, path, headers, parsed body and status', async (t) => {
    const { s, applied } = await counterServer();
    t.after(() => s.close());
    const { call } = vendorClient(t, s.caPem);
    const res = await call(`${s.url}/things?x=1`, { json: { a: 1 }, headers: { 'x-test': 'yes' } });
    assert.equal(res.status, 201);
    assert.deepEqual(res.json(), { applied: 1 });
    assert.equal(applied(), 1);
    const [entry] = s.log;
    assert.equal(entry!.method, 'POST');
    assert.equal(entry!.path, '/things?x=1');
    assert.equal(entry!.pathname, '/things');
    assert.equal(entry!.headers['x-test'], 'yes');
    assert.deepEqual(entry!.body, { a: 1 });
    assert.equal(entry!.status, 201);
    assert.equal(entry!.answered, true);
    assert.deepEqual(s.handlerErrors, []);
  });

  it('an untrusted client is refused at the handshake (validation stays on)', async (t) => {
    const { s } = await counterServer();
    t.after(() => s.close());
    const { call } = vendorClient(t, '');
    await assert.rejects(call(`${s.url}/x`, { json: {} }), (e: unknown) => e instanceof HttpClientError && e.kind === 'tls');
    assert.equal(s.log.length, 0);
  });

  it('status fault: vendor-shaped answer with Retry-After, nothing applied, then normal service', async (t) => {
    const { s, applied } = await counterServer();
    t.after(() => s.close());
    const { call } = vendorClient(t, s.caPem);
    s.inject({ kind: 'status', status: 429, retryAfter: '7' }, { kind: 'status', status: 503 });
    const r1 = await call(`${s.url}/a`, { json: {} });
    assert.equal(r1.status, 429);
    assert.equal(r1.headers['retry-after'], '7');
    assert.deepEqual(r1.json(), { vendor: 'shaped', status: 429 });
    assert.equal((await call(`${s.url}/a`, { json: {} })).status, 503);
    assert.equal(applied(), 0);
    assert.equal((await call(`${s.url}/a`, { json: {} })).status, 201);
    assert.equal(applied(), 1);
    assert.deepEqual(s.log.map((l) => [l.status, l.fault]), [[429, 'status'], [503, 'status'], [201, undefined]]);
  });

  it('a fault with `when` waits for the request it matches', async (t) => {
    const { s, applied } = await counterServer();
    t.after(() => s.close());
    const { call } = vendorClient(t, s.caPem);
    s.inject({ kind: 'status', status: 500, when: { method: 'POST', path: '/create' } });
    assert.equal((await call(`${s.url}/search`, { json: {} })).status, 201);
    assert.equal((await call(`${s.url}/create`, { json: {} })).status, 500);
    assert.equal(s.faults.length, 0);
    assert.equal(applied(), 1);
  });

  it('hang: the request is read and never answered, so the client deadline fires; close() ends it', async (t) => {
    const { s, applied } = await counterServer();
    t.after(() => s.close());
    const { call } = vendorClient(t, s.caPem);
    s.inject({ kind: 'hang' });
    const started = Date.now();
    await assert.rejects(call(`${s.url}/a`, { json: { n: 1 }, timeoutMs: 300 }), (e: unknown) => e instanceof HttpClientError && e.kind === 'timeout');
    assert.ok(Date.now() - started < 3_000);
    assert.equal(applied(), 0);
    assert.deepEqual(s.log[0]!.body, { n: 1 });
    assert.equal(s.log[0]!.answered, false);
  });

  it('reset: the connection drops before anything is applied', async (t) => {
    const { s, applied } = await counterServer();
    t.after(() => s.close());
    const { call } = vendorClient(t, s.caPem);
    s.inject({ kind: 'reset' });
    await assert.rejects(call(`${s.url}/a`, { json: {} }), (e: unknown) => e instanceof HttpClientError && (e.kind === 'network' || e.kind === 'closed'));
    assert.equal(applied(), 0);
    assert.equal(s.log[0]!.fault, 'reset');
  });

  it('lost response: the request is applied, then the connection drops without an answer', async (t) => {
    const { s, applied } = await counterServer();
    t.after(() => s.close());
    const { call } = vendorClient(t, s.caPem);
    s.inject({ kind: 'lost-response' });
    await assert.rejects(call(`${s.url}/a`, { json: {} }), (e: unknown) => e instanceof HttpClientError && e.kind === 'network');
    assert.equal(applied(), 1);
    assert.deepEqual([s.log[0]!.status, s.log[0]!.answered, s.log[0]!.fault], [201, false, 'lost-response']);
  });

  it('close() is idempotent and refuses new connections afterwards', async (t) => {
    const { s } = await counterServer();
    const { call } = vendorClient(t, s.caPem);
    s.inject({ kind: 'hang' });
    const pending = call(`${s.url}/a`, { json: {}, timeoutMs: 5_000 });
    await s.waitFor(() => s.log.length === 1, 3_000, 'hanging request');
    await Promise.all([s.close(), s.close()]);
    await assert.rejects(pending, HttpClientError);
    await assert.rejects(call(`${s.url}/a`, { json: {}, timeoutMs: 1_000 }), HttpClientError);
  });

  it('deliver() posts exact bytes and headers under a deadline; probectl auth headers are the documented HMAC', async (t) => {
    const { url: at, seen } = await captureReceiver(t, 202);
    const body = '{"k":"v"}';
    const headers = probectlAuthHeaders({ kind: 'hmac', secret: 's3cret', timestamp: 1700000000 }, body);
    assert.deepEqual(headers, { 'x-probectl-timestamp': '1700000000', 'x-probectl-signature': `sha256=${hmacSha256Hex('s3cret', '1700000000.{"k":"v"}')}` });
    const res = await deliver(at('/in'), body, { 'content-type': 'application/json', ...headers }, { timeoutMs: 2_000 });
    assert.equal(res.status, 202);
    assert.equal(seen[0]!.body, body);
    assert.equal(seen[0]!.headers['x-probectl-timestamp'], '1700000000');
    assert.deepEqual(probectlAuthHeaders({ kind: 'token', secret: 'tok' }, body), { 'x-probectl-token': 'tok' });
  });
});
