import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { QueryLimiter } from '../../src/federation/api/limiter.ts';
import type { MetricsRuntime } from '../../src/federation/runtime.ts';
import { isProbectlError } from '../../src/core/errors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { testAgent } from '../helpers/http.ts';
import { form } from '../helpers/remote-write.ts';

const G = '/v1/grafana/api/v1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('metrics read limiter', () => {
  it('hands slots over in order, and a read that waits past the timeout is told to retry (503)', async () => {
    const limiter = new QueryLimiter(2, 200);
    const a = await limiter.acquire();
    const b = await limiter.acquire();
    assert.equal(limiter.active, 2);
    const order: string[] = [];
    const c = limiter.acquire().then((r) => { order.push('c'); return r; });
    const d = limiter.acquire().then((r) => { order.push('d'); return r; });
    a();
    a(); // releasing twice frees one slot only
    const rc = await c;
    assert.deepEqual(order, ['c']);
    await assert.rejects(d, (err: unknown) => isProbectlError(err, 'PROBECTL_ERR_METRICS_BUSY') && (err as Error).message.includes('PROBECTL_METRICS_MAX_CONCURRENT_QUERIES'));
    b();
    rc();
    assert.equal(limiter.active, 0);
  });

  it('one tenant holds at most half the slots (rounded up): another tenant still gets one, in order once freed', async () => {
    const limiter = new QueryLimiter(4, 300);
    assert.equal(limiter.perTenant, 2);
    const a1 = await limiter.acquire('a');
    const a2 = await limiter.acquire('a');
    const order: string[] = [];
    const a3 = limiter.acquire('a').then((r) => { order.push('a3'); return r; });
    const b1 = await limiter.acquire('b'); // a slot is free for b although a waits
    order.push('b1');
    assert.equal(limiter.active, 3);
    a1();
    const r3 = await a3;
    assert.deepEqual(order, ['b1', 'a3']);
    await assert.rejects(limiter.acquire('a'), (err: unknown) => isProbectlError(err, 'PROBECTL_ERR_METRICS_BUSY') && /this tenant/.test((err as Error).message));
    for (const r of [a2, r3, b1]) r();
    assert.equal(limiter.active, 0);
  });

  it('a read whose client went away while it waited in line leaves the line: it never takes a slot nor runs', async () => {
    const limiter = new QueryLimiter(1, 5000);
    const held = await limiter.acquire('a');
    const gone = new AbortController();
    const waiting = limiter.acquire('a', gone.signal);
    const outcome = waiting.then(() => 'granted', (err: unknown) => (isProbectlError(err, 'PROBECTL_ERR_METRICS_BUSY') && /went away/.test((err as Error).message) ? 'left the line' : String(err)));
    gone.abort();
    const deadline = new Promise<string>((r) => setTimeout(() => r('still waiting after 1 s'), 1000).unref());
    assert.equal(await Promise.race([outcome, deadline]), 'left the line');
    held();
    // The slot goes to the next live read at once, not to the gone one.
    const next = await Promise.race([limiter.acquire('a'), new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000).unref())]);
    assert.ok(next, 'the next read did not get the freed slot');
    assert.equal(limiter.active, 1);
    next();
    // Already gone before it asked: refused at once, nothing taken.
    await assert.rejects(limiter.acquire('a', AbortSignal.abort()), (err: unknown) => isProbectlError(err, 'PROBECTL_ERR_METRICS_BUSY') && /went away/.test((err as Error).message));
    assert.equal(limiter.active, 0);
  });

  it('a streamed response holds its slot until it closes, and is cut at the timeout', async () => {
    const limiter = new QueryLimiter(1, 300);
    const release = await limiter.acquire();
    const stream = limiter.holdUntilClosed(Readable.from(['a', 'b'], { objectMode: false }), release);
    assert.equal(limiter.active, 1);
    for await (const _ of stream) { /* read it all */ }
    await sleep(10);
    assert.equal(limiter.active, 0, 'released once written');
    const again = await limiter.acquire();
    const stalled = limiter.holdUntilClosed(new Readable({ read() {} }), again);
    const closed = new Promise((r) => stalled.once('close', r));
    stalled.on('error', () => {});
    await closed;
    assert.equal(limiter.active, 0, 'a response never written is cut at the timeout and its slot freed');
  });
});

describe('metrics reads through the server: slow readers', () => {
  let app: TestApp;
  let token: string;
  let agent: ReturnType<typeof testAgent>;
  let start = 0;
  let end = 0;

  before(async () => {
    app = await startTestApp({ PROBECTL_METRICS_MAX_CONCURRENT_QUERIES: '1', PROBECTL_METRICS_QUERY_TIMEOUT: '3s', PROBECTL_METRICS_SELF_INTERVAL: '2m' });
    agent = testAgent(readFileSync(join(app.dataDir, 'tls', 'server.crt'), 'utf8'));
    const id = (await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name: 'slow-reader' } })).json.id as string;
    token = (await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant: id, permissions: ['metrics-read'], name: 't' } })).json.token as string;
    // One sample for each of 100 series, selected at every one of 11,000 steps (lookback_delta covers the range): an
    // answer of ~40 MB, far more than socket buffers hold, so a reader that stops reading stalls it.
    const rt = app.service.integrations.get('metrics')?.runtime as MetricsRuntime;
    end = Math.floor(Date.now() / 1000) - 60;
    start = end - 11_000 * 15;
    const res = await rt.store.append(id, Array.from({ length: 100 }, (_, i) => ({
      labels: { __name__: 'slow', i: String(i) },
      timestamps: [start * 1000 - 1000],
      values: Float64Array.of(1 / 3 + i),
    })));
    assert.equal(res.stored, 100);
  });
  after(async () => {
    await agent?.destroy();
    await app?.close();
  });

  const big = () => request(`${app.url}${G}/query_range?${form({ query: 'slow', start: String(start), end: String(end), step: '15', lookback_delta: '100d' })}`, { headers: { authorization: `Bearer ${token}` }, dispatcher: agent });
  const small = () => app.request('GET', `${G}/query?${form({ query: 'slow{i="1"}', time: String(end), lookback_delta: '100d' })}`, { token });

  it('a paused reader holds the only slot: the next read waits, and goes on once the reader is gone', async () => {
    const reader = await big();
    assert.equal(reader.statusCode, 200);
    reader.body.pause();
    let settled = false;
    const next = small().finally(() => { settled = true; });
    try {
      await sleep(1000);
      assert.equal(settled, false, 'the second read waits while the first answer is still being written');
    } finally {
      reader.body.destroy();
    }
    const res = await next;
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.data.result.length, 1);
  });

  it('an answer not read within PROBECTL_METRICS_QUERY_TIMEOUT is cut, and its slot freed', async () => {
    const reader = await big();
    reader.body.pause();
    await sleep(4000);
    let bytes = 0;
    let failed = false;
    try {
      for await (const chunk of reader.body) bytes += (chunk as Buffer).length;
    } catch {
      failed = true;
    }
    assert.ok(failed, `the connection was closed mid-answer (${bytes} bytes read)`);
    const res = await small();
    assert.equal(res.status, 200, res.text);
  });
});
