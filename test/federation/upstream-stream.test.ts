// Upstream answers passed on as they arrive (src/federation/upstream/backend.ts, client.ts):
// a query_range's first bytes reach probectl's reader while the engine is still writing, a
// reader that stops early releases the engine's connection, and an engine dying mid-body
// ends the stream with probectl's error.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { brotliCompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { ProbectlError } from '../../src/core/errors.ts';
import type { ReadRequest } from '../../src/federation/backend.ts';
import { UpstreamClient } from '../../src/federation/upstream/client.ts';
import { standInBackend, useStandInEngine } from './servers/plain-client.ts';

const TENANT = '00000000-0000-4000-8000-00000000abcd';
const HEAD = '{"status":"success","data":{"resultType":"matrix","result":[';
const TAIL = ']}}';

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

describe('upstream answers streamed through', () => {
  let mode: 'hold' | 'die' | 'endless-error' | 'trickle-error' | 'big' | 'gzip' | 'gzip-error' | 'brotli' | 'gzip-always' | 'gzip-long-error' | 'gzip-bomb-error' | 'gzip-credential-error' = 'hold';
  let gzipped: Buffer = Buffer.alloc(0);
  let acceptEncoding: string | undefined;
  const BIG = `${HEAD}${'0,'.repeat(4 * 1_048_576)}0${TAIL}`;
  let held: ServerResponse | undefined;
  let heldClosed: Promise<unknown> = Promise.resolve();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (!req.url?.endsWith('/api/v1/series')) acceptEncoding = req.headers['accept-encoding'];
      if (req.url?.endsWith('/api/v1/series')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"success","data":[]}');
        return;
      }
      if (mode === 'gzip' || mode === 'gzip-error') {
        // As Prometheus and VictoriaMetrics answer: compressed when the request accepts gzip.
        const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
        const text = mode === 'gzip' ? `${HEAD}{"metric":{"__name__":"up"},"values":[[1700000000,"1"]]}${TAIL}` : '{"status":"error","errorType":"execution","error":"many-to-many matching not allowed: matching labels must be unique on one side, {job=\\"secret-job\\"}"}';
        res.writeHead(mode === 'gzip' ? 200 : 422, { 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
        res.end(gzip ? gzipSync(text) : text);
        return;
      }
      if (mode === 'gzip-always') {
        // An engine (or a proxy before it) that compresses whatever the request accepts.
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(gzipSync(HEAD + TAIL));
        return;
      }
      if (mode === 'gzip-long-error' || mode === 'gzip-bomb-error' || mode === 'gzip-credential-error') {
        res.writeHead(422, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(gzipped);
        return;
      }
      if (mode === 'trickle-error') {
        // An error answer that never ends, one byte every 100 ms: never silent long enough for an idle timeout.
        res.writeHead(503, { 'content-type': 'application/json' });
        res.write('{"status":"error","errorType":"unavailable","error":"');
        const timer = setInterval(() => res.write('x'), 100);
        heldClosed = once(res, 'close');
        res.once('close', () => clearInterval(timer));
        return;
      }
      if (mode === 'brotli') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'br' });
        res.end(brotliCompressSync(HEAD + TAIL));
        return;
      }
      if (mode === 'endless-error') {
        // An error answer that never ends: 16 KiB every 5 ms, until the connection closes.
        res.writeHead(422, { 'content-type': 'application/json' });
        res.write('{"status":"error","errorType":"execution","error":"');
        const timer = setInterval(() => res.write('x'.repeat(16_384)), 5);
        heldClosed = once(res, 'close');
        res.once('close', () => clearInterval(timer));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      if (mode === 'big') {
        res.end(BIG);
        return;
      }
      res.write(HEAD);
      if (mode === 'die') {
        setTimeout(() => res.destroy(), 20);
        return;
      }
      held = res;
      heldClosed = once(res, 'close');
    });
  });
  const engine = useStandInEngine(server);
  const backend = (c = engine.client()) => standInBackend(c);
  const request = (): ReadRequest => ({ tenant: TENANT, now: Date.now(), params: new Map([['query', ['up']], ['start', ['1700000000']], ['end', ['1700000600']], ['step', ['15']]]) });

  it('the first bytes are passed on while the engine is still writing; the rest follows', async () => {
    mode = 'hold';
    const body = (await within(backend().range(request()), 5000, 'the answer\'s head')) as AsyncIterable<Buffer>;
    const it = body[Symbol.asyncIterator]();
    const first = await within(it.next(), 5000, 'the first chunk');
    assert.equal(first.done, false);
    assert.equal(first.value.toString('utf8'), HEAD, 'the head arrived before the engine finished');
    assert.ok(held && !held.writableEnded, 'the engine is still writing');
    held.end(TAIL);
    let rest = '';
    for (let r = await within(it.next(), 5000, 'the rest'); !r.done; r = await within(it.next(), 5000, 'the rest')) rest += r.value.toString('utf8');
    assert.equal(rest, TAIL);
  });

  it('gzip: asked only for a caller that accepts it; the engine\'s compressed bytes pass on as they are; a compressed error is read; an encoding nobody asked for is refused', async () => {
    const bytesOf = async (body: AsyncIterable<Buffer>) => {
      const parts: Buffer[] = [];
      for await (const c of body) parts.push(c);
      return Buffer.concat(parts);
    };
    mode = 'gzip';
    const gz = await within(backend().range({ ...request(), acceptsGzip: true }), 5000, 'the gzip answer');
    assert.equal(acceptEncoding, 'gzip');
    assert.ok(typeof gz === 'object' && 'gzip' in gz, 'a compressed answer, marked so');
    const bytes = await bytesOf(gz.gzip);
    assert.equal(bytes.subarray(0, 2).toString('hex'), '1f8b');
    assert.match(gunzipSync(bytes).toString('utf8'), /^\{"status":"success".*"up"/);
    const plain = await within(backend().range(request()), 5000, 'the plain answer');
    assert.equal(acceptEncoding, 'identity', 'a caller that does not accept gzip: the engine is asked for identity');
    assert.ok(!(typeof plain === 'object' && 'gzip' in plain));
    assert.match((await bytesOf(plain as AsyncIterable<Buffer>)).toString('utf8'), /^\{"status":"success"/);
    // Labels and label values without a limit pass through compressed too; with a limit (read, cut) they are asked for identity.
    for (const [name, read] of [
      ['labels', (gz: boolean, limit?: string) => backend().labelNames({ tenant: TENANT, now: Date.now(), params: new Map(limit ? [['limit', [limit]]] : []), acceptsGzip: gz })],
      ['label values', (gz: boolean, limit?: string) => backend().labelValues({ tenant: TENANT, now: Date.now(), params: new Map(limit ? [['limit', [limit]]] : []), acceptsGzip: gz }, 'job')],
    ] as const) {
      const zipped = await within(read(true), 5000, name);
      assert.equal(acceptEncoding, 'gzip', name);
      assert.ok(typeof zipped === 'object' && 'gzip' in zipped, `${name}: a compressed answer, marked so`);
      assert.match(gunzipSync(await bytesOf(zipped.gzip)).toString('utf8'), /^\{"status":"success"/, name);
      await within(Promise.resolve(read(true, '5')).then(async (b) => bytesOf(b as AsyncIterable<Buffer>)).catch(() => undefined), 5000, name);
      assert.equal(acceptEncoding, 'identity', `${name} with a limit: asked for identity`);
      await within(Promise.resolve(read(false)).then(async (b) => bytesOf(b as AsyncIterable<Buffer>)), 5000, name);
      assert.equal(acceptEncoding, 'identity', `${name}: a caller that does not accept gzip`);
    }
    mode = 'gzip-error';
    await assert.rejects(within(backend().range({ ...request(), acceptsGzip: true }), 5000, 'the gzip error'), (err: unknown) => {
      assert.ok(err instanceof ProbectlError && err.code === 'PROBECTL_ERR_METRICS_UPSTREAM_REFUSED', String(err));
      assert.match(err.message, /many-to-many matching not allowed/, 'the compressed message was read');
      assert.ok(!err.message.includes('secret-job'), 'and its label sets elided');
      return true;
    });
    mode = 'brotli';
    await assert.rejects(within(backend().range({ ...request(), acceptsGzip: true }), 5000, 'the brotli answer'), (err: unknown) => err instanceof ProbectlError && err.code === 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE' && /content encoding probectl did not ask for/.test(err.message));
  });

  it('a 2xx answer compressed although identity was asked is refused, never passed on as gzip to a caller that does not accept it', async () => {
    mode = 'gzip-always';
    const answer = await within(backend().range(request()), 5000, 'the answer').then((a) => a, (err: unknown) => err);
    assert.equal(acceptEncoding, 'identity');
    assert.ok(!(typeof answer === 'object' && answer !== null && 'gzip' in answer), 'no gzip body for a caller that did not accept gzip');
    assert.ok(answer instanceof ProbectlError && answer.code === 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE' && /content encoding probectl did not ask for/.test(answer.message), String(answer));
    // The buffered calls (labels, label values, series) never ask for gzip either: compressed bytes are not passed on as JSON.
    const labels = await within(Promise.resolve(backend().labelNames({ tenant: TENANT, now: Date.now(), params: new Map() })), 5000, 'the labels answer').then((a) => a, (err: unknown) => err);
    assert.ok(labels instanceof ProbectlError && labels.code === 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE' && /content encoding probectl did not ask for/.test(labels.message), `labels: ${Buffer.isBuffer(labels) ? labels.subarray(0, 2).toString('hex') : String(labels)}`);
    // A remote-write's 2xx body is never read: its encoding does not fail the write.
    assert.equal((await within(engine.client().write(TENANT, Buffer.from('unread')), 5000, 'the write')).status, 200);
  });

  it('a compressed error: a long one keeps its message (the first MiB decoded), a gzip bomb is cut quickly, a credential inside is redacted', async () => {
    const refused = (c = engine.client()) => within(backend(c).range({ ...request(), acceptsGzip: true }), 5000, 'the gzip error').then(() => assert.fail('not refused'), (err: unknown) => err as ProbectlError);
    mode = 'gzip-long-error';
    gzipped = gzipSync(`{"status":"error","errorType":"execution","error":"out of bounds: ${'y'.repeat(3 * 1_048_576)}"}`);
    let err = await refused();
    assert.equal(err.code, 'PROBECTL_ERR_METRICS_UPSTREAM_REFUSED');
    assert.match(err.message, /refused the query: .*out of bounds: yyy/, 'the start of a message longer than the decoded bound is kept');
    mode = 'gzip-bomb-error';
    gzipped = gzipSync(Buffer.alloc(256 * 1_048_576, 'z'), { level: 9 });
    const started = process.hrtime.bigint();
    const before = process.memoryUsage().arrayBuffers;
    err = await refused();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(err.code, 'PROBECTL_ERR_METRICS_UPSTREAM_REFUSED');
    assert.ok(ms < 2000, `decoding stopped at the bound (${ms} ms)`);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1_048_576, 'no inflated body held');
    mode = 'gzip-credential-error';
    const secret = 'bearer-secret-0123456789';
    gzipped = gzipSync(`{"status":"error","errorType":"bad_data","error":"invalid token ${secret} for org"}`);
    const withToken = new UpstreamClient({ ...engine.client().settings, token: { kind: 'literal', value: secret } as never }, { use: async (_ref, fn) => fn(Buffer.from(secret)) as never });
    try {
      err = await refused(withToken);
      assert.match(err.message, /invalid token \[redacted\] for org/);
      assert.ok(!err.message.includes(secret));
    } finally {
      await withToken.close();
    }
  });

  it('a reader that stops early releases the engine\'s connection', async () => {
    mode = 'hold';
    const body = (await within(backend().range(request()), 5000, 'the answer\'s head')) as AsyncIterable<Buffer>;
    for await (const chunk of body) {
      assert.equal(chunk.toString('utf8'), HEAD);
      break;
    }
    await within(heldClosed, 5000, 'the engine\'s connection closed');
  });

  it('an error answer is read only as far as its message needs: one that never ends is refused at once, its connection dropped', async () => {
    mode = 'endless-error';
    const started = Date.now();
    await assert.rejects(within(backend().range(request()), 4000, 'the error'), (err: unknown) => err instanceof ProbectlError && err.code === 'PROBECTL_ERR_METRICS_UPSTREAM_REFUSED');
    assert.ok(Date.now() - started < 4000);
    await within(heldClosed, 5000, 'the engine\'s connection closed');
  });

  it('an error answer trickling without end is cut at PROBECTL_METRICS_UPSTREAM_TIMEOUT (the deadline of a streamed call ends with its headers, not for its error): timeout, its connection dropped', async (t) => {
    mode = 'trickle-error';
    const quick = new UpstreamClient({ ...engine.client().settings, timeoutMs: 500 }, { use: async () => { throw new Error('no credentials here'); } });
    // Bounded: a client closes only once its calls ended (the suite's end drops the engine's connections).
    t.after(() => within(quick.close(), 3000, 'the client closed').catch(() => undefined));
    const started = Date.now();
    await assert.rejects(within(backend(quick).range(request()), 4000, 'the error'), (err: unknown) => err instanceof ProbectlError && err.code === 'PROBECTL_ERR_METRICS_UPSTREAM_TIMEOUT');
    assert.ok(Date.now() - started < 2000, `answered after ${Date.now() - started} ms`);
    await within(heldClosed, 2000, 'the engine\'s connection closed');
  });

  it('a slow reader gets the whole answer: the engine\'s deadline ends with the headers, the body only has to keep coming', async (t) => {
    mode = 'big';
    const quick = new UpstreamClient({ ...engine.client().settings, timeoutMs: 300 }, { use: async () => { throw new Error('no credentials here'); } });
    t.after(() => quick.close());
    const body = (await within(backend(quick).range(request()), 5000, 'the answer\'s head')) as AsyncIterable<Buffer>;
    const started = Date.now();
    let size = 0;
    let stalls = 0;
    await within((async () => {
      for await (const chunk of body) {
        // The reader stalls past the 300 ms deadline, twice, while the engine has long finished writing.
        if (size === 0 || (size > 4 * 1_048_576 && stalls < 2)) {
          stalls += 1;
          await new Promise((r) => setTimeout(r, 700));
        }
        size += chunk.length;
      }
    })(), 20_000, 'the whole answer');
    assert.equal(size, Buffer.byteLength(BIG));
    assert.ok(Date.now() - started > 600);
  });

  it('a reader that stops before its first read, or while a read waits on a silent engine, drops the engine\'s connection at once', async () => {
    mode = 'hold';
    const unread = (await within(backend().range(request()), 5000, 'the answer\'s head')) as AsyncIterable<Buffer>;
    await unread[Symbol.asyncIterator]().return?.();
    await within(heldClosed, 1000, 'the unread answer\'s connection closed');
    const waiting = (await within(backend().range(request()), 5000, 'the answer\'s head')) as AsyncIterable<Buffer>;
    const it = waiting[Symbol.asyncIterator]();
    assert.equal(String((await within(it.next(), 5000, 'the head')).value), HEAD);
    const pending = assert.rejects(it.next()); // the engine sends nothing more
    const stopped = assert.rejects(Promise.resolve(it.throw?.(new Error('the reader went away'))));
    await within(heldClosed, 1000, 'the connection of the answer waited on closed');
    await within(pending, 1000, 'the waiting read ended');
    await within(stopped, 1000, 'the stop');
  });

  it('an engine dying mid-body ends the stream with the engine-unavailable error', async () => {
    mode = 'die';
    const body = (await within(backend().range(request()), 5000, 'the answer\'s head')) as AsyncIterable<Buffer>;
    await assert.rejects(within((async () => {
      for await (const _ of body) { /* read */ }
    })(), 5000, 'the stream\'s end'), (err: unknown) => err instanceof ProbectlError && err.code === 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE');
  });
});
