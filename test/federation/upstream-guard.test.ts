// The upstream cardinality guard (src/federation/upstream/backend.ts `guard`) against a
// loopback engine that records its series-API calls: the window it counts covers every
// sample the query may read (the caller's lookback_delta included), and its verdict cache
// holds a bounded amount of memory however large the selectors.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ReadRequest } from '../../src/federation/backend.ts';
import { MAX_SERIES_GAP_BYTES, SeriesAnswerCounter } from '../../src/federation/upstream/series-count.ts';
import { pumpAnswer, type PumpProgress, useStandInEngine } from './servers/plain-client.ts';

const TENANT = '00000000-0000-4000-8000-00000000abcd';

describe('upstream cardinality guard', () => {
  const seriesCalls: URLSearchParams[] = [];
  let record = true;
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.endsWith('/api/v1/series')) {
        const form = new URLSearchParams(Buffer.concat(parts).toString('utf8'));
        if (record) seriesCalls.push(form);
        // `job="many"` matches 100,000 series: `limit` of them when the call is limited.
        const many = form.getAll('match[]').some((m) => m.includes('job="many"'));
        const n = many ? Math.min(Number(form.get('limit') ?? 100_000), 100_000) : 0;
        res.end(JSON.stringify({ status: 'success', data: Array.from({ length: n }, (_, i) => ({ __name__: 'up', job: 'many', instance: String(i), tenant_id: TENANT })) }));
      } else if (req.url?.endsWith('/api/v1/labels')) {
        res.end('{"status":"success","data":[]}');
      } else {
        res.end('{"status":"success","data":{"resultType":"vector","result":[]}}');
      }
    });
  });
  const engine = useStandInEngine(server);
  const backend = (guardEntries?: number) => engine.backend(guardEntries === undefined ? {} : { guardEntries });

  it('counts the series of the whole lookback the caller asked for (lookback_delta longer than the default)', async () => {
    seriesCalls.length = 0;
    const t = 1_700_000_000_000;
    const request: ReadRequest = { tenant: TENANT, now: t, params: new Map([['query', ['up']], ['time', [String(t / 1000)]], ['lookback_delta', ['1d']]]) };
    const body = (await backend().instant(request)) as AsyncIterable<Buffer>;
    for await (const _ of body) { /* drain */ }
    assert.equal(seriesCalls.length, 1);
    const start = Number(seriesCalls[0]?.get('start'));
    assert.ok(start <= t / 1000 - 86_400, `the guard counted from ${start}, but the engine selects samples from ${t / 1000 - 86_400}`);
  });

  it('counts a series request before forwarding it: over the limit, the unbounded answer is never asked for', async () => {
    seriesCalls.length = 0;
    const request: ReadRequest = { tenant: TENANT, now: Date.now(), params: new Map([['match[]', ['up{job="many"}']]]) };
    await assert.rejects(backend().series(request), (err: Error & { code?: string }) => err.code === 'PROBECTL_ERR_METRICS_TOO_MANY_SERIES');
    assert.equal(seriesCalls.length, 1, 'one call: the limited count');
    assert.equal(seriesCalls[0]?.get('limit'), '101');
    assert.deepEqual(seriesCalls[0]?.getAll('match[]'), [`up{job="many",tenant_id="${TENANT}"}`]);
    // Under the limit the count is followed by the series call itself, whose answer is passed on; it is
    // limited too, so an engine that honours `limit` never sends more than probectl would pass on.
    seriesCalls.length = 0;
    const few = (await backend().series({ ...request, params: new Map([['match[]', ['up{job="few"}']]]) })) as Buffer;
    assert.deepEqual(JSON.parse(few.toString('utf8')), { status: 'success', data: [] });
    assert.deepEqual(seriesCalls.map((c) => c.get('limit')), ['101', '101']);
  });

  it('shares its verdicts fairly: a tenant asking more distinct queries than it holds costs another tenant none of its verdicts', async () => {
    const OTHER = '00000000-0000-4000-8000-00000000beef';
    const b = backend(50);
    const count = () => seriesCalls.filter((c) => c.getAll('match[]').some((m) => m.includes(OTHER))).length;
    record = true;
    seriesCalls.length = 0;
    const mine = { tenant: OTHER, now: Date.now(), params: new Map([['match[]', ['up{job="kept"}']]]) };
    await b.labelNames(mine);
    assert.equal(count(), 1);
    record = false;
    for (let i = 0; i < 51; i++) await b.labelNames({ tenant: TENANT, now: Date.now(), params: new Map([['match[]', [`up{job="churn-${i}"}`]]]) });
    record = true;
    await b.labelNames(mine);
    assert.equal(count(), 1, 'the other tenant\'s verdict was still kept: no second series call');
  });

  it('keeps verdicts of megabyte-large selectors in bounded memory', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    record = false;
    const b = backend();
    const labels = async (i: number) => {
      // One POST form of 64 KB: 4 match[] of 16,000 characters each (each under the 16,384-character query limit, together under the 65,536 of MAX_MATCH_CHARS).
      const match = Array.from({ length: 4 }, (_, k) => `up{job="${i}-${k}-${'x'.repeat(16_000)}"}`);
      await b.labelNames({ tenant: TENANT, now: Date.now(), params: new Map([['match[]', match]]) });
    };
    await labels(-1);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 250; i++) await labels(i);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(grown < 6_000_000, `250 verdicts kept ${(grown / 1e6).toFixed(1)} MB (their selectors were 16 MB)`);
  });
});

// Prometheus before 2.x's `limit` parameter of the series API (Debian's 2.42 among them) answers
// every matching series whatever `limit` says. The guard read that answer whole (up to
// MAX_UPSTREAM_RESPONSE_BYTES, 256 MB) and parsed it into objects before counting: a tenant that
// wrote enough series (or long label values) could make one query cost probectl's heap hundreds
// of megabytes. It must stop reading once it has counted past PROBECTL_METRICS_MAX_SERIES.
describe('upstream cardinality guard against an engine that ignores `limit`', () => {
  const ENTRY = Buffer.from(`{"__name__":"up","job":"many","pad":"${'p'.repeat(900)}","tenant_id":"${TENANT}"},`);
  const CAP = 64 * 1_048_576;
  let answer: PumpProgress = { written: 0, ended: false };
  let firstFew = false;
  let seriesCalls = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (!req.url?.endsWith('/api/v1/series')) {
        res.end('{"status":"success","data":{"resultType":"vector","result":[]}}');
        return;
      }
      seriesCalls++;
      if (firstFew && seriesCalls === 1) {
        // The guard's count: a few series (the tenant writes many more before the series call).
        res.end(`{"status":"success","data":[{"__name__":"up","job":"many","tenant_id":"${TENANT}"}]}`);
        return;
      }
      // As fast as the reader takes it, until CAP (64 MB of series), then the rest of the JSON.
      answer = pumpAnswer(res, '{"status":"success","data":[', ENTRY, CAP, `{"__name__":"up","job":"last","tenant_id":"${TENANT}"}]}`);
    });
  });
  const engine = useStandInEngine(server, { timeoutMs: 10_000 });

  it('stops reading the series answer once it counted more than PROBECTL_METRICS_MAX_SERIES: 422, a bounded read', async () => {
    const backend = engine.backend();
    const request: ReadRequest = { tenant: TENANT, now: Date.now(), params: new Map([['query', ['up{job="many"}']]]) };
    await assert.rejects(backend.instant(request), (err: Error & { code?: string }) => err.code === 'PROBECTL_ERR_METRICS_TOO_MANY_SERIES');
    assert.equal(answer.ended, false, `the guard read the engine's whole answer (${(answer.written / 1e6).toFixed(0)} MB) to count 101 series`);
    assert.ok(answer.written < 16 * 1_048_576, `the engine wrote ${(answer.written / 1e6).toFixed(0)} MB before the guard stopped reading`);
  });

  it('the series API itself is read no further than PROBECTL_METRICS_MAX_SERIES + 1 series either: series written after the guard\'s count are refused, 422, with a bounded read', async () => {
    firstFew = true;
    seriesCalls = 0;
    try {
      const backend = engine.backend();
      const request: ReadRequest = { tenant: TENANT, now: Date.now(), params: new Map([['match[]', ['up{job="many"}']]]) };
      await assert.rejects(backend.series(request), (err: Error & { code?: string }) => err.code === 'PROBECTL_ERR_METRICS_TOO_MANY_SERIES');
      assert.equal(seriesCalls, 2, 'the guard\'s count, then the series call');
      assert.equal(answer.ended, false, `the series call read the engine's whole answer (${(answer.written / 1e6).toFixed(0)} MB)`);
      assert.ok(answer.written < 16 * 1_048_576, `the engine wrote ${(answer.written / 1e6).toFixed(0)} MB before probectl stopped reading`);
    } finally {
      firstFew = false;
    }
  });
});

describe('upstream cardinality guard against an answer holding no series', () => {
  // The parser builds every value it reads: an endless string or list beside `data`, or inside one
  // series, would be held whole — up to the 256 MiB an answer may have, past serve's 192 MiB heap.
  const bodies: Record<string, { head: string; piece: string }> = {
    'a string beside data': { head: '{"status":"success","junk":"', piece: 'x'.repeat(65_536) },
    'a list beside data': { head: '{"status":"success","warnings":[', piece: `${'"warning",'.repeat(6_553)}` },
    'a label value that never ends': { head: '{"status":"success","data":[{"__name__":"up","pad":"', piece: 'p'.repeat(65_536) },
  };
  let body = bodies['a string beside data'] as { head: string; piece: string };
  let answer: PumpProgress = { written: 0, ended: false };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // As fast as the reader takes it, up to 256 MiB.
      answer = pumpAnswer(res, body.head, Buffer.from(body.piece), 256 * 1_048_576, '');
    });
  });
  const engine = useStandInEngine(server, { timeoutMs: 20_000 });

  for (const [name, b] of Object.entries(bodies)) {
    it(`${name}: 503 unavailable after a bounded read`, async () => {
      body = b;
      const backend = engine.backend();
      const request: ReadRequest = { tenant: TENANT, now: Date.now(), params: new Map([['query', ['up{job="many"}']]]) };
      await assert.rejects(backend.instant(request), (err: Error & { code?: string }) => err.code === 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE' && /bytes holding no series/.test(err.message));
      assert.ok(answer.written < 16 * 1_048_576, `the engine wrote ${(answer.written / 1e6).toFixed(0)} MB before the guard stopped reading`);
    });
  }
});

describe('SeriesAnswerCounter (the guard\'s streaming count)', () => {
  const count = (text: string, split = 1): { count: number; complete: boolean; sawData: boolean } => {
    const c = new SeriesAnswerCounter();
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += split) c.feed(bytes.subarray(i, i + split));
    return { count: c.count, complete: c.complete, sawData: c.sawData };
  };

  it('counts the objects of the top-level data array, whatever their labels hold, cut anywhere', () => {
    const text = JSON.stringify({ status: 'success', warnings: ['{', '[{'], data: [{ a: '{"x":[{}]}', 'b\\"': '"}' }, {}, { data: '[{}]' }] });
    for (const split of [1, 2, 3, 7, 1000]) assert.deepEqual(count(text, split), { count: 3, complete: true, sawData: true }, `split ${split}`);
    assert.deepEqual(count('{"status":"success","data":[]}'), { count: 0, complete: true, sawData: true });
  });

  it('an answer without a data list, cut short, or not JSON is not a count', () => {
    assert.deepEqual(count('{"status":"success","data":null}'), { count: 0, complete: true, sawData: false });
    assert.deepEqual(count('{"status":"data","x":[{}]}'), { count: 0, complete: true, sawData: false });
    assert.equal(count('{"status":"success","data":[{},{}').complete, false);
    assert.equal(count('<html>busy</html>').complete, false);
    const html = new SeriesAnswerCounter();
    html.feed(Buffer.from('<html>'));
    assert.equal(html.broken, true, 'not JSON from its first byte: the guard stops reading');
    const cutShort = new SeriesAnswerCounter();
    cutShort.feed(Buffer.from('{"status":"success","data":[{}'));
    assert.equal(cutShort.broken, false, 'JSON so far: read on');
    assert.equal(count('').complete, false);
  });

  it('more than MAX_SERIES_GAP_BYTES without a series closing is oversized; the largest label set remote-write takes is not', () => {
    const junk = new SeriesAnswerCounter();
    junk.feed(Buffer.from('{"status":"success","data":[{"a":"b"},{"pad":"'));
    for (let fed = 0; fed <= MAX_SERIES_GAP_BYTES; fed += 65_536) junk.feed(Buffer.alloc(65_536, 0x70));
    assert.equal(junk.count, 1);
    assert.ok(junk.oversized && junk.broken && !junk.complete);
    // 64 labels of 256-byte names and 2 KiB values, every character written as \uXXXX.
    const esc = (n: number) => '\\u00e9'.repeat(n);
    const big = `{${Array.from({ length: 64 }, (_, i) => `"${esc(250)}${String(i).padStart(6, '0')}":"${esc(1024)}"`).join(',')}}`;
    const text = `{"status":"success","data":[${big},${big}]}`;
    assert.deepEqual(count(text, 65_536), { count: 2, complete: true, sawData: true });
  });
});
