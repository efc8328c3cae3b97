import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { testAgent } from '../helpers/http.ts';
import { caFile, until } from '../siem/helpers/forwarder.ts';
import { startTestSiem, type TestSiem } from '../siem/servers/test-siem.ts';

/**
 * The SIEM operator routes under a receiver that is down or slow, and under
 * hostile requests: every call answers within a bound, with {code, message},
 * and counts nothing twice.
 */
describe('SIEM operations against a down receiver and concurrent callers', () => {
  let siem: TestSiem;
  let app: TestApp;
  let token: string;

  before(async () => {
    siem = await startTestSiem();
    app = await startTestApp({
      PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_PRESET: 'generic', PROBECTL_SIEM_FORMAT: 'cef', PROBECTL_SIEM_STREAMS: 'threat',
      PROBECTL_SIEM_ENDPOINT: `${siem.url}/ingest`, PROBECTL_SIEM_TOKEN: siem.token, PROBECTL_SIEM_CA_FILE: caFile(siem.caPem),
      PROBECTL_SIEM_POLL_INTERVAL: '100ms', PROBECTL_SIEM_RETRY_BASE: '20ms', PROBECTL_SIEM_RETRY_MAX: '200ms', PROBECTL_SIEM_TIMEOUT: '1s',
    });
    const tenant = (await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name: 'ops-hostile' } })).json.id;
    token = (await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant, permissions: ['admin', 'signals-write'], name: 'ops' } })).json.token;
    for (const title of ['POISON a', 'POISON b', 'fine']) {
      await app.request('POST', '/v1/signals', { token, body: { kind: 'ioc.match', severity: 'warning', confidence: 60, target: '198.51.100.9', title } });
    }
    await until('two parked', async () => (await app.request('GET', '/v1/siem/parked', { token })).json.parked.length === 2);
  });
  after(async () => {
    await app?.close();
    await siem?.close();
  });

  const threat = async () => (await app.request('GET', '/v1/siem/status', { token })).json.streams.find((s: { stream: string }) => s.stream === 'threat');

  it('replay of a stream that is not exported is a 400 before anything is sent or audited', async () => {
    const replays = async () => (await app.request('GET', '/v1/audit?after=0&limit=1000', { token })).json.events.filter((e: { action: string }) => e.action === 'siem.replay').length;
    const res = await app.request('POST', '/v1/siem/replay', { token, body: { from: 1, stream: 'audit' } });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.code, 'PROBECTL_ERR_VALIDATION');
    assert.match(res.json.message, /stream audit is not exported/);
    assert.equal(await replays(), 0, 'no siem.replay record');
  });

  it('parked retry while the receiver answers 503 gives up with a 503 within its bound; the events stay parked', async () => {
    siem.rejectPoison = false;
    for (let i = 0; i < 200; i++) siem.faults.push({ kind: 'status', status: 503 });
    const started = Date.now();
    const res = await app.request('POST', '/v1/siem/parked/retry', { token, body: {} });
    siem.faults.length = 0;
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.code, 'PROBECTL_ERR_DELIVERY_UNAVAILABLE');
    assert.ok(Date.now() - started < 30_000, `answered after ${Date.now() - started} ms`);
    assert.equal((await app.request('GET', '/v1/siem/parked', { token })).json.parked.length, 2);
    assert.deepEqual([(await threat()).parked, (await threat()).delivered_total], [2, 1]);
  });

  it('two parked retries at once: one runs, the other is refused, and nothing is counted twice', async () => {
    siem.rejectPoison = false;
    siem.faults.push({ kind: 'hang' }); // the first retry's first attempt waits for its 1 s timeout
    const [a, b] = await Promise.all([
      app.request('POST', '/v1/siem/parked/retry', { token, body: {} }),
      new Promise((r) => setTimeout(r, 200)).then(() => app.request('POST', '/v1/siem/parked/retry', { token, body: {} })),
    ]);
    assert.deepEqual([a.status, a.json], [200, { retried: 2, delivered: 2, still_parked: 0 }], a.text);
    assert.equal(b.status, 409, b.text);
    assert.equal(b.json.code, 'PROBECTL_ERR_CONFLICT');
    const s = await threat();
    assert.deepEqual([s.delivered_total, s.parked, s.head], [3, 0, 3], 'three events, each counted delivered once');
  });

  it('a second replay of the same stream while one runs is a 409; a replay whose client went away stops sending', async (t) => {
    siem.faults.length = 0;
    for (let i = 0; i < 50; i++) siem.faults.push({ kind: 'hang' }); // every attempt waits for its 1 s timeout
    const agent = testAgent(readFileSync(join(app.dataDir, 'tls', 'server.crt'), 'utf8'));
    t.after(() => (agent.destroyed ? undefined : agent.close()));
    const client = new AbortController();
    const first = request(`${app.url}/v1/siem/replay`, {
      method: 'POST', dispatcher: agent, signal: client.signal,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ from: 1, stream: 'threat' }),
    });
    const res = await first;
    assert.equal(res.statusCode, 200);
    const second = await app.request('POST', '/v1/siem/replay', { token, body: { from: 1, stream: 'threat' } });
    assert.equal(second.status, 409, second.text);
    assert.equal(second.json.code, 'PROBECTL_ERR_CONFLICT');
    client.abort();
    await res.body.text().catch(() => undefined);
    await agent.destroy(); // the connection closes: the client is gone
    // The replay notices at its next batch at the latest; from then on it sends nothing more.
    await new Promise((r) => setTimeout(r, 3000));
    const seen = siem.requests.length;
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(siem.requests.length, seen, 'the abandoned replay kept sending');
    siem.faults.length = 0;
    const again = await app.request('POST', '/v1/siem/replay', { token, body: { from: 1, stream: 'threat' } });
    assert.equal(again.status, 200, 'the stream can be replayed again once the abandoned one ended');
    assert.match(again.text, /"done":true/);
  });
});
