import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openCursor } from '../../src/delivery/ledger.ts';
import type { MetricsRuntime } from '../../src/federation/runtime.ts';
import { inTenant } from '../../src/store/scope.ts';
import { startTestApp, type ApiResponse, type TestApp } from '../helpers/app.ts';
import { encodeWriteRequest, form, FORM_HEADERS, REMOTE_WRITE_HEADERS, remoteWrite, type WireSeriesSpec } from '../helpers/remote-write.ts';

const G = '/v1/grafana/api/v1';
const STEP = 15_000;

/**
 * The metrics API through the real server: the request sequence Grafana sends,
 * Prometheus's answers and error shapes, the query semantics through HTTP
 * (stale markers, duplicates, out-of-order, NaN/±Inf, retention), remote-write
 * limits and refusals, and probectl's own series.
 */
describe('metrics federation API', () => {
  let app: TestApp;
  let tenant: string;
  let token: string;
  let basic: string;
  let now: number;
  const runtime = () => app.service.integrations.get('metrics')?.runtime as MetricsRuntime;

  const newTenant = async (name: string, permissions = ['metrics-read', 'metrics-write', 'signals-write', 'incidents-read']) => {
    const id = (await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name } })).json.id as string;
    const tok = (await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant: id, permissions, name: 't' } })).json.token as string;
    return { id, token: tok };
  };
  const get = (path: string, params: Record<string, string | string[]> = {}, tok = token) => app.request('GET', `${path}${Object.keys(params).length ? `?${form(params)}` : ''}`, { token: tok });
  const post = (path: string, params: Record<string, string | string[]>, tok = token) => app.request('POST', path, { token: tok, rawBody: form(params), headers: FORM_HEADERS });
  const write = async (series: WireSeriesSpec[], tok = token) => {
    const res = await remoteWrite(app, tok, series);
    assert.equal(res.status, 204, res.text);
  };
  const sec = (ms: number) => String(ms / 1000);
  const assertPromError = (res: ApiResponse, status: number, errorType: string, message: RegExp | string) => {
    assert.equal(res.status, status, res.text);
    assert.deepEqual(Object.keys(res.json), ['status', 'errorType', 'error']);
    assert.equal(res.json.status, 'error');
    assert.equal(res.json.errorType, errorType);
    if (typeof message === 'string') assert.equal(res.json.error, message);
    else assert.match(res.json.error, message);
  };

  const selfMetricsRan = async (n: number) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const metric = await app.service.deps.metrics.registry.getSingleMetric('probectl_metrics_job_runs_total')?.get();
      const ok = metric?.values.find((v) => v.labels.job === 'self-metrics' && v.labels.outcome === 'ok')?.value ?? 0;
      if (ok >= n) return;
      assert.ok(Date.now() < deadline, 'the first self-metrics run did not finish within 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    app = await startTestApp({
      PROBECTL_METRICS_MAX_SERIES: '5', PROBECTL_METRICS_WRITE_MAX_SERIES: '40', PROBECTL_METRICS_WRITE_MAX_LABELS: '8',
      PROBECTL_METRICS_WRITE_MAX_BODY_BYTES: '4096', PROBECTL_METRICS_RETENTION: '1h', PROBECTL_METRICS_SELF_INTERVAL: '2m',
      PROBECTL_METRICS_MAX_TENANT_SERIES: '100',
    });
    // The self-metrics run started with the server lists the tenants; let it finish first, so the
    // tenants below get no probectl_* series before the test records them itself.
    await selfMetricsRan(1);
    ({ id: tenant, token } = await newTenant('grafana-org'));
    basic = `Basic ${Buffer.from(`grafana:${token}`).toString('base64')}`;
    // Whole seconds, so timestamps print without decimals and samples sit on the step grid.
    now = Math.floor(Date.now() / STEP) * STEP - STEP;
    await write([
      { labels: { __name__: 'up', job: 'node', instance: 'a' }, samples: [[now - 4 * STEP, 1], [now - 3 * STEP, 1], [now - 2 * STEP, 0], [now - STEP, 1]] },
      { labels: { __name__: 'up', job: 'node', instance: 'b' }, samples: [[now - 4 * STEP, 1], [now - 3 * STEP, 1]] },
    ]);
  });
  after(() => app?.close());

  it('answers the request sequence Grafana sends (Basic auth, POST forms) as Prometheus would', async () => {
    const build = await app.request('GET', `${G}/status/buildinfo`, { authorization: basic });
    assert.equal(build.status, 200);
    assert.equal(build.json.status, 'success');
    assert.equal(build.json.data.version, '3.0.0');
    const t = now + 1000;
    const save = await app.request('POST', `${G}/query`, { authorization: basic, rawBody: form({ query: '1+1', time: sec(t) }), headers: FORM_HEADERS });
    assert.equal(save.text, `{"status":"success","data":{"resultType":"scalar","result":[${t / 1000},"2"]}}`, 'Grafana\'s "Save & test"');
    const labels = await post(`${G}/labels`, { start: sec(now - 3_600_000), end: sec(now) });
    assert.equal(labels.text, '{"status":"success","data":["__name__","instance","job","tenant_id"]}');
    const names = await get(`${G}/label/__name__/values`, { start: sec(now - 3_600_000), end: sec(now) });
    assert.equal(names.text, '{"status":"success","data":["up"]}');
    const instances = await get(`${G}/label/instance/values`, { 'match[]': 'up{job="node"}' });
    assert.deepEqual(instances.json.data, ['a', 'b']);
    // Only <name>/values under label/: anything else is Prometheus's not_found.
    for (const path of [`${G}/label/instance`, `${G}/label/instance/values/x`, `${G}/label//values`, `${G}/label/a/b/values`]) assertPromError(await get(path), 404, 'not_found', /no such route/);
    const series = await post(`${G}/series`, { 'match[]': ['up{instance="a"}'], start: sec(now - 3_600_000), end: sec(now) });
    assert.equal(series.text, `{"status":"success","data":[{"__name__":"up","instance":"a","job":"node","tenant_id":"${tenant}"}]}`);
    const range = await post(`${G}/query_range`, { query: 'up', start: sec(now - 4 * STEP), end: sec(now), step: '15' });
    const head = (inst: string) => `{"metric":{"__name__":"up","instance":"${inst}","job":"node","tenant_id":"${tenant}"}`;
    const p = (k: number, v: string) => `[${(now - k * STEP) / 1000},"${v}"]`;
    // instance b's last sample stays selected for the 5-minute lookback, as in Prometheus.
    assert.equal(range.text, `{"status":"success","data":{"resultType":"matrix","result":[${head('a')},"values":[${p(4, '1')},${p(3, '1')},${p(2, '0')},${p(1, '1')},${p(0, '1')}]},${head('b')},"values":[${p(4, '1')},${p(3, '1')},${p(2, '1')},${p(1, '1')},${p(0, '1')}]}]}}`);
    const instant = await get(`${G}/query`, { query: 'up{instance="a"}', time: sec(now) });
    assert.equal(instant.text, `{"status":"success","data":{"resultType":"vector","result":[${head('a')},"value":${p(0, '1')}}]}}`);
    const raw = await get(`${G}/query`, { query: 'up{instance="a"}[1m]', time: sec(now) });
    assert.equal(raw.json.data.resultType, 'matrix');
    assert.deepEqual(raw.json.data.result[0].values, [[(now - 3 * STEP) / 1000, '1'], [(now - 2 * STEP) / 1000, '0'], [(now - STEP) / 1000, '1']], 'raw samples in (t − 1m, t]');
    assert.equal((await get(`${G}/query_exemplars`, { query: 'up', start: sec(now - 60_000), end: sec(now) })).text, '{"status":"success","data":[]}');
    assert.equal((await get(`${G}/metadata`)).text, '{"status":"success","data":{}}');
    assert.deepEqual((await post(`${G}/query_range`, { query: '2*3', start: sec(now - STEP), end: sec(now), step: '15s' })).json.data, { resultType: 'matrix', result: [{ metric: {}, values: [[(now - STEP) / 1000, '6'], [now / 1000, '6']] }] });
    assert.match(String(range.headers['content-type']), /^application\/json\b/);
  });

  it('errors have Prometheus\'s shape, status and wording', async () => {
    assertPromError(await get(`${G}/query`, { query: 'sum(up)' }), 400, 'bad_data', /^invalid parameter "query": probectl accepts only plain series selectors.*Grafana with transformations/);
    assertPromError(await post(`${G}/query`, { query: 'rate(up[5m])' }), 400, 'bad_data', /only plain series selectors/);
    assertPromError(await get(`${G}/query`, { query: 'up{', time: sec(now) }), 400, 'bad_data', /^invalid parameter "query": parse error/);
    assertPromError(await get(`${G}/query`, { query: 'up', time: 'abc' }), 400, 'bad_data', 'invalid parameter "time": invalid time value for \'time\': cannot parse "abc" to a valid timestamp');
    assertPromError(await get(`${G}/query_range`, { query: 'up', start: '10', end: '20', step: '0' }), 400, 'bad_data', 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
    assertPromError(await get(`${G}/query_range`, { query: 'up', start: '0', end: '11001', step: '1' }), 400, 'bad_data', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
    assert.equal((await get(`${G}/query_range`, { query: 'up', start: '0', end: '11000', step: '1' })).status, 200, '11,000 points are allowed');
    assertPromError(await get(`${G}/query_range`, { query: 'up', start: '20', end: '10', step: '1' }), 400, 'bad_data', 'invalid parameter "end": end timestamp must not be before start time');
    assertPromError(await get(`${G}/query_range`, { query: 'up[5m]', start: '10', end: '20', step: '1' }), 400, 'bad_data', /invalid expression type "range vector" for range query/);
    assertPromError(await get(`${G}/series`), 400, 'bad_data', 'no match[] parameter provided');
    assertPromError(await get(`${G}/series`, { 'match[]': '{tenant_id="x"}' }), 400, 'bad_data', /at least one non-empty matcher/);
    // Many long selectors in one form body: refused before any is parsed (each is parsed and enforced).
    const longSelector = `up{instance=~"${'a|'.repeat(8000)}b"}`;
    const many = Array.from({ length: 5 }, () => `match%5B%5D=${encodeURIComponent(longSelector)}`).join('&');
    for (const path of [`${G}/series`, `${G}/labels`]) {
      assertPromError(await app.request('POST', path, { token, rawBody: many, headers: FORM_HEADERS }), 400, 'bad_data', 'the match[] selectors together are longer than 65536 characters; send fewer or shorter selectors');
    }
    assert.equal((await app.request('POST', `${G}/series`, { token, rawBody: many.split('&').slice(0, 4).join('&'), headers: FORM_HEADERS })).status, 200, 'four of them are accepted');
    assertPromError(await app.request('POST', `${G}/query`, { token, body: { query: 'up' } }), 415, 'bad_data', /send application\/x-www-form-urlencoded/);
    assertPromError(await app.request('GET', `${G}/query?query=up%00`, { token }), 400, 'bad_data', /NUL/);
    assertPromError(await app.request('POST', `${G}/query`, { token, rawBody: 'query=%ZZ', headers: FORM_HEADERS }), 400, 'bad_data', /not valid percent-encoded/);
    // Times Prometheus parses but no JavaScript date holds: a clear 400, never a 500.
    for (const [path, params] of [
      [`${G}/query`, { query: 'up', time: '1e15' }],
      [`${G}/query`, { query: 'up[5m]', time: '292277025-08-18T07:12:54.999999999Z' }],
      [`${G}/query`, { query: '1+1', time: '-9e15' }],
      [`${G}/query_range`, { query: 'up', start: '1e15', end: '1e15', step: '1' }],
      [`${G}/query_range`, { query: 'up', start: '-9e15', end: '-9e15', step: '15' }],
    ] as const) {
      const field = 'time' in params ? 'time' : 'start';
      assertPromError(await get(path, params), 400, 'bad_data', `invalid parameter "${field}": timestamp out of the range probectl evaluates (±8640000000000 seconds, the range of a date)`);
    }
    // The router's own refusals under the API's folders are Prometheus-shaped too (an endpoint probectl lacks, a
    // method no route has, a path that is not percent-encoded UTF-8); elsewhere they keep probectl's shape.
    assertPromError(await get(`${G}/format_query`, { query: 'up' }), 404, 'not_found', 'no route GET /v1/grafana/api/v1/format_query');
    assertPromError(await app.request('DELETE', `${G}/query`, { token }), 404, 'not_found', 'no route DELETE /v1/grafana/api/v1/query');
    assertPromError(await app.request('GET', `${G}/label/%E0%A4%A/values`, { token }), 400, 'bad_data', 'the URL path is not valid percent-encoded UTF-8');
    assertPromError(await app.request('GET', `${G}/status/flags`, { token }), 404, 'not_found', 'no route GET /v1/grafana/api/v1/status/flags');
    // A URL refused on its way to the not-found answer (a NUL, checkUrlInput) is the router's refusal too.
    const nul = await app.request('GET', `${G}/format_query?query=%00`, { token });
    assert.deepEqual([nul.status, (nul.json as { status?: string }).status, (nul.json as { errorType?: string }).errorType], [400, 'error', 'bad_data'], nul.text);
    const elsewhere = await app.request('GET', '/v1/grafana/api/v2/query', { token });
    assert.deepEqual([elsewhere.status, elsewhere.json.code], [404, 'PROBECTL_ERR_NOT_FOUND'], 'outside the API\'s folders the router answers in probectl\'s shape');
    const unauth = await app.request('GET', `${G}/query?query=up`);
    assert.deepEqual([unauth.status, unauth.json.code], [401, 'PROBECTL_ERR_UNAUTHENTICATED'], 'authentication keeps probectl\'s shape');
  });

  it('fails closed with 422 execution when a read matches more than PROBECTL_METRICS_MAX_SERIES series, never truncating', async () => {
    await write(Array.from({ length: 6 }, (_, i) => ({ labels: { __name__: 'card', i: String(i) }, samples: [[now - STEP, i]] })));
    for (const res of [
      await get(`${G}/query`, { query: 'card', time: sec(now) }),
      await post(`${G}/query_range`, { query: '{__name__="card"}', start: sec(now - 60_000), end: sec(now), step: '15' }),
      await get(`${G}/series`, { 'match[]': 'card' }),
      await get(`${G}/label/i/values`, { 'match[]': 'card' }),
      await post(`${G}/labels`, { 'match[]': 'card' }),
    ]) assertPromError(res, 422, 'execution', /matches more than 5 series \(PROBECTL_METRICS_MAX_SERIES\); narrow the selector/);
    const fed = await get('/v1/prometheus/federate', { 'match[]': 'card' });
    assert.deepEqual([fed.status, fed.json.code], [422, 'PROBECTL_ERR_METRICS_TOO_MANY_SERIES']);
    assert.equal((await get(`${G}/series`, { 'match[]': 'card{i=~"[0-4]"}' })).json.data.length, 5, 'a narrower selector works');
  });

  it('federate: the latest sample of each matching series in the text format, stale series left out', async () => {
    const t = Date.now() - 5000;
    await write([
      { labels: { __name__: 'fed_live', job: 'x', path: 'a"b\\c\nd' }, samples: [[t - 20_000, 1], [t, 2.5]] },
      { labels: { __name__: 'fed_gone', job: 'x' }, samples: [[t - 20_000, 1], [t, 'stale']] },
    ]);
    const res = await get('/v1/prometheus/federate', { 'match[]': ['{job="x"}', 'fed_live'] });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(res.text, `# TYPE fed_live untyped\nfed_live{job="x",path="a\\"b\\\\c\\nd",tenant_id="${tenant}",instance=""} 2.5 ${t}\n`);
    assert.equal((await get('/v1/prometheus/federate')).text, '', 'no match[]: nothing, as Prometheus');
  });

  it('stale markers end a series; NaN and ±Inf are values; re-sent samples are stored once; out-of-order samples are kept in order', async () => {
    const t0 = now - 10 * STEP;
    const sent: WireSeriesSpec[] = [
      { labels: { __name__: 'sem_stale' }, samples: [[t0, 1], [t0 + STEP, 2], [t0 + 2 * STEP, 'stale']] },
      { labels: { __name__: 'sem_special', kind: 'x' }, samples: [[t0, NaN], [t0 + STEP, Infinity], [t0 + 2 * STEP, -Infinity]] },
      { labels: { __name__: 'sem_order' }, samples: [[t0 + 2 * STEP, 3]] },
    ];
    await write(sent);
    await write(sent); // at-least-once delivery: the same request again
    await write([{ labels: { __name__: 'sem_order' }, samples: [[t0, 1], [t0 + STEP, 2]] }]);
    const range = await post(`${G}/query_range`, { query: '{__name__=~"sem_.*"}', start: sec(t0), end: sec(t0 + 4 * STEP), step: '15' });
    const bySeries = Object.fromEntries(range.json.data.result.map((r: { metric: Record<string, string>; values: Array<[number, string]> }) => [r.metric.__name__, r.values.map((v) => v[1])]));
    assert.deepEqual(bySeries, {
      sem_stale: ['1', '2'],
      sem_special: ['NaN', '+Inf', '-Inf', '-Inf', '-Inf'],
      sem_order: ['1', '2', '3', '3', '3'],
    });
    const rawOrder = await get(`${G}/query`, { query: 'sem_order[5m]', time: sec(t0 + 4 * STEP) });
    assert.deepEqual(rawOrder.json.data.result[0].values, [[t0 / 1000, '1'], [(t0 + STEP) / 1000, '2'], [(t0 + 2 * STEP) / 1000, '3']], 'each sample once, in time order');
    const rawStale = await get(`${G}/query`, { query: 'sem_stale[5m]', time: sec(t0 + 4 * STEP) });
    assert.deepEqual(rawStale.json.data.result[0].values.map((v: [number, string]) => v[1]), ['1', '2'], 'the stale marker is not a sample');
    const instant = await get(`${G}/query`, { query: 'sem_stale', time: sec(t0 + 3 * STEP) });
    assert.deepEqual(instant.json.data.result, [], 'after its stale marker the series is gone');

    const conflict = await remoteWrite(app, token, [{ labels: { __name__: 'sem_order' }, samples: [[t0, 99], [t0 - STEP, 0]] }]);
    assert.deepEqual([conflict.status, conflict.json.code], [400, 'PROBECTL_ERR_METRICS_SAMPLE_CONFLICT'], conflict.text);
    assert.match(conflict.json.message, /^1 sample stored, 0 already stored; 1 sample refused: a different value is already stored/);
    const kept = await get(`${G}/query`, { query: 'sem_order[5m]', time: sec(t0 + 4 * STEP) });
    assert.deepEqual(kept.json.data.result[0].values.slice(0, 2), [[(t0 - STEP) / 1000, '0'], [t0 / 1000, '1']], 'the stored value is kept, the valid sample stored');

    // Compaction moves the samples into chunks; the answers do not change.
    await runtime().jobs?.compact();
    assert.equal((await post(`${G}/query_range`, { query: '{__name__=~"sem_.*"}', start: sec(t0), end: sec(t0 + 4 * STEP), step: '15' })).text, range.text.replace('"1","2","3","3","3"', '"1","2","3","3","3"'));
  });

  it('retention: remote-write refuses samples older than PROBECTL_METRICS_RETENTION (400, nothing stored); the background job deletes what ages past it', async () => {
    const old = now - 3 * 3_600_000;
    const refused = await remoteWrite(app, token, [{ labels: { __name__: 'ret_metric' }, samples: [[old, 1], [old + STEP, 2], [now - STEP, 3]] }]);
    assert.deepEqual([refused.status, refused.json.code], [400, 'PROBECTL_ERR_METRICS_WRITE_MALFORMED'], refused.text);
    assert.match(refused.json.message, /^series 0 has a sample at \S+Z, older than PROBECTL_METRICS_RETENTION \(1h\) allows: samples before \S+Z are not kept \(nothing of this request was stored\)$/);
    assert.deepEqual((await get(`${G}/series`, { 'match[]': 'ret_metric' })).json.data, [], 'nothing of the request was stored');
    // Samples already older than the retention (stored before it was shortened, say): the job deletes them.
    const stored = await runtime().store.append(tenant, [{ labels: { __name__: 'ret_metric' }, timestamps: [old, old + STEP, now - STEP], values: new Float64Array([1, 2, 3]) }]);
    assert.equal(stored.stored, 3);
    const raw = () => get(`${G}/query`, { query: 'ret_metric[4h]', time: sec(now) });
    assert.equal((await raw()).json.data.result[0].values.length, 3);
    await runtime().jobs?.compact();
    await runtime().jobs?.expire();
    assert.deepEqual((await raw()).json.data.result[0].values, [[(now - STEP) / 1000, '3']]);
  });

  it('remote-write: 415 for 2.0, 400 for malformed bodies and each limit (named), 400 for the tenant series cap; logged with counts, never payloads', async () => {
    const body = encodeWriteRequest([{ labels: { __name__: 'rw_ok', secret: 'never-logged-value' }, samples: [[now, 1]] }]);
    const v2 = await app.request('POST', '/v1/prometheus/write', { token, rawBody: body, headers: { ...REMOTE_WRITE_HEADERS, 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request' } });
    assert.deepEqual([v2.status, v2.json.code], [415, 'PROBECTL_ERR_METRICS_WRITE_UNSUPPORTED']);
    const garbage = await app.request('POST', '/v1/prometheus/write', { token, rawBody: Buffer.from('not snappy at all'), headers: REMOTE_WRITE_HEADERS });
    assert.deepEqual([garbage.status, garbage.json.code], [400, 'PROBECTL_ERR_METRICS_WRITE_MALFORMED']);
    const noName = await remoteWrite(app, token, [{ labels: { job: 'x' }, samples: [[now, 1]] }]);
    assert.deepEqual([noName.status, noName.json.code], [400, 'PROBECTL_ERR_METRICS_WRITE_MALFORMED']);
    const tooMany = await remoteWrite(app, token, Array.from({ length: 41 }, (_, i) => ({ labels: { __name__: 'm', i: String(i) }, samples: [[now, 1]] })));
    assert.deepEqual([tooMany.status, tooMany.json.code, tooMany.json.limit], [400, 'PROBECTL_ERR_METRICS_WRITE_LIMIT', 'maxSeries']);
    assert.match(tooMany.json.message, /PROBECTL_METRICS_WRITE_MAX_SERIES/);
    const labels = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`l${i}`, 'v']));
    const wide = await remoteWrite(app, token, [{ labels: { __name__: 'w', ...labels }, samples: [[now, 1]] }]);
    assert.match(wide.json.message, /PROBECTL_METRICS_WRITE_MAX_LABELS/);
    // A label value the database could not index: a 400 naming the limit, not a 503 a sender retries forever.
    const long = await remoteWrite(app, token, [{ labels: { __name__: 'long', v: randomBytes(3000).toString('base64').slice(0, 3000) }, samples: [[now, 1]] }]);
    assert.deepEqual([long.status, long.json.code, long.json.limit], [400, 'PROBECTL_ERR_METRICS_WRITE_LIMIT', 'maxLabelValueBytes'], long.text);
    assert.match(long.json.message, /PROBECTL_METRICS_WRITE_MAX_LABEL_VALUE_BYTES/);
    const big = await app.request('POST', '/v1/prometheus/write', { token, rawBody: Buffer.alloc(5000, 1), headers: REMOTE_WRITE_HEADERS });
    assert.deepEqual([big.status, big.json.code], [400, 'PROBECTL_ERR_METRICS_WRITE_LIMIT'], big.text);
    assert.match(big.json.message, /PROBECTL_METRICS_WRITE_MAX_BODY_BYTES/);
    assert.equal((await get(`${G}/series`, { 'match[]': '{__name__=~"m|w|rw_ok"}' })).json.data.length, 0, 'a refused request stores nothing');

    const capped = await newTenant('capped-org');
    const capSeries = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'cap', i: String(from + i), secret: 'never-logged-value' }, samples: [[now, i] as [number, number]] }));
    assert.equal((await remoteWrite(app, capped.token, capSeries(0, 40))).status, 204);
    assert.equal((await remoteWrite(app, capped.token, capSeries(40, 40))).status, 204);
    const res = await remoteWrite(app, capped.token, capSeries(80, 25));
    assert.deepEqual([res.status, res.json.code], [400, 'PROBECTL_ERR_METRICS_TENANT_SERIES_LIMIT'], res.text);
    assert.match(res.json.message, /^20 samples stored, 0 already stored; 5 new series \(5 samples\) refused.*PROBECTL_METRICS_MAX_TENANT_SERIES\) is 100/);
    assert.equal((await get(`${G}/label/i/values`, {}, capped.token)).json.data.length, 100, 'the series within the cap were stored');
    const again = await remoteWrite(app, capped.token, [{ labels: { __name__: 'cap', i: '0', secret: 'never-logged-value' }, samples: [[now + 1000, 1]] }]);
    assert.equal(again.status, 204, 'samples of existing series are still accepted at the cap');
    const lines = app.logs.filter((l) => l.includes('remote-write'));
    assert.ok(lines.some((l) => l.includes('"limitedSeries":5') && l.includes('partly refused')), 'the refusal is logged with counts');
    assert.ok(!app.logs.some((l) => l.includes('never-logged-value')), 'label values never reach the log');
    // Refusals name what was wrong to the sender, but the log gets no label value, not even an invalid one.
    const invalid = [
      { labels: { __name__: 'never-logged-name' }, samples: [[now, 1]] },
      { labels: { __name__: 'ok_name', 'never-logged-label': 'x' }, samples: [[now, 1]] },
    ] as const;
    for (const series of invalid) {
      const res = await remoteWrite(app, token, [series]);
      assert.deepEqual([res.status, res.json.code], [400, 'PROBECTL_ERR_METRICS_WRITE_MALFORMED']);
      assert.match(res.json.message, /never-logged/, 'the sender is told');
    }
    const refusedLines = app.logs.filter((l) => l.includes('remote-write refused') && l.includes('malformed'));
    assert.ok(refusedLines.length >= 2, 'the refusals are logged');
    assert.ok(!app.logs.some((l) => l.includes('never-logged')), 'no label name or value reaches the log');
  });

  it('records probectl\'s own series per tenant: incidents, signals, SIEM export; secret backends for the provider only', async () => {
    const own = await newTenant('self-org');
    for (const kind of ['ioc.match', 'ioc.match', 'tls.expired']) {
      const res = await app.request('POST', '/v1/signals', { token: own.token, body: { kind, severity: kind === 'tls.expired' ? 'warning' : 'critical', confidence: 80, target: `t-${kind}`, title: 'x' } });
      assert.equal(res.status, 201, res.text);
    }
    await inTenant(app.service.deps.db, own.id, (tx) => openCursor(tx, 'siem', 'audit'));
    await runtime().jobs?.recordSelf();
    const value = async (query: string, tok = own.token) => {
      const res = await get(`${G}/query`, { query }, tok);
      assert.equal(res.status, 200, res.text);
      return res.json.data.result.map((r: { metric: Record<string, string>; value: [number, string] }) => [r.metric.tenant_id, r.value[1]]);
    };
    assert.deepEqual(await value('probectl_incidents_open{severity="critical"}'), [[own.id, '1']]);
    assert.deepEqual(await value('probectl_incidents_open{severity="warning"}'), [[own.id, '1']]);
    assert.deepEqual(await value('probectl_incidents_unacknowledged{severity="info"}'), [[own.id, '0']]);
    assert.deepEqual(await value('probectl_signals_total{kind="ioc.match"}'), [[own.id, '2']]);
    const lag = await value('probectl_siem_export_lag_events{stream="audit"}');
    assert.equal(lag.length, 1);
    assert.ok(Number(lag[0][1]) >= 1, 'the audit records since the (never moved) cursor');
    assert.deepEqual(await value('probectl_siem_export_delivered_total'), [[own.id, '0']]);
    assert.deepEqual(await value('{__name__=~"probectl_secrets_.*"}'), [], 'a tenant never sees the deployment\'s secret backends');
    const provider = await value('probectl_secrets_backend_configured{scheme="env"}', app.adminToken);
    assert.deepEqual(provider.map((p: string[]) => p[1]), ['1']);
    assert.deepEqual(await value('probectl_incidents_open{severity="critical"}', token), [[tenant, '0']], 'each tenant its own counts');
  });
  it('a label name longer than the router\'s 100-character path segments lists its values, as remote-write accepted it; past 1,024 characters a Prometheus-shaped refusal', async () => {
    const name = `l_${'x'.repeat(148)}`;
    await write([{ labels: { __name__: 'long_name_metric', [name]: 'v1' }, samples: [[now, 1]] }]);
    const res = await get(`${G}/label/${name}/values`);
    assert.equal(res.text, '{"status":"success","data":["v1"]}');
    const tooLong = await get(`${G}/label/${'y'.repeat(1100)}/values`);
    assert.equal(tooLong.status, 400, tooLong.text);
    assert.equal(tooLong.json.status, 'error');
    assert.equal(tooLong.json.errorType, 'bad_data');
    assert.equal(tooLong.json.error, 'invalid label name: longer than 1024 characters');
    assert.equal((await get(`${G}/label/${'y'.repeat(1024)}/values`)).text, '{"status":"success","data":[]}');
  });
});
