// Engine faults in upstream mode that other upstream tests do not cover: one tenant's forwarded
// remote-writes hanging at the engine must not take the connections every other tenant's calls need.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, it, type TestContext } from 'node:test';
import { withoutQuoted } from '../../src/federation/upstream/backend.ts';
import { engineMessage, MAX_UPSTREAM_ERROR_BYTES, UpstreamClient } from '../../src/federation/upstream/client.ts';
import { checkUpstream } from '../../src/federation/upstream/check.ts';
import { ProbectlError } from '../../src/core/errors.ts';
import { startTestApp, tenantWithToken, type TestApp } from '../helpers/app.ts';
import { encodeWriteRequest, form, REMOTE_WRITE_HEADERS, remoteWrite } from '../helpers/remote-write.ts';
import { MIMIR_AUTH, mimirUpstreamEnv, startMimir, type MimirStandIn } from './servers/mimir.ts';
import { plainUpstreamClient, pumpAnswer, type PumpProgress, standInBackend, useStandInEngine } from './servers/plain-client.ts';

const G = '/v1/grafana/api/v1';
/** The tenant of the backend-level tests (no database behind them). */
const TENANT = '00000000-0000-4000-8000-00000000abcd';

/**
 * A stand-in engine answering the cardinality guard's series calls with no series (so every read
 * is forwarded) and every other request, its body read, with `answer`.
 */
function guardedEngine(answer: (req: IncomingMessage, res: ServerResponse) => void): Server {
  return createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.endsWith('/api/v1/series')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":[]}');
        return;
      }
      answer(req, res);
    });
  });
}

/** A pino logger keeping its lines (parsed) in `lines`. */
function capture() {
  const lines: Array<{ level: number; msg: string; tenant?: string; reason?: string; alike_since_last?: number }> = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _enc, done) { for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l)); done(); } }));
  return { lines, log };
}
async function standIn(t: TestContext, extra: Record<string, string>): Promise<{ mimir: MimirStandIn; app: TestApp }> {
  const dir = mkdtempSync(join(tmpdir(), 'probectl-upstream-faults-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mimir = await startMimir({ authorization: MIMIR_AUTH });
  t.after(() => mimir.close());
  const app = await startTestApp(await mimirUpstreamEnv(mimir, dir, extra));
  t.after(() => app.close());
  return { mimir, app };
}

describe('metrics upstream mode: remote-writes hanging at the engine', () => {
  it('one tenant\'s hanging remote-writes leave another tenant\'s query and remote-write their connections', async (t) => {
    const { mimir, app } = await standIn(t, { PROBECTL_METRICS_UPSTREAM_TIMEOUT: '6s' });
    const a = await tenantWithToken(app, 'w-a', ['metrics-write']);
    const b = await tenantWithToken(app, 'w-b', ['metrics-read', 'metrics-write']);
    const now = Date.now() - 5000;
    mimir.hangOrg(a.id);
    // A Prometheus sender runs up to 50 shards at once (queue_config.max_shards).
    const hanging = Array.from({ length: 50 }, (_, i) => remoteWrite(app, a.token, [{ labels: { __name__: 'hang_metric', shard: String(i) }, samples: [[now, 1]] }]));
    try {
      const deadline = Date.now() + 4000;
      while (mimir.hung < 32 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const t0 = Date.now();
      const [q, w] = await Promise.all([
        app.request('GET', `${G}/query?${form({ query: 'up{job="x"}' })}`, { token: b.token }),
        remoteWrite(app, b.token, [{ labels: { __name__: 'fine_metric' }, samples: [[now, 1]] }]),
      ]);
      assert.equal(q.status, 200, q.text);
      assert.equal(w.status, 204, w.text);
      assert.ok(Date.now() - t0 < 3000, `tenant b waited ${Date.now() - t0} ms behind tenant a's writes`);
      assert.ok(mimir.hung <= 16, `tenant a holds ${mimir.hung} connections to the engine`);
    } finally {
      mimir.hangOrg(undefined);
    }
    // Each of tenant a's writes is answered 503 + Retry-After (the sender retries) within the deadline, waiting or not.
    for (const r of await Promise.all(hanging)) {
      assert.ok([204, 503].includes(r.status), r.text);
      if (r.status === 503) {
        assert.equal(r.headers['retry-after'], '5');
        assert.match(r.json.message, /^remote-write timed out/);
      }
    }
  });
});

describe('metrics upstream mode: more query slots than connections', () => {
  it('a tenant holding its share of PROBECTL_METRICS_MAX_CONCURRENT_QUERIES at a hanging engine leaves another tenant\'s query a connection', async (t) => {
    // 80 slots, 40 of them one tenant's: more than the 32 connections a client kept before.
    const { mimir, app } = await standIn(t, { PROBECTL_METRICS_UPSTREAM_TIMEOUT: '6s', PROBECTL_METRICS_MAX_CONCURRENT_QUERIES: '80', PROBECTL_METRICS_QUERY_TIMEOUT: '20s' });
    const a = await tenantWithToken(app, 'r-a', ['metrics-read']);
    const b = await tenantWithToken(app, 'r-b', ['metrics-read']);
    mimir.hangOrg(a.id);
    const hanging = Array.from({ length: 40 }, (_, i) => app.request('GET', `${G}/query?${form({ query: `up{job="${i}"}` })}`, { token: a.token }));
    try {
      const deadline = Date.now() + 4000;
      while (mimir.hung < 34 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(mimir.hung > 32, `only ${mimir.hung} of tenant a's queries reached the engine`);
      const t0 = Date.now();
      const q = await app.request('GET', `${G}/query?${form({ query: 'up{job="x"}' })}`, { token: b.token });
      assert.equal(q.status, 200, q.text);
      assert.ok(Date.now() - t0 < 3000, `tenant b waited ${Date.now() - t0} ms for a connection`);
    } finally {
      mimir.hangOrg(undefined);
    }
    for (const r of await Promise.all(hanging)) assert.ok([200, 503].includes(r.status), r.text);
  });
});

describe('metrics upstream mode: a sender that goes away before the engine answers', () => {
  const server = createServer((req) => {
    req.resume(); // never answered
  });
  const engine = useStandInEngine(server, { timeoutMs: 10_000 });

  it('is logged as the sender\'s cancellation (info), not as the engine unavailable (error)', async () => {
    const { lines, log } = capture();
    const backend = engine.backend({ log });
    const sender = new AbortController();
    setTimeout(() => sender.abort(), 200);
    const answer = await backend.write({ tenant: TENANT, now: Date.now(), contentType: REMOTE_WRITE_HEADERS['content-type'], contentEncoding: 'snappy', body: encodeWriteRequest([{ labels: { __name__: 'x' }, samples: [[Date.now(), 1]] }]), signal: sender.signal });
    assert.equal(answer.status, 503);
    assert.deepEqual(lines.filter((l) => l.level >= 50), [], 'no error line');
    assert.ok(lines.some((l) => l.level === 30 && /remote-write cancelled: the sender went away/.test(l.msg)), JSON.stringify(lines));
  });
});

describe('metrics upstream mode: a remote-write answered 2xx with a body that does not end', () => {
  let sent: PumpProgress = { written: 0, ended: false };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // Stored, then a body as fast as the reader takes it, without end.
      res.writeHead(200, { 'content-type': 'text/plain' });
      sent = pumpAnswer(res, '', Buffer.alloc(65_536, 0x20), Infinity, '');
    });
  });
  const engine = useStandInEngine(server, { timeoutMs: 10_000 });

  it('is stored (204) once its head is read: never read to the answer cap or the deadline', async () => {
    const backend = engine.backend();
    const started = Date.now();
    const answer = await backend.write({ tenant: TENANT, now: Date.now(), contentType: REMOTE_WRITE_HEADERS['content-type'], contentEncoding: 'snappy', body: encodeWriteRequest([{ labels: { __name__: 'x' }, samples: [[Date.now(), 1]] }]) });
    assert.equal(answer.status, 204, String(answer.body));
    assert.ok(Date.now() - started < 5000, `answered after ${Date.now() - started} ms`);
    assert.ok(sent.written < 16 * 1_048_576, `probectl read ${(sent.written / 1e6).toFixed(0)} MB of an answer nobody reads`);
  });
});

describe('metrics upstream mode: the engine\'s error message is cleaned in linear time', () => {
  it('a MiB of name characters, name-and-digit runs or a bracket of `=` is cleaned in well under a second, pairs still elided', () => {
    const n = MAX_UPSTREAM_ERROR_BYTES - 64;
    for (const text of ['a'.repeat(n), 'a1'.repeat(n / 2), `[${'=a'.repeat(n / 2)}`, `${'x'.repeat(n / 2)} 9job="secret" metric[job=secret]`]) {
      const started = performance.now();
      const message = engineMessage(Buffer.from(JSON.stringify({ status: 'error', errorType: 'execution', error: text })));
      const ms = performance.now() - started;
      assert.ok(ms < 1000, `${text.slice(0, 12)}…: ${Math.round(ms)} ms holding the event loop`);
      assert.ok(!message.includes('secret'), message);
    }
  });
});

describe('metrics upstream mode: limit on labels and label values against an engine that ignores it', () => {
  // Prometheus before 2.51 answers every value whatever `limit` says: a label of unique ids is
  // hundreds of megabytes, which parsed whole to cut it would exhaust serve's 192 MiB heap.
  const CAP = 64 * 1_048_576;
  const piece = Buffer.from(`"value-${'x'.repeat(30)}",`.repeat(1000));
  let answer: PumpProgress = { written: 0, ended: false };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      answer = pumpAnswer(res, '{"status":"success","data":["first","second",', piece, CAP, '"last"],"warnings":["an engine warning"]}');
    });
  });
  const engine = useStandInEngine(server, { timeoutMs: 20_000 });

  it('cuts the answer as it arrives: the first `limit` entries, a bounded read', async () => {
    const backend = engine.backend();
    const request = { tenant: TENANT, now: Date.now(), params: new Map([['limit', ['2']]]) };
    for (const read of [() => backend.labelValues(request, 'id'), () => backend.labelNames(request)]) {
      const body = JSON.parse(String(await read()));
      assert.deepEqual(body, { status: 'success', data: ['first', 'second'], warnings: ['results truncated due to limit'] });
      assert.equal(answer.ended, false, `the engine's whole answer (${(answer.written / 1e6).toFixed(0)} MB) was read to cut it to 2 entries`);
      assert.ok(answer.written < 16 * 1_048_576, `the engine wrote ${(answer.written / 1e6).toFixed(0)} MB before probectl stopped reading`);
    }
  });

  it('without a limit, passes the answer on as it arrives: never held whole', async () => {
    const backend = engine.backend();
    const request = { tenant: TENANT, now: Date.now(), params: new Map<string, string[]>() };
    for (const read of [() => backend.labelValues(request, 'id'), () => backend.labelNames(request)]) {
      const body = await read();
      assert.ok(typeof body === 'object' && Symbol.asyncIterator in body, 'an answer read as it arrives');
      const chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      const first = await chunks.next();
      assert.match(String(first.value), /^\{"status":"success","data":\["first","second",/);
      assert.equal(answer.ended, false, `the engine's whole answer (${(answer.written / 1e6).toFixed(0)} MB) was read before the first bytes were passed on`);
      await chunks.return?.();
    }
  });
});

describe('metrics upstream mode: limit on labels and label values against an engine answering what is not a list of strings', () => {
  // An answer that is not a list of label names or values is passed on unchanged, as one within the limit
  // is — never cut into a list the engine did not send (an object's values, "null", "1", "a,b").
  let answer = '';
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answer);
    });
  });
  const engine = useStandInEngine(server, { timeoutMs: 10_000 });

  it('passes such an answer on as the engine sent it', async () => {
    const backend = engine.backend();
    const request = { tenant: TENANT, now: Date.now(), params: new Map([['limit', ['1']]]) };
    for (const body of ['{"status":"success","data":{"a":"x","b":"y"}}', '{"status":"success","data":[null,"b"]}', '{"status":"success","data":[1,"b"]}', '{"status":"success","data":[["a","b"],"c"]}']) {
      answer = body;
      for (const read of [() => backend.labelValues(request, 'id'), () => backend.labelNames(request)]) {
        assert.equal(String(await read()), body);
      }
    }
  });
});

describe('metrics upstream mode: remote-writes the engine does not take, logged at most once per 10 s', () => {
  const write = (backend: ReturnType<typeof standInBackend>, tenant: string, k: number) => backend.write({ tenant, now: Date.now(), contentType: REMOTE_WRITE_HEADERS['content-type'], contentEncoding: 'snappy', body: encodeWriteRequest([{ labels: { __name__: `m${k}` }, samples: [[Date.now() - k, 1]] }]) });
  let refusals = 0;
  // Mimir's refusals name the sample's timestamp and series: every batch of a sender writing out of order reads differently.
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      refusals += 1;
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`the sample has been rejected because another sample with a more recent timestamp has already been ingested (err-mimir-sample-out-of-order). The affected sample has timestamp 2026-12-02T04:${String(refusals % 60).padStart(2, '0')}:00.${refusals}Z and is from series m${refusals}{tenant_id="x"}, value: 'sekret-${refusals}'`);
    });
  });
  const engine = useStandInEngine(server);

  it('refusals whose engine text differs every time are one line per tenant, not one per batch', async () => {
    const { lines, log } = capture();
    const client = plainUpstreamClient(engine.port(), 5000, log);
    try {
      const backend = standInBackend(client, { log });
      for (let k = 0; k < 20; k++) {
        await assert.rejects(write(backend, TENANT, k), (err: Error & { status?: number }) => err.status === 400);
      }
      await assert.rejects(write(backend, '00000000-0000-4000-8000-00000000abce', 0), (err: Error & { status?: number }) => err.status === 400);
      const warned = lines.filter((l) => l.msg === 'remote-write refused by the metrics engine');
      assert.deepEqual(warned.map((l) => l.tenant), [TENANT, '00000000-0000-4000-8000-00000000abce'], JSON.stringify(warned));
      assert.match(warned[0]?.reason ?? '', /err-mimir-sample-out-of-order/);
      assert.doesNotMatch(JSON.stringify(warned), /sekret/, 'the batch\'s label value quoted by the engine is not logged');
    } finally {
      await client.close();
    }
  });

  it('a refusal\'s reason is logged without what the engine quotes of the batch (label names, values, series); the sender still hears it whole', () => {
    const reason = 'the metrics engine refused the remote-write: received a series whose label value length exceeds the limit, label: \'session\', value: \'Bearer eyJhbGciOiJIUzI1NiJ9.sekret\' (truncated) series: \'http_requests_total{…}\' (err-mimir-label-value-too-long)';
    assert.equal(withoutQuoted(reason), 'the metrics engine refused the remote-write: received a series whose label value length exceeds the limit, label: \'…\', value: \'…\' (truncated) series: \'…\' (err-mimir-label-value-too-long)');
    assert.equal(withoutQuoted('invalid label name "password_hunter2" isn\'t allowed, sample\'s `x`; cut \'abc'), 'invalid label name "…" isn\'t allowed, sample\'s `…`; cut \'…\'');
  });

  it('an engine that cannot be reached: one line per 10 s, not a line from the client for every retry', async () => {
    const { lines, log } = capture();
    // A port nothing listens on (the stand-in's, closed for this client: a fresh server bound and released).
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closed = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const client = plainUpstreamClient(closed, 5000, log);
    try {
      const backend = standInBackend(client, { log });
      for (let k = 0; k < 10; k++) assert.equal((await write(backend, TENANT, k)).status, 503);
      const logged = lines.filter((l) => l.level >= 40);
      assert.ok(logged.length <= 2, `${logged.length} lines for 10 retries: ${JSON.stringify(logged.map((l) => l.msg))}`);
      assert.ok(logged.some((l) => l.msg === 'remote-write not forwarded: the metrics engine is unavailable; the sender retries' && /unreachable/.test(l.reason ?? '')), JSON.stringify(logged));
    } finally {
      await client.close();
    }
  });
});

describe('metrics upstream mode: labels and label values without limit, passed on as they arrive, against a failing engine', () => {
  let mode: 'cut' | 'stall' | 'gzip' = 'cut';
  const asked: string[] = [];
  let answering = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      asked.push(decodeURIComponent(`${req.url ?? ''} ${body}`));
      answering += 1;
      res.on('close', () => { answering -= 1; });
      if (mode === 'gzip') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync('{"status":"success","data":["a"]}'));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":"success","data":["a",');
      if (mode === 'cut') setTimeout(() => res.destroy(), 50);
    });
  });
  const engine = useStandInEngine(server, { timeoutMs: 1000 });
  const tenant = TENANT;
  const drain = async (body: unknown): Promise<string> => {
    const parts: Buffer[] = [];
    for await (const c of body as AsyncIterable<Buffer>) parts.push(c);
    return Buffer.concat(parts).toString('utf8');
  };

  it('an answer cut or stalled mid-way fails the read (never a short answer that looks whole), within the deadline; the tenant matcher is still forced; nothing stays open', async () => {
    const backend = engine.backend();
    for (const [m, code] of [['cut', 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE'], ['stall', 'PROBECTL_ERR_METRICS_UPSTREAM_TIMEOUT']] as const) {
      mode = m;
      for (const read of [() => backend.labelValues({ tenant, now: Date.now(), params: new Map() }, 'id'), () => backend.labelNames({ tenant, now: Date.now(), params: new Map() })]) {
        const started = Date.now();
        await assert.rejects(async () => drain(await read()), (err: Error & { code?: string }) => err.code === code, m);
        assert.ok(Date.now() - started < 4_000, `${m}: failed after ${Date.now() - started} ms`);
      }
    }
    assert.ok(asked.length >= 4 && asked.every((a) => a.includes(`match[]={tenant_id="${tenant}"}`)), JSON.stringify(asked));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(answering, 0, 'an engine answer still open');
  });

  it('a gzip answer probectl did not ask for is refused, not passed on as JSON', async () => {
    mode = 'gzip';
    const backend = engine.backend();
    await assert.rejects(backend.labelNames({ tenant, now: Date.now(), params: new Map() }), /content encoding probectl did not ask for/);
  });
});

describe('metrics upstream mode: a 2xx answer that is not the engine API\'s (a proxy\'s HTML page)', () => {
  // html: every answer a proxy's sign-in page; right: JSON for the API, text/plain for federate;
  // untyped: the same without a Content-Type; federate-json: federate answered in JSON.
  let mode: 'html' | 'right' | 'untyped' | 'federate-json' | 'bad-path' = 'html';
  const accepts: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      accepts.push(`${path} ${req.headers.accept ?? ''}`);
      const federate = path === '/federate' && mode !== 'federate-json';
      if (mode === 'bad-path') res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`unsupported path requested: "${path}"\n`);
      else if (mode === 'html') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<html><body>Please sign in</body></html>');
      else if (federate) res.writeHead(200, mode === 'untyped' ? {} : { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(`up{tenant_id="${TENANT}",job="a"} 1 1700000000000\n`);
      else res.writeHead(200, mode === 'untyped' ? {} : { 'content-type': 'application/json' }).end(path === '/api/v1/series' ? `{"status":"success","data":[{"__name__":"up","tenant_id":"${TENANT}"}]}` : '{"status":"success","data":["a"]}');
    });
  });
  const log = capture();
  let logged: ReturnType<typeof plainUpstreamClient> | undefined;
  const e = useStandInEngine(server, { beforeClose: () => { void logged?.close(); } });
  const req = (params: Record<string, string[]>) => ({ tenant: TENANT, now: Date.now(), params: new Map(Object.entries(params)) });
  const read = async (p: unknown): Promise<string> => {
    const v = await p;
    if (typeof v === 'string') return v;
    if (Buffer.isBuffer(v)) return v.toString('utf8');
    const parts: Buffer[] = [];
    for await (const c of v as AsyncIterable<Buffer>) parts.push(c);
    return Buffer.concat(parts).toString('utf8');
  };

  it('every read is refused 503 unavailable, the page never passed on as JSON or exposition, one warning per call and type', async () => {
    logged = plainUpstreamClient(e.port(), 5000, log.log);
    const backend = e.backend({ client: logged, maxSeries: 100_000 });
    mode = 'html';
    const calls: Array<[string, () => unknown]> = [
      ['query', () => backend.instant(req({ query: ['up'] }))],
      ['query_range', () => backend.range(req({ query: ['up'], start: ['1700000000'], end: ['1700000600'], step: ['15'] }))],
      ['labels', () => backend.labelNames(req({}))],
      ['labels with limit', () => backend.labelNames(req({ limit: ['5'] }))],
      ['label values', () => backend.labelValues(req({}), 'job')],
      ['label values with limit', () => backend.labelValues(req({ limit: ['5'] }), 'job')],
      ['series', () => backend.series(req({ 'match[]': ['up'] }))],
      ['federate', () => backend.federate(req({ 'match[]': ['up'] }))],
    ];
    for (const [name, call] of calls) {
      for (let i = 0; i < 2; i++) {
        await assert.rejects(read(call()), (err: unknown) => {
          assert.ok(err instanceof ProbectlError, `${name}: ${String(err)}`);
          assert.equal(err.code, 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', name);
          assert.match(err.message, /answered the .* with text\/html, not (the Prometheus API's JSON|the text exposition format)/, name);
          assert.ok(!err.message.includes('sign in'), name);
          return true;
        }, name);
      }
    }
    const warned = log.lines.filter((l) => /content type that is not the engine API's/.test(l.msg));
    assert.ok(warned.length >= 3 && warned.length < calls.length, `one warning per call and type, not per request: ${warned.length}`);
  });

  it('the right types pass: JSON (also without a Content-Type) for the API, text/plain for federate; label values ask for JSON', async () => {
    const backend = e.backend({ maxSeries: 100_000 });
    for (const m of ['right', 'untyped'] as const) {
      mode = m;
      assert.equal(await read(backend.labelValues(req({}), 'job')), '{"status":"success","data":["a"]}', m);
      assert.ok(accepts.at(-1)?.endsWith(' application/json'), accepts.at(-1));
      assert.equal(await read(backend.labelNames(req({}))), '{"status":"success","data":["a"]}', m);
      assert.match(await read(backend.federate(req({ 'match[]': ['up'] }))), /^up\{.*job="a"/m, m);
    }
    // federate's answer in JSON is not the exposition format either.
    mode = 'federate-json';
    await assert.rejects(read(backend.federate(req({ 'match[]': ['up'] }))), /with application\/json, not the text exposition format/);
  });

  it('startup refuses an engine answering its query API with another status (VictoriaMetrics: 400 for an unknown path), naming the variable and the engine\'s words', async () => {
    mode = 'bad-path';
    await assert.rejects(checkUpstream(e.client(), TENANT), (err: Error) => {
      assert.match(err.message, /the Prometheus-compatible query API at PROBECTL_METRICS_UPSTREAM_URL answered HTTP 400 \(unsupported path requested: .*\/api\/v1\/query.*\): check PROBECTL_METRICS_UPSTREAM_URL/);
      return true;
    });
  });

  it('startup names an https:// URL of a plain-HTTP port as such, not as a certificate to trust', async () => {
    mode = 'right';
    const tls = new UpstreamClient({ ...e.client().settings, url: new URL(`https://127.0.0.1:${e.port()}`), writeUrl: new URL(`https://127.0.0.1:${e.port()}/api/v1/write`) }, { use: async () => { throw new Error('no credentials here'); } });
    try {
      await assert.rejects(checkUpstream(tls, TENANT), (err: Error) => {
        assert.match(err.message, /\(PROBECTL_METRICS_UPSTREAM_URL\): the metrics engine is unavailable \(no TLS at that address: is it plain http:\/\/\?\)/);
        assert.doesNotMatch(err.message, /CA_FILE|verification/);
        return true;
      });
    } finally {
      await tls.close();
    }
  });

  it('startup refuses an engine URL answering HTML, saying so', async () => {
    mode = 'html';
    await assert.rejects(checkUpstream(e.client(), TENANT), (err: Error) => {
      assert.match(err.message, /metrics upstream check failed: the query API at http:\/\/127\.0\.0\.1:\d+ \(PROBECTL_METRICS_UPSTREAM_URL\): the metrics engine answered the query with text\/html/);
      return true;
    });
  });
});

describe('metrics upstream mode: reads answered with a 2xx other than 200', () => {
  // Prometheus answers its API (and /federate) 200; a 204 or 205 has no body, a 206 a part of one: passed on, the
  // caller got a 200 with an empty or partial body where it reads JSON.
  let status = 204;
  /** The series API answers 200 (the guard's count) but for the series read itself. */
  let seriesToo = false;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.endsWith('/api/v1/series') && !seriesToo) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":[]}');
        return;
      }
      if (status === 206) res.writeHead(206, { 'content-type': 'application/json', 'content-range': 'bytes 0-9/100' }).end('{"status":"');
      else res.writeHead(status).end();
    });
  });
  const engine = useStandInEngine(server, { timeoutMs: 5000 });
  const request = (params: Record<string, string>) => ({ tenant: TENANT, now: Date.now(), params: new Map(Object.entries(params).map(([k, v]) => [k, [v]])) });

  it('each is a Prometheus-shaped 503 unavailable naming the status, never an empty or partial 200', async () => {
    const backend = engine.backend();
    const reads: Array<[string, () => Promise<unknown>]> = [
      ['query', () => backend.instant(request({ query: 'up' }))],
      ['query_range', () => backend.range(request({ query: 'up', start: '1700000000', end: '1700003600', step: '60' }))],
      ['series', () => backend.series(request({ 'match[]': 'up' }))],
      ['labels', () => backend.labelNames(request({}))],
      ['labels with limit', () => backend.labelNames(request({ limit: '2' }))],
      ['label values', () => backend.labelValues(request({}), 'job')],
      ['label values with limit', () => backend.labelValues(request({ limit: '2' }), 'job')],
      ['federate', () => backend.federate(request({ 'match[]': 'up' }))],
    ];
    for (const s of [204, 205, 206]) {
      status = s;
      for (const [name, read] of reads) {
        seriesToo = name === 'series';
        await assert.rejects(read(), (err: Error & { code?: string; status?: number }) => {
          assert.equal(err.code, 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `${s} ${name}: ${err.message}`);
          assert.equal(err.status, 503);
          assert.match(err.message, new RegExp(`HTTP ${s}`));
          return true;
        }, `${s} ${name}`);
      }
    }
  });
});

describe('metrics upstream mode: a remote-write answered 2xx whose body trickles or breaks off', () => {
  // The status is the engine's answer: it took the batch. A body trickling (a byte every 100 ms, never silent long
  // enough for an idle timeout) or cut by a reset must not turn the write into a 503 at the deadline (the sender
  // then sends a stored batch again, and each of its writes holds a write slot for the whole deadline).
  let mode: 'trickle' | 'reset' = 'trickle';
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('stored');
      if (mode === 'reset') {
        setTimeout(() => res.socket?.resetAndDestroy(), 20);
        return;
      }
      const timer = setInterval(() => res.write('.'), 100);
      res.once('close', () => clearInterval(timer));
    });
  });
  const engine = useStandInEngine(server, { timeoutMs: 3000 });

  it('is stored (204) well within the deadline', async () => {
    const backend = engine.backend();
    for (const m of ['trickle', 'reset'] as const) {
      mode = m;
      const started = Date.now();
      const answer = await backend.write({ tenant: TENANT, now: Date.now(), contentType: REMOTE_WRITE_HEADERS['content-type'], contentEncoding: 'snappy', body: encodeWriteRequest([{ labels: { __name__: 'x' }, samples: [[Date.now(), 1]] }]), signal: AbortSignal.timeout(10_000) });
      assert.equal(answer.status, 204, `${m}: ${String(answer.body)}`);
      assert.ok(Date.now() - started < 2000, `${m}: answered after ${Date.now() - started} ms`);
    }
  });
});

describe('metrics upstream mode: limit on labels and label values against a large answer that is not a list', () => {
  // An answer that is not a list is passed on unchanged; read whole to do so, one of the 256 MiB an answer may
  // have was held in probectl for each such read at once.
  const CAP = 64 * 1_048_576;
  let answer: PumpProgress = { written: 0, ended: false };
  let shape: 'object' | 'string' = 'object';
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (shape === 'object') answer = pumpAnswer(res, '{"status":"success","data":{', Buffer.from('"key":"value-of-the-key",'.repeat(2000)), CAP, '"last":"x"}}');
      else answer = pumpAnswer(res, '{"status":"success","data":"', Buffer.alloc(65_536, 0x78), CAP, '"}');
    });
  });
  const engine = useStandInEngine(server, { timeoutMs: 20_000 });

  it('is refused 503 unavailable after a bounded read, never held whole', async () => {
    const backend = engine.backend();
    const request = { tenant: TENANT, now: Date.now(), params: new Map([['limit', ['2']]]) };
    for (const s of ['object', 'string'] as const) {
      shape = s;
      for (const [name, read] of [['label values', () => backend.labelValues(request, 'id')], ['labels', () => backend.labelNames(request)]] as const) {
        await assert.rejects(read(), (err: Error & { code?: string }) => err.code === 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE' && err.message.includes(name), `${s} ${name}`);
        assert.equal(answer.ended, false, `${s} ${name}: the engine's whole answer (${(answer.written / 1e6).toFixed(0)} MB) was read`);
        assert.ok(answer.written < 16 * 1_048_576, `${s} ${name}: the engine wrote ${(answer.written / 1e6).toFixed(0)} MB before probectl stopped reading`);
      }
    }
  });
});

describe('metrics upstream mode: a failing call is named in its error message', () => {
  // Labels, label values and federate passed on as they arrive were all "query" in their errors ("query timed out").
  const server = guardedEngine((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'br' }).end('x');
  });
  const engine = useStandInEngine(server, { timeoutMs: 5000 });
  const request = (params: Record<string, string>) => ({ tenant: TENANT, now: Date.now(), params: new Map(Object.entries(params).map(([k, v]) => [k, [v]])) });

  it('labels, label values and federate without limit say which call failed', async () => {
    const backend = engine.backend();
    for (const [name, read] of [['labels', () => backend.labelNames(request({}))], ['label values', () => backend.labelValues(request({}), 'job')], ['federate', () => backend.federate(request({ 'match[]': 'up' }))]] as const) {
      await assert.rejects(read(), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE');
        assert.match(err.message, new RegExp(`answered the ${name} with a content encoding`));
        return true;
      }, name);
    }
  });
});

describe('metrics upstream mode: an engine closing each keep-alive connection as its next request comes', () => {
  // A proxy or an engine closing an idle connection (its idle timeout) just as the next request comes on it, without
  // having said `Connection: close`: that request is reset before any answer, and the read was a 503 for the caller.
  // Here every connection is closed so at its second request, by a reset or (every other one) a FIN.
  let received = 0;
  let closed = 0;
  const served = new WeakSet<object>();
  const server = createServer((req, res) => {
    const socket = req.socket;
    if (served.has(socket)) {
      if (closed++ % 2 === 0) socket.resetAndDestroy();
      else socket.destroySoon();
      return;
    }
    served.add(socket);
    req.resume();
    req.on('end', () => {
      received += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url?.endsWith('/api/v1/series') ? '{"status":"success","data":[]}' : '{"status":"success","data":["a"]}');
    });
  });
  const engine = useStandInEngine(server, { timeoutMs: 5000 });
  const request = (params: Record<string, string>) => ({ tenant: TENANT, now: Date.now(), params: new Map(Object.entries(params).map(([k, v]) => [k, [v]])) });

  it('reads on a connection the engine closed are sent again on a new one: every read answered', async () => {
    const backend = engine.backend();
    const failures: string[] = [];
    for (let i = 0; i < 100; i++) {
      for (const read of [() => backend.labelNames(request({ limit: '5' })), () => backend.labelValues(request({ limit: '5' }), 'job'), () => backend.series(request({ 'match[]': 'up' })), () => backend.instant(request({ query: `up{job="${i}"}` }))]) {
        try {
          await read();
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of 400 reads failed (${received} requests reached the engine)`);
  });
});

describe('metrics upstream mode: a 2xx read answer that is an error, empty, or breaks off before its first byte', () => {
  // Passed on as they arrived, each was a 200 for the caller: a Prometheus error body under 200 (clients read an
  // "inconsistent body for response code"), an empty body where JSON is read, or a 200 whose body broke off at once.
  let mode: 'bad_data' | 'unavailable' | 'empty' | 'reset' | 'echo' | 'trickle' = 'bad_data';
  const server = guardedEngine((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (mode === 'trickle') {
      // An error under 200 that never ends, a byte every 100 ms.
      res.write('{"status":"error","errorType":"bad_data","error":"');
      const timer = setInterval(() => res.write('x'), 100);
      res.once('close', () => clearInterval(timer));
    } else if (mode === 'echo') {
      // In two writes, the second a while after the first, cut inside the credential: two chunks for probectl.
      const text = JSON.stringify({ status: 'error', errorType: 'bad_data', error: `bad request: authorization ${req.headers.authorization ?? ''}` });
      const cut = text.indexOf('sekret') + 9;
      res.write(text.slice(0, cut));
      setTimeout(() => res.end(text.slice(cut)), 50);
    }
    else if (mode === 'reset') {
      res.flushHeaders();
      setTimeout(() => res.socket?.resetAndDestroy(), 20);
    } else if (mode === 'empty') res.end();
    else res.end(JSON.stringify({ status: 'error', errorType: mode, error: `1:5: parse error near {job="secret-job"} (${mode})` }));
  });
  const engine = useStandInEngine(server, { timeoutMs: 5000 });
  const request = (params: Record<string, string>) => ({ tenant: TENANT, now: Date.now(), params: new Map(Object.entries(params).map(([k, v]) => [k, [v]])) });
  const drain = async (body: unknown): Promise<string> => {
    if (typeof body === 'string' || Buffer.isBuffer(body)) return String(body);
    const parts: Buffer[] = [];
    for await (const c of ('gzip' in (body as object) ? (body as { gzip: AsyncIterable<Buffer> }).gzip : body as AsyncIterable<Buffer>)) parts.push(c);
    return Buffer.concat(parts).toString('utf8');
  };

  it('is probectl\'s error before any byte is passed on: the engine\'s class and cleaned message for an error body, 503 unavailable otherwise', async () => {
    const backend = engine.backend();
    const json: Array<[string, () => Promise<unknown>]> = [
      ['query', () => backend.instant(request({ query: 'up' }))],
      ['query', () => backend.range(request({ query: 'up', start: '1700000000', end: '1700003600', step: '60' }))],
      ['labels', () => backend.labelNames(request({}))],
      ['labels', () => backend.labelNames(request({ limit: '2' }))],
      ['label values', () => backend.labelValues(request({}), 'job')],
      ['label values', () => backend.labelValues(request({ limit: '2' }), 'job')],
    ];
    for (const m of ['bad_data', 'unavailable', 'empty', 'reset'] as const) {
      mode = m;
      const reads = m === 'reset' ? [...json, ['federate', () => backend.federate(request({ 'match[]': 'up' }))] as [string, () => Promise<unknown>]] : json;
      for (const [name, read] of reads) {
        // Refused by the handler (never a body that fails while it is written).
        const outcome = await read().then((body) => drain(body).then((text) => `passed on: ${text}`, (err: Error) => `failed while passed on: ${err.message}`), (err: Error & { code?: string; status?: number }) => err);
        assert.ok(outcome instanceof Error, `${m} ${name}: ${String(outcome)}`);
        const err = outcome as Error & { code?: string; status?: number };
        if (m === 'bad_data') {
          assert.equal(err.code, 'PROBECTL_ERR_METRICS_UPSTREAM_REFUSED', `${m} ${name}: ${err.message}`);
          assert.equal(err.status, 400);
          assert.match(err.message, /parse error near \{…\}/);
          assert.doesNotMatch(err.message, /secret-job/);
        } else {
          assert.equal(err.code, 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `${m} ${name}: ${err.message}`);
          assert.equal(err.status, 503);
          if (m !== 'reset') assert.ok(err.message.includes(name), `${m} ${name}: ${err.message}`);
        }
      }
    }
  });

  it('an error body under 200 that trickles without end is cut at PROBECTL_METRICS_UPSTREAM_TIMEOUT: timeout', async () => {
    mode = 'trickle';
    const backend = engine.backend();
    const started = Date.now();
    await assert.rejects(backend.instant(request({ query: 'up' })), (err: Error & { code?: string }) => err.code === 'PROBECTL_ERR_METRICS_UPSTREAM_TIMEOUT');
    assert.ok(Date.now() - started < 8000, `answered after ${Date.now() - started} ms`);
  });

  it('an error body echoing probectl\'s credentials reaches the caller without them', async () => {
    mode = 'echo';
    const secret = 'sekret-engine-token-0123456789';
    const withToken = new UpstreamClient({ ...engine.client().settings, token: { scheme: 'literal', value: secret } }, { use: async (_ref, fn) => fn(Buffer.from(secret)) as never });
    try {
      const backend = standInBackend(withToken);
      for (const read of [() => backend.instant(request({ query: 'up' })), () => backend.labelNames(request({})), () => backend.labelValues(request({ limit: '2' }), 'job')]) {
        await assert.rejects(read(), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'PROBECTL_ERR_METRICS_UPSTREAM_REFUSED', err.message);
          assert.match(err.message, /bad request: authorization/);
          assert.doesNotMatch(err.message, /sekret/);
          assert.match(err.message, /\[redacted\]/);
          return true;
        });
      }
    } finally {
      await withToken.close();
    }
  });
});

describe('metrics upstream mode: a 2xx read answer announced gzip that is not', () => {
  // Asked for gzip (the caller takes it), an engine or a proxy announcing gzip over a plain body: passed on as it
  // came, the caller's client failed to decode a 200.
  const server = guardedEngine((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end('{"status":"success","data":{"resultType":"vector","result":[]}}');
  });
  const engine = useStandInEngine(server, { timeoutMs: 5000 });

  it('is a 503 unavailable, never passed on as gzip', async () => {
    const backend = engine.backend();
    const r = { tenant: TENANT, now: Date.now(), acceptsGzip: true };
    for (const read of [() => backend.instant({ ...r, params: new Map([['query', ['up']]]) }), () => backend.range({ ...r, params: new Map([['query', ['up']], ['start', ['1700000000']], ['end', ['1700003600']], ['step', ['60']]]) })]) {
      await assert.rejects(read(), (err: Error & { code?: string }) => err.code === 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE' && /not gzip/.test(err.message));
    }
  });
});

describe('metrics upstream mode: an error answer announced gzip that is not', () => {
  // Decoded as gzip, the plain text gave nothing: the caller heard "the metrics engine refused the query: " and no reason.
  const server = guardedEngine((req, res) => {
    res.writeHead(422, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end('{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}');
  });
  const engine = useStandInEngine(server, { timeoutMs: 5000 });

  it('keeps the engine\'s message', async () => {
    const backend = engine.backend();
    const r = { tenant: TENANT, now: Date.now(), params: new Map([['query', ['up']]]) };
    for (const acceptsGzip of [true, false]) {
      await assert.rejects(backend.instant({ ...r, acceptsGzip }), (err: Error & { code?: string; status?: number }) => {
        assert.equal(err.code, 'PROBECTL_ERR_METRICS_UPSTREAM_REFUSED');
        assert.equal(err.status, 422);
        assert.match(err.message, /would load too many samples into memory$/);
        return true;
      });
    }
  });
});

describe('metrics upstream mode: a remote-write answered 2xx in a content encoding probectl did not ask for', () => {
  // Its body is never read, so its encoding does not matter: refused (503), the sender sent a batch the engine had
  // taken again and again, each time refused alike — its queue stuck behind a proxy compressing answers.
  let encoding = 'br';
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-encoding': encoding, 'content-length': '0' }).end();
    });
  });
  const engine = useStandInEngine(server, { timeoutMs: 5000 });

  it('is stored (204)', async () => {
    const backend = engine.backend();
    for (const e of ['br', 'deflate', 'x-gzip', 'snappy']) {
      encoding = e;
      const answer = await backend.write({ tenant: TENANT, now: Date.now(), contentType: REMOTE_WRITE_HEADERS['content-type'], contentEncoding: 'snappy', body: encodeWriteRequest([{ labels: { __name__: 'x' }, samples: [[Date.now(), 1]] }]), signal: AbortSignal.timeout(10_000) });
      assert.equal(answer.status, 204, `${e}: ${String(answer.body)}`);
    }
  });
});

describe('metrics upstream mode: an error answer in a content encoding probectl cannot read', () => {
  // The status is the engine's answer even when its text cannot be read: a refused remote-write made a 503, the
  // sender retried for ever a batch the engine refuses (its shard stuck behind it) instead of dropping it.
  const server = guardedEngine((req, res) => {
    res.writeHead(req.url?.endsWith('/api/v1/write') ? 400 : 422, { 'content-type': 'text/plain', 'content-encoding': 'br' }).end(brotliCompressSync('out of order sample'));
  });
  const engine = useStandInEngine(server, { timeoutMs: 5000 });

  it('keeps the engine\'s status: a refused remote-write 400 (the sender drops it), a refused query 422', async () => {
    const backend = engine.backend();
    await assert.rejects(backend.write({ tenant: TENANT, now: Date.now(), contentType: REMOTE_WRITE_HEADERS['content-type'], contentEncoding: 'snappy', body: encodeWriteRequest([{ labels: { __name__: 'x' }, samples: [[Date.now(), 1]] }]) }), (err: Error & { code?: string; status?: number }) => {
      assert.equal(err.code, 'PROBECTL_ERR_METRICS_UPSTREAM_REFUSED', err.message);
      assert.equal(err.status, 400);
      return true;
    });
    await assert.rejects(backend.instant({ tenant: TENANT, now: Date.now(), params: new Map([['query', ['up']]]) }), (err: Error & { code?: string; status?: number }) => {
      assert.equal(err.code, 'PROBECTL_ERR_METRICS_UPSTREAM_REFUSED', err.message);
      assert.equal(err.status, 422);
      assert.match(err.message, /content encoding br/);
      return true;
    });
  });
});

describe('metrics upstream mode: a read reset after the engine worked on it a while', () => {
  // Not a kept-alive connection closed as the request came but the engine (or its process) dying under this read —
  // a query that exhausts its memory: sent again, it would be evaluated, and kill the engine, once per retry.
  let received = 0;
  const server = createServer((req) => {
    req.resume();
    req.on('end', () => {
      received += 1;
      setTimeout(() => req.socket.resetAndDestroy(), 1200);
    });
  });
  const engine = useStandInEngine(server, { timeoutMs: 10_000 });

  it('is not sent again: 503 unavailable after one request', async () => {
    const backend = engine.backend();
    await assert.rejects(backend.labelValues({ tenant: TENANT, now: Date.now(), params: new Map([['limit', ['5']]]) }, 'job'), (err: Error & { code?: string }) => err.code === 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE');
    assert.equal(received, 1);
  });
});

describe('metrics upstream mode: an engine refusing every batch (Mimir\'s out-of-order 400s)', () => {
  let connections = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(400, { 'content-type': 'text/plain' }).end('out of order sample'));
  });
  server.on('connection', () => { connections += 1; });
  const engine = useStandInEngine(server, { timeoutMs: 5000 });

  it('keeps its connection: an error answer read to its end does not cost a new connection per write', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await engine.client().write(TENANT, Buffer.from('batch'))).status, 400);
    assert.ok(connections <= 2, `${connections} connections for 5 refused writes`);
  });
});

describe('metrics upstream mode: PROBECTL_METRICS_UPSTREAM_RETENTION', () => {
  let writes = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.endsWith('/api/v1/write')) writes += 1;
      res.writeHead(204).end();
    });
  });
  const engine = useStandInEngine(server, { timeoutMs: 5000 });
  const now = Date.now();
  const write = (backend: ReturnType<typeof engine.backend>, ageMs: number) => backend.write({ tenant: TENANT, now, contentType: REMOTE_WRITE_HEADERS['content-type'], contentEncoding: REMOTE_WRITE_HEADERS['content-encoding'], body: encodeWriteRequest([{ labels: { __name__: 'up' }, samples: [[now - 60_000, 1]] }, { labels: { __name__: 'old' }, samples: [[now - ageMs, 1]] }]) });

  it('set: a request holding a sample older than it is refused whole (400, the variable named), nothing forwarded; a newer one is forwarded', async () => {
    const backend = engine.backend({ retentionMs: 86_400_000 });
    const before = writes;
    await assert.rejects(write(backend, 2 * 86_400_000), (err: Error & { status?: number }) => {
      assert.equal(err.status, 400);
      assert.match(err.message, /series 1 has a sample at .*older than PROBECTL_METRICS_UPSTREAM_RETENTION \(1d\) allows/);
      return true;
    });
    assert.equal(writes, before, 'nothing forwarded');
    assert.equal((await write(backend, 3_600_000)).status, 204);
    assert.equal(writes, before + 1);
  });

  it('unset: every sample is forwarded, the engine decides', async () => {
    const before = writes;
    assert.equal((await write(engine.backend(), 400 * 86_400_000)).status, 204);
    assert.equal(writes, before + 1);
  });
});
