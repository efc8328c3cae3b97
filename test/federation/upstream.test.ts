// Upstream mode against a local HTTPS stand-in of Grafana Mimir (header tenancy): each tenant is the
// engine's own tenant (X-Scope-OrgID) on every request, the tenant label is still forced, queries
// are full PromQL rewritten from the tree (the caller's text never sent), the cardinality guard and
// the engine's faults map to Prometheus-shaped answers, remote-write gets 503 + Retry-After when the
// engine is down, and startup refuses wrong credentials or a wrong write URL.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Agent, request as undiciRequest } from 'undici';
import type { MetricsRuntime } from '../../src/federation/runtime.ts';
import type { ConfigProblem } from '../../src/config/section.ts';
import { checkUpstream } from '../../src/federation/upstream/check.ts';
import { UpstreamClient } from '../../src/federation/upstream/client.ts';
import { upstreamSettings, type UpstreamSettings } from '../../src/federation/upstream/config.ts';
import { scopeQuery } from '../../src/federation/upstream/promql.ts';
import { parseSecretRef } from '../../src/secrets/ref.ts';
import { startTestApp, tenantWithToken, type TestApp } from '../helpers/app.ts';
import { form, FORM_HEADERS, remoteWrite } from '../helpers/remote-write.ts';
import { MIMIR_AUTH, MIMIR_PASSWORD, mimirUpstreamEnv, selectorsOf, startMimir, type MimirStandIn } from './servers/mimir.ts';

const G = '/v1/grafana/api/v1';
/** The stand-in's variables (mimirUpstreamEnv) with this file's defaults: 1 s per engine call, at most 50 series per read. */
function upstreamEnv(mimir: MimirStandIn, dir: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return mimirUpstreamEnv(mimir, dir, { PROBECTL_METRICS_UPSTREAM_TIMEOUT: '1s', PROBECTL_METRICS_MAX_SERIES: '50', ...extra });
}

/** `n` subqueries `count_over_time(vector(1)[1d:25s])` added up in a balanced tree (within the nesting bound). */
function manySubqueries(n: number): string {
  if (n === 1) return 'count_over_time(vector(1)[1d:25s])';
  const half = Math.floor(n / 2);
  return `(${manySubqueries(half)} + ${manySubqueries(n - half)})`;
}

/** A Mimir stand-in and a scratch directory for one test, both gone when it ends. */
async function standIn(t: TestContext, prefix: string): Promise<{ mimir: MimirStandIn; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mimir = await startMimir({ authorization: MIMIR_AUTH });
  t.after(() => mimir.close());
  return { mimir, dir };
}


describe('metrics upstream mode (header tenancy, Mimir stand-in over HTTPS)', () => {
  let mimir: MimirStandIn;
  let app: TestApp;
  let dir: string;
  let a: { id: string; token: string };
  let b: { id: string; token: string };
  const now = Date.now() - 5000;

  const newTenant = (name: string) => tenantWithToken(app, name, ['metrics-read', 'metrics-write']);
  const last = (path: string) => [...mimir.records].reverse().find((r) => r.path === path);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'probectl-upstream-'));
    mimir = await startMimir({ authorization: MIMIR_AUTH });
    app = await startTestApp(await upstreamEnv(mimir, dir));
    a = await newTenant('upstream-a');
    b = await newTenant('upstream-b');
  });
  after(async () => {
    await app?.close();
    await mimir?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('startup checked the query API and the push endpoint with the credentials and the provider tenant\'s org id', () => {
    const q = mimir.records.find((r) => r.path === '/prometheus/api/v1/query');
    const w = mimir.records.find((r) => r.path === '/api/v1/push');
    assert.ok(q && w, JSON.stringify(mimir.records));
    assert.equal(q.status, 200);
    assert.equal(w.status, 200);
    assert.equal(q.orgId, w.orgId);
    assert.match(q.orgId ?? '', /^[0-9a-f-]{36}$/);
  });

  it('the integrations summary names the engine by origin and API path, never its credentials', async () => {
    const res = await app.request('GET', '/v1/integrations', { token: app.adminToken });
    const metrics = (res.json.integrations as Array<{ name: string; summary: Record<string, unknown> }>).find((i) => i.name === 'metrics');
    assert.deepEqual([metrics?.summary.backend, metrics?.summary.upstream, metrics?.summary.tenancy], ['upstream', `${mimir.origin}/prometheus`, 'header'], res.text);
    assert.ok(!res.text.includes(MIMIR_PASSWORD), 'no secret in the summary');
  });

  it('remote-write: each tenant\'s series arrive under its own org id, tenant_id forced whatever was sent', async () => {
    const ra = await remoteWrite(app, a.token, [{ labels: { __name__: 'shared_metric', job: 'node', tenant_id: b.id }, samples: [[now - 15_000, 1], [now, 2]] }]);
    assert.equal(ra.status, 204, ra.text);
    const rb = await remoteWrite(app, b.token, [{ labels: { __name__: 'shared_metric', job: 'node', secret: 'b-only-value' }, samples: [[now, 99]] }]);
    assert.equal(rb.status, 204, rb.text);
    const sa = mimir.series.get(a.id) ?? [];
    const sb = mimir.series.get(b.id) ?? [];
    assert.deepEqual(sa.map((s) => s.labels), [{ __name__: 'shared_metric', job: 'node', tenant_id: a.id }]);
    assert.deepEqual(sa[0]?.samples, [[now - 15_000, 1], [now, 2]]);
    assert.deepEqual(sb.map((s) => s.labels), [{ __name__: 'shared_metric', job: 'node', secret: 'b-only-value', tenant_id: b.id }]);
    for (const r of mimir.records.filter((x) => x.path === '/api/v1/push')) assert.equal(r.authorization, MIMIR_AUTH);
  });

  it('a full-PromQL query is sent as printed from the tree: own org id, own tenant matcher on every selector, never the caller\'s text', async () => {
    const q = `sum by (job) (rate(shared_metric{tenant_id="${b.id}"}[5m])) # b-only-value\n or on(job) shared_metric{tenant_id=~".+"} offset 1m`;
    const res = await app.request('POST', `${G}/query`, { token: a.token, rawBody: form({ query: q, time: String(now / 1000) }), headers: FORM_HEADERS });
    assert.equal(res.status, 200, res.text);
    const rec = last('/prometheus/api/v1/query');
    assert.ok(rec);
    assert.equal(rec.orgId, a.id);
    const sent = rec.params.find(([k]) => k === 'query')?.[1] ?? '';
    assert.equal(sent, scopeQuery(q, a.id).query);
    assert.ok(!sent.includes('b-only-value') && !sent.includes(b.id) && !sent.includes('.+'), sent);
    const sels = selectorsOf(sent);
    assert.equal(sels?.length, 2);
    for (const s of sels ?? []) assert.deepEqual(s.filter((m) => m.name === 'tenant_id'), [{ name: 'tenant_id', op: '=', value: a.id }]);
    assert.ok(!res.text.includes(b.id) && !res.text.includes('b-only-value'), res.text);
    assert.equal(Number(rec.params.find(([k]) => k === 'time')?.[1]), now / 1000);
    // The guard asked the engine's series API first, with the same tenant-scoped selectors.
    const guard = last('/prometheus/api/v1/series');
    assert.equal(guard?.orgId, a.id);
    assert.deepEqual(guard?.params.filter(([k]) => k === 'match[]').map(([, v]) => v), [`shared_metric{tenant_id="${a.id}"}`]);
  });

  it('gzip is asked of the engine only when the caller\'s Accept-Encoding takes it: an explicit gzip;q=0 is not overridden by *', async () => {
    const cases: Array<[string, string]> = [['gzip', 'gzip'], ['GZIP, deflate', 'gzip'], ['*', 'gzip'], ['identity', 'identity'], ['gzip;q=0, *', 'identity'], ['*, gzip;q=0', 'identity'], ['gzip; Q=0.000, *;q=1', 'identity'], ['identity, gzip;q=0.5', 'identity']];
    for (const [sent, asked] of cases) {
      const res = await app.request('GET', `${G}/query?${form({ query: 'shared_metric', time: String(now / 1000) })}`, { token: a.token, headers: { 'accept-encoding': sent } });
      assert.equal(res.status, 200, res.text);
      assert.equal(last('/prometheus/api/v1/query')?.acceptEncoding, asked, `Accept-Encoding: ${sent}`);
      assert.equal(res.headers.vary, 'Accept-Encoding');
    }
  });

  it('match[] selectors past 65,536 characters together are refused 400 before any reaches the engine (series, labels)', async () => {
    const longSelector = `up{instance=~"${'a|'.repeat(8000)}b"}`;
    const many = Array.from({ length: 5 }, () => `match%5B%5D=${encodeURIComponent(longSelector)}`).join('&');
    for (const path of ['series', 'labels']) {
      const before = mimir.records.length;
      const res = await app.request('POST', `${G}/${path}`, { token: a.token, rawBody: many, headers: FORM_HEADERS });
      assert.equal(res.status, 400, res.text);
      assert.deepEqual([res.json.status, res.json.errorType], ['error', 'bad_data']);
      assert.match(String(res.json.error), /match\[\] selectors together are longer than 65536 characters/);
      assert.equal(mimir.records.length, before, 'nothing was sent to the engine');
    }
  });

  it('labels and label values without match[] ask only for the tenant\'s own series', async () => {
    const labels = await app.request('GET', `${G}/labels`, { token: a.token });
    assert.equal(labels.status, 200, labels.text);
    assert.deepEqual(last('/prometheus/api/v1/labels')?.params.filter(([k]) => k === 'match[]'), [['match[]', `{tenant_id="${a.id}"}`]]);
    assert.deepEqual(labels.json.data, ['__name__', 'job', 'tenant_id']);
    const values = await app.request('GET', `${G}/label/secret/values?${form({ 'match[]': `{__name__="shared_metric",tenant_id="${b.id}"}` })}`, { token: a.token });
    assert.equal(values.status, 200, values.text);
    assert.deepEqual(values.json.data, []);
    assert.deepEqual(last('/prometheus/api/v1/label/secret/values')?.params, [['match[]', `shared_metric{tenant_id="${a.id}"}`]]);
  });

  it('limit cuts series, labels and label values as Prometheus 2.51+ does, also when the engine ignores it (the engine is asked for one more)', async () => {
    const c = await newTenant('upstream-limit');
    const w = await remoteWrite(app, c.token, ['x', 'y', 'z'].map((k) => ({ labels: { __name__: 'limited_metric', k, [`only_${k}`]: '1' }, samples: [[now, 1]] })));
    assert.equal(w.status, 204, w.text);
    const truncated = ['results truncated due to limit'];
    const values = await app.request('GET', `${G}/label/k/values?limit=2`, { token: c.token });
    assert.deepEqual([values.status, values.json.data, values.json.warnings], [200, ['x', 'y'], truncated], values.text);
    assert.deepEqual(last('/prometheus/api/v1/label/k/values')?.params, [['match[]', `{tenant_id="${c.id}"}`], ['limit', '3']]);
    const labels = await app.request('POST', `${G}/labels`, { token: c.token, rawBody: form({ limit: '3' }), headers: FORM_HEADERS });
    assert.deepEqual([labels.status, labels.json.data, labels.json.warnings], [200, ['__name__', 'k', 'only_x'], truncated], labels.text);
    const series = await app.request('GET', `${G}/series?${form({ 'match[]': 'limited_metric', limit: '1' })}`, { token: c.token });
    assert.deepEqual([series.status, series.json.data, series.json.warnings], [200, [{ __name__: 'limited_metric', k: 'x', only_x: '1', tenant_id: c.id }], truncated], series.text);
    // Within the limit (or 0, none): the engine's answer as it came, no warning.
    for (const limit of ['3', '0']) {
      const whole = await app.request('GET', `${G}/label/k/values?limit=${limit}`, { token: c.token });
      assert.equal(whole.text, '{"status":"success","data":["x","y","z"]}');
    }
    const bad = await app.request('GET', `${G}/label/k/values?limit=-1`, { token: c.token });
    assert.deepEqual([bad.status, bad.json.errorType, bad.json.error], [400, 'bad_data', 'invalid parameter "limit": cannot parse "-1" to a valid limit']);
  });

  it('a label name no series can carry (not a legacy name: ".", "..", "a.b", "é") is answered [] here, never put in the engine\'s URL', async () => {
    const before = mimir.records.length;
    for (const name of ['a.b', '%C3%A9', '1abc']) {
      const res = await app.request('GET', `${G}/label/${name}/values`, { token: a.token });
      assert.equal(res.text, '{"status":"success","data":[]}', `${name}: ${res.status}`);
    }
    // "." and ".." as a client that does not resolve dot segments sends them (this test's client would).
    const backend = (app.service.integrations.get('metrics')?.runtime as MetricsRuntime).backend;
    for (const name of ['.', '..']) {
      assert.equal(await backend.labelValues({ tenant: a.id, now: Date.now(), params: new Map() }, name), '{"status":"success","data":[]}', name);
    }
    assert.deepEqual(mimir.records.slice(before).map((r) => r.path), [], 'nothing asked of the engine');
  });

  it('what the enforcer cannot scope is refused and never forwarded', async () => {
    const before = mimir.records.length;
    for (const q of ['info(shared_metric)', '{tenant_id="x"}', 'sum(shared_metric', 'shared_metric[1m+1m]']) {
      const res = await app.request('GET', `${G}/query?${form({ query: q })}`, { token: a.token });
      assert.equal(res.status, 400, `${q}: ${res.text}`);
      assert.equal(res.json.errorType, 'bad_data');
    }
    assert.equal(mimir.records.length, before, 'nothing reached the engine');
  });

  it('a query naming no series is bounded before it is forwarded; a constant is answered here, never sent', async () => {
    const before = mimir.records.length;
    const refused: Array<[string, Record<string, string>, RegExp]> = [
      [`${G}/query`, { query: 'count_over_time(vector(1)[3650d:1ms])' }, /subquery range of 10y is longer than probectl's limit of 400d/],
      [`${G}/query`, { query: 'count_over_time(vector(1)[300d:1ms])' }, /exceeded maximum resolution of 11000 points per timeseries: the subquery \[300d:1ms\] has 25920000000 steps/],
      [`${G}/query`, { query: 'max_over_time(shared_metric[12h:1s])' }, /11000 points per timeseries/],
      [`${G}/query`, { query: 'rate(shared_metric[401d])' }, /range of 401d is longer than probectl's limit of 400d/],
      [`${G}/query_range`, { query: 'max_over_time(vector(1)[1s:1ms])', start: String(now / 1000 - 30 * 86_400), end: String(now / 1000), step: '3600' }, /exceeded maximum resolution of 110000 evaluation steps/],
      [`${G}/query_range`, { query: 'shared_metric', start: '0', end: '20000', step: '1' }, /exceeded maximum resolution of 11,?000 points/],
      // Subqueries side by side, each under its own bound (hundreds of them: 23 s of a real Prometheus, naming no series).
      [`${G}/query_range`, { query: manySubqueries(5), start: String(now / 1000 - 30 * 86_400), end: String(now / 1000), step: '236' }, /440000 evaluation steps of all the query's subqueries together/],
      // A range vector as a range query's expression: Prometheus's own refusal, word for word, before any series is counted.
      ...['shared_metric[5m]', '(shared_metric[5m])', 'shared_metric[5m] offset 1m', 'shared_metric[5m] @ 100', 'rate(shared_metric[5m])[10m:1m]', '((rate(shared_metric[5m])[10m:]) offset 1m)'].map((query): [string, Record<string, string>, RegExp] =>
        [`${G}/query_range`, { query, start: '1000', end: '1600', step: '60' }, /^invalid parameter "query": invalid expression type "range vector" for range query, must be Scalar or instant Vector$/]),
    ];
    for (const [path, params, message] of refused) {
      const res = await app.request('GET', `${path}?${form(params)}`, { token: a.token });
      assert.equal(res.status, 400, `${params.query}: ${res.text}`);
      assert.equal(res.json.errorType, 'bad_data');
      assert.match(res.json.error, message);
    }
    const one = await app.request('GET', `${G}/query?${form({ query: '1 + 2 * 3', time: '1000' })}`, { token: a.token });
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.json.data, { resultType: 'scalar', result: [1000, '7'] });
    const range = await app.request('GET', `${G}/query_range?${form({ query: '2^3', start: '1000', end: '1030', step: '15' })}`, { token: a.token });
    assert.equal(range.status, 200, range.text);
    assert.deepEqual(range.json.data, { resultType: 'matrix', result: [{ metric: {}, values: [[1000, '8'], [1015, '8'], [1030, '8']] }] });
    assert.equal(mimir.records.length, before, 'nothing reached the engine');
    const ok = await app.request('GET', `${G}/query?${form({ query: 'max_over_time(shared_metric[1d:1m])' })}`, { token: a.token });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(last('/prometheus/api/v1/query')?.params.find(([k]) => k === 'query')?.[1], `max_over_time(shared_metric{tenant_id="${a.id}"}[1d:1m])`);
  });

  it('refusals of upstream mode say what upstream mode refuses, not the selectors-only wording', async () => {
    for (const q of ['"just a string"', 'shared_metric[1m+1m]']) {
      const res = await app.request('GET', `${G}/query?${form({ query: q })}`, { token: a.token });
      assert.equal(res.status, 400, res.text);
      assert.doesNotMatch(res.json.error, /only plain series selectors/);
      assert.match(res.json.error, /tenant-scope every series the query reads/);
    }
    const str = await app.request('GET', `${G}/query?${form({ query: '"just a string"' })}`, { token: a.token });
    assert.match(str.json.error, /a string literal as the whole query/);
  });

  it('the engine\'s error message loses name=value pairs and metric[…] forms outside braces too', async () => {
    mimir.failNext(1, 422, JSON.stringify({ status: 'error', errorType: 'execution', error: `series tenant_id="${b.id}", job="secret-job" has duplicate labels; metric up[tenant_id=${b.id}]; other=bare-secret, x!~'q-secret'` }));
    const res = await app.request('GET', `${G}/query?${form({ query: 'shared_metric / shared_metric' })}`, { token: a.token });
    assert.equal(res.status, 422, res.text);
    assert.match(res.json.error, /series tenant_id=…, job=… has duplicate labels; metric up\[…\]/);
    for (const secret of [b.id, 'secret-job', 'bare-secret', 'q-secret']) assert.ok(!res.text.includes(secret), `${secret}: ${res.text}`);
  });

  it('the cardinality guard refuses before the query is forwarded, and keeps its verdict for a while', async () => {
    mimir.seriesCount = 51;
    try {
      const queries = () => mimir.records.filter((r) => r.path === '/prometheus/api/v1/query').length;
      const counts = () => mimir.records.filter((r) => r.path === '/prometheus/api/v1/series').length;
      const [q0, c0] = [queries(), counts()];
      const res = await app.request('GET', `${G}/query?${form({ query: 'sum(guarded_metric)' })}`, { token: a.token });
      assert.equal(res.status, 422, res.text);
      assert.equal(res.json.errorType, 'execution');
      assert.match(res.json.error, /PROBECTL_METRICS_MAX_SERIES/);
      assert.equal(queries(), q0);
      assert.equal(counts(), c0 + 1);
      // The same selectors over the same minutes again: refused from the kept verdict, the engine not asked.
      const again = await app.request('GET', `${G}/query?${form({ query: 'max(guarded_metric)' })}`, { token: a.token });
      assert.equal(again.status, 422, again.text);
      assert.equal(counts(), c0 + 1);
      assert.equal(queries(), q0);
      // Another tenant's verdict is its own.
      const other = await app.request('GET', `${G}/query?${form({ query: 'sum(guarded_metric)' })}`, { token: b.token });
      assert.equal(other.status, 422, other.text);
      assert.equal(counts(), c0 + 2);
    } finally {
      mimir.seriesCount = undefined;
    }
  });

  it('a verdict under the limit is kept too: a refreshed panel asks the series API once, the query every time', async () => {
    const queries = () => mimir.records.filter((r) => r.path === '/prometheus/api/v1/query_range').length;
    const counts = () => mimir.records.filter((r) => r.path === '/prometheus/api/v1/series').length;
    const [q0, c0] = [queries(), counts()];
    const params = form({ query: 'rate(panel_metric[5m])', start: String(now / 1000 - 3600), end: String(now / 1000), step: '15' });
    for (let i = 0; i < 3; i++) {
      const res = await app.request('GET', `${G}/query_range?${params}`, { token: a.token });
      assert.equal(res.status, 200, res.text);
    }
    assert.equal(queries(), q0 + 3);
    assert.equal(counts(), c0 + 1);
    // The guard asked over whole minutes around the window the query reads (start − 5m range − 5m lookback, end + 5m range).
    const guard = mimir.records.filter((r) => r.path === '/prometheus/api/v1/series').at(-1);
    const start = Number(guard?.params.find(([k]) => k === 'start')?.[1]);
    const end = Number(guard?.params.find(([k]) => k === 'end')?.[1]);
    assert.equal(start % 60, 0);
    assert.equal(end % 60, 0);
    assert.ok(start <= now / 1000 - 3600 - 600 && start > now / 1000 - 3600 - 660, String(start));
    assert.ok(end >= now / 1000 + 300 && end < now / 1000 + 360, String(end));
  });

  it('an answer is passed on as it arrives: an engine cut mid-body gives the client a broken answer, never a complete 200', async () => {
    const params = form({ query: 'shared_metric', start: String(now / 1000 - 600), end: String(now / 1000), step: '15' });
    const whole = await app.request('GET', `${G}/query_range?${params}`, { token: a.token });
    assert.equal(whole.status, 200, whole.text);
    assert.equal((whole.json as { status: string }).status, 'success');
    mimir.cutNext(); // the guard's verdict is kept: the next call to the engine is the query itself
    const cut = await app.request('GET', `${G}/query_range?${params}`, { token: a.token }).then(
      (r) => ({ status: r.status, complete: r.json !== undefined, text: r.text }),
      (err: Error) => ({ status: 0, complete: false, text: String(err) }),
    );
    assert.ok(!(cut.status === 200 && cut.complete), `a cut answer must not reach the client as a whole 200: ${cut.text.slice(0, 200)}`);
    // The server is fine afterwards.
    const again = await app.request('GET', `${G}/query_range?${params}`, { token: a.token });
    assert.equal(again.status, 200, again.text);
  });

  it('labels and label values without limit, passed on as they arrive (8c3ce7b): an engine cut mid-body gives a broken answer, never a complete 200', async () => {
    for (const path of [`${G}/labels`, `${G}/label/__name__/values`]) {
      const whole = await app.request('GET', path, { token: a.token });
      assert.equal(whole.status, 200, whole.text);
      assert.ok(Array.isArray((whole.json as { data: unknown }).data), whole.text);
      mimir.cutNext(); // without match[] no guard: the next call to the engine is this one
      const cut = await app.request('GET', path, { token: a.token }).then(
        (r) => ({ status: r.status, complete: r.json !== undefined, text: r.text }),
        (err: Error) => ({ status: 0, complete: false, text: String(err) }),
      );
      assert.ok(!(cut.status === 200 && cut.complete), `${path}: a cut answer must not reach the client as a whole 200: ${cut.text.slice(0, 200)}`);
      assert.equal((await app.request('GET', path, { token: a.token })).status, 200);
    }
  });

  it('the engine\'s 4xx keeps its class, its message without label sets', async () => {
    mimir.failNext(1, 422, JSON.stringify({ status: 'error', errorType: 'execution', error: `found duplicate series for the match group {job="node", tenant_id="${b.id}", secret="b-only-value"} on the right hand-side` }));
    const res = await app.request('GET', `${G}/query?${form({ query: 'shared_metric / shared_metric' })}`, { token: a.token });
    assert.equal(res.status, 422, res.text);
    assert.equal(res.json.errorType, 'execution');
    assert.match(res.json.error, /duplicate series for the match group \{…\}/);
    assert.ok(!res.text.includes(b.id) && !res.text.includes('b-only-value'), res.text);
  });

  it('the engine down: remote-write answers 503 with Retry-After, queries a Prometheus-shaped 503', async () => {
    mimir.failNext(1, 503, 'ingesters unavailable', { 'retry-after': '7' });
    const w = await remoteWrite(app, a.token, [{ labels: { __name__: 'down_metric' }, samples: [[now, 1]] }]);
    assert.equal(w.status, 503, w.text);
    assert.equal(w.headers['retry-after'], '7');
    assert.equal(w.json.code, 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE');
    mimir.failNext(1, 502, 'bad gateway');
    const w2 = await remoteWrite(app, a.token, [{ labels: { __name__: 'down_metric' }, samples: [[now, 1]] }]);
    assert.equal(w2.status, 503);
    assert.equal(w2.headers['retry-after'], '5');
    // A proxy before the engine timing the request out (408) or rate-limiting it (429): transient, retried — never
    // passed on as a 4xx, which a Prometheus sender takes as final and drops the batch.
    for (const status of [408, 429]) {
      mimir.failNext(1, status, 'slow down');
      const t = await remoteWrite(app, a.token, [{ labels: { __name__: 'down_metric' }, samples: [[now, 1]] }]);
      assert.equal(t.status, 503, `${status}: ${t.text}`);
      assert.equal(t.headers['retry-after'], '5');
    }
    // An answer about the write URL or the way to it (no receiver there, a proxy), not about the batch: retried too.
    // Each is logged once, as one error naming the variable (not a second line from the client); the same failure again
    // within 10 s is counted, not logged again (a sender's shards retrying would flood the log).
    const errorLines = () => app.logs.map((l) => JSON.parse(l) as { level: number; msg: string; reason?: string; tenant?: string }).filter((l) => l.level >= 50);
    for (const status of [404, 405, 407, 415, 421, 426]) {
      const before = errorLines().length;
      mimir.failNext(1, status, '404 page not found');
      const t = await remoteWrite(app, a.token, [{ labels: { __name__: 'down_metric' }, samples: [[now, 1]] }]);
      assert.deepEqual([t.status, t.headers['retry-after'], t.json.code], [503, '5', 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE'], `${status}: ${t.text}`);
      assert.match(t.json.message, new RegExp(`HTTP ${status} to the remote-write: the operator must check PROBECTL_METRICS_UPSTREAM_WRITE_URL`));
      const logged = errorLines().slice(before);
      assert.equal(logged.length, 1, JSON.stringify(logged));
      assert.equal(logged[0]?.msg, 'remote-write not forwarded: the metrics engine is unavailable; the sender retries');
      assert.equal(logged[0]?.tenant, a.id);
      assert.match(logged[0]?.reason ?? '', new RegExp(`HTTP ${status} to the remote-write: the operator must check PROBECTL_METRICS_UPSTREAM_WRITE_URL`));
    }
    const beforeAgain = errorLines().length;
    mimir.failNext(1, 404, '404 page not found');
    assert.equal((await remoteWrite(app, a.token, [{ labels: { __name__: 'down_metric' }, samples: [[now, 1]] }])).status, 503);
    assert.equal(errorLines().length, beforeAgain, 'the same failure within 10 s is not logged again');
    // A 400 is about the batch: passed on, the sender drops it.
    mimir.failNext(1, 400, 'out of bounds');
    assert.equal((await remoteWrite(app, a.token, [{ labels: { __name__: 'down_metric' }, samples: [[now, 1]] }])).status, 400);
    // Retried once the engine is back: stored.
    const w3 = await remoteWrite(app, a.token, [{ labels: { __name__: 'down_metric' }, samples: [[now, 1]] }]);
    assert.equal(w3.status, 204, w3.text);
    assert.deepEqual(mimir.series.get(a.id)?.find((s) => s.labels.__name__ === 'down_metric')?.samples, [[now, 1]]);
    mimir.failNext(1, 500, 'internal');
    const q = await app.request('GET', `${G}/query?${form({ query: 'down_metric' })}`, { token: a.token });
    assert.equal(q.status, 503, q.text);
    assert.equal(q.json.status, 'error');
    assert.equal(q.json.errorType, 'unavailable');
  });

  for (const body of ['not json', 'null', '[]', '"x"', '{"status":"success","data":null}']) {
    it(`a 2xx answer ${body} to the guard's series count or the series API is a Prometheus-shaped 503, never a 500`, async () => {
      for (const path of [`${G}/query?${form({ query: 'up{job="x"}' })}`, `${G}/series?${form({ 'match[]': 'up{job="x"}' })}`, `${G}/labels?${form({ 'match[]': 'up{job="x"}' })}`, `/v1/prometheus/federate?${form({ 'match[]': 'up{job="x"}' })}`]) {
        mimir.failNext(1, 200, body);
        const res = await app.request('GET', path, { token: a.token });
        assert.ok(res.status < 500 || res.status === 503, `${path} ${body}: ${res.status} ${res.text}`);
        // The series API passes a parsable answer on as it came; the guard needs a list.
        if (body === 'not json' || (body === 'null' && !path.includes('/series'))) {
          assert.equal(res.status, 503, `${path} ${body}: ${res.text}`);
          assert.match(res.text, /PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE|"errorType":"unavailable"/, res.text);
        }
      }
    });
  }

  it('a call past PROBECTL_METRICS_UPSTREAM_TIMEOUT is cancelled: queries answer errorType timeout, remote-write 503', async () => {
    mimir.hangNext(2);
    const t0 = Date.now();
    const q = await app.request('GET', `${G}/query?${form({ query: 'vector(1)' })}`, { token: a.token });
    assert.equal(q.status, 503, q.text);
    assert.equal(q.json.errorType, 'timeout');
    const w = await remoteWrite(app, a.token, [{ labels: { __name__: 'slow_metric' }, samples: [[now, 1]] }]);
    assert.equal(w.status, 503, w.text);
    assert.equal(w.json.code, 'PROBECTL_ERR_METRICS_UPSTREAM_TIMEOUT');
    assert.match(w.json.message, /^remote-write timed out/);
    assert.match(q.json.error, /^query timed out/);
    assert.ok(Date.now() - t0 < 10_000);
  });

  it('federate is forwarded after enforcement (Mimir has none: its 404 keeps its class)', async () => {
    const res = await app.request('GET', `/v1/prometheus/federate?${form({ 'match[]': `{__name__="shared_metric",tenant_id="${b.id}"}` })}`, { token: a.token });
    assert.equal(res.status, 404, res.text);
    assert.equal(res.json.code, 'PROBECTL_ERR_METRICS_UPSTREAM_REFUSED');
    assert.equal(last('/prometheus/federate')?.orgId, a.id);
    assert.deepEqual(last('/prometheus/federate')?.params, [['match[]', `shared_metric{tenant_id="${a.id}"}`]]);
  });

  it('probectl\'s own series are remote-written into each tenant\'s org', async () => {
    const rt = app.service.integrations.get('metrics')?.runtime as MetricsRuntime;
    await rt.jobs?.recordSelf();
    const own = (mimir.series.get(a.id) ?? []).filter((s) => s.labels.__name__ === 'probectl_incidents_open');
    assert.deepEqual(own.map((s) => s.labels.severity).sort(), ['critical', 'info', 'warning']);
    for (const s of own) assert.equal(s.labels.tenant_id, a.id);
    assert.ok((mimir.series.get(b.id) ?? []).some((s) => s.labels.__name__ === 'probectl_incidents_open' && s.labels.tenant_id === b.id));
  });

  it('the credentials never reach a log line', () => {
    for (const line of app.logs) {
      assert.ok(!line.includes(MIMIR_PASSWORD) && !line.includes(MIMIR_AUTH.slice(6)), line);
    }
  });
});

describe('metrics upstream mode: a client gone mid-answer', () => {
  it('releases the engine\'s connection and the query slot at once (not at a deadline)', async (t) => {
    const { mimir, dir } = await standIn(t, 'probectl-upstream-gone-');
    // One slot for the tenant, deadlines far away: only the client's going can free them in time.
    const app = await startTestApp(await upstreamEnv(mimir, dir, { PROBECTL_METRICS_UPSTREAM_TIMEOUT: '60s', PROBECTL_METRICS_MAX_CONCURRENT_QUERIES: '2', PROBECTL_METRICS_QUERY_TIMEOUT: '60s' }));
    t.after(() => app.close());
    const { token } = await tenantWithToken(app, 'gone', ['metrics-read']);
    const agent = new Agent({ connect: { ca: readFileSync(join(app.dataDir, 'tls', 'server.crt'), 'utf8') } });
    t.after(() => agent.close());
    for (let round = 0; round < 3; round++) {
      mimir.stallNextQuery();
      const res = await undiciRequest(`${app.url}${G}/query?${form({ query: 'shared_metric' })}`, { headers: { authorization: `Bearer ${token}` }, dispatcher: agent, headersTimeout: 5000, bodyTimeout: 5000 });
      assert.equal(res.statusCode, 200);
      const it = res.body[Symbol.asyncIterator]();
      const head = await it.next();
      assert.match(String(head.value), /^\{"status":"success"/);
      assert.equal(mimir.hung, 1, 'the engine is still writing');
      res.body.destroy();
      const deadline = Date.now() + 5000;
      while (mimir.hung > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(mimir.hung, 0, `round ${round}: the engine's connection is still open after the client went`);
    }
    const t0 = Date.now();
    const next = await app.request('GET', `${G}/query?${form({ query: 'shared_metric' })}`, { token });
    assert.equal(next.status, 200, next.text);
    assert.ok(Date.now() - t0 < 5000, `the next query waited ${Date.now() - t0} ms for a slot`);
  });
});

describe('metrics upstream mode: query slots are shared between tenants', () => {
  it('a tenant whose queries hang at the engine holds at most half the slots; another tenant\'s query still runs', async (t) => {
    const { mimir, dir } = await standIn(t, 'probectl-upstream-slots-');
    const app = await startTestApp(await upstreamEnv(mimir, dir, { PROBECTL_METRICS_UPSTREAM_TIMEOUT: '4s', PROBECTL_METRICS_MAX_CONCURRENT_QUERIES: '2', PROBECTL_METRICS_QUERY_TIMEOUT: '20s' }));
    t.after(() => app.close());
    const a = await tenantWithToken(app, 'slots-a', ['metrics-read']);
    const b = await tenantWithToken(app, 'slots-b', ['metrics-read']);
    mimir.hangOrg(a.id);
    const hanging = [1, 2].map(() => app.request('GET', `${G}/query?${form({ query: 'shared_metric' })}`, { token: a.token }));
    try {
      const deadline = Date.now() + 3000;
      while (mimir.hung < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(mimir.hung, 1, 'tenant a holds one slot; its second query waits in line');
      const t0 = Date.now();
      const res = await app.request('GET', `${G}/query?${form({ query: 'shared_metric' })}`, { token: b.token });
      assert.equal(res.status, 200, res.text);
      assert.ok(Date.now() - t0 < 2500, `tenant b answered after ${Date.now() - t0} ms: it waited for tenant a's slots`);
      assert.equal(mimir.hung, 1, 'tenant a\'s queries still hang');
    } finally {
      mimir.hangOrg(undefined);
      for (const r of await Promise.all(hanging)) assert.ok([200, 503].includes(r.status), r.text);
    }
  });
});

describe('metrics upstream startup check', () => {
  it('the server refuses to start with wrong credentials, naming the variable, never the secret', async (t) => {
    const { mimir, dir } = await standIn(t, 'probectl-upstream-check-');
    await assert.rejects(startTestApp(await upstreamEnv(mimir, dir, { PROBECTL_METRICS_UPSTREAM_TOKEN: 'probectl:wrong-password-123' })), (err: Error) => {
      assert.match(err.message, /metrics upstream check failed: .*PROBECTL_METRICS_UPSTREAM_TOKEN/);
      assert.ok(!err.message.includes('wrong-password-123'));
      return true;
    });
  });

  it('names a wrong write URL, an unreachable engine, an untrusted certificate and a non-Prometheus answer', async (t) => {
    const { mimir, dir } = await standIn(t, 'probectl-upstream-check-');
    const check = async (extra: Record<string, string>) => {
      const problems: ConfigProblem[] = [];
      const env = await upstreamEnv(mimir, dir, extra);
      const settings = upstreamSettings({
        upstreamUrl: env.PROBECTL_METRICS_UPSTREAM_URL, upstreamWriteUrl: env.PROBECTL_METRICS_UPSTREAM_WRITE_URL, upstreamCaFile: env.PROBECTL_METRICS_UPSTREAM_CA_FILE || undefined,
        upstreamClientCertFile: undefined, upstreamClientKeyFile: undefined, upstreamToken: parseSecretRef(env.PROBECTL_METRICS_UPSTREAM_TOKEN as string),
        upstreamTenancy: 'header', upstreamTimeout: 1000, upstreamRetention: undefined,
      }, problems);
      assert.deepEqual(problems, []);
      const client = new UpstreamClient(settings as UpstreamSettings, { use: async (ref, fn) => fn(Buffer.from((ref as { value?: string }).value ?? '')) });
      try {
        await checkUpstream(client, '00000000-0000-4000-8000-000000000001');
      } finally {
        await client.close();
      }
    };
    await check({});
    await assert.rejects(check({ PROBECTL_METRICS_UPSTREAM_WRITE_URL: `${mimir.origin}/api/v1/write` }), /no remote-write receiver at PROBECTL_METRICS_UPSTREAM_WRITE_URL \(HTTP 404\)/);
    await assert.rejects(check({ PROBECTL_METRICS_UPSTREAM_URL: mimir.origin }), /no Prometheus-compatible query API at PROBECTL_METRICS_UPSTREAM_URL \(HTTP 404\)/);
    await assert.rejects(check({ PROBECTL_METRICS_UPSTREAM_URL: 'https://127.0.0.1:1/prometheus' }), (err: Error) => /the query API at https:\/\/127\.0\.0\.1:1 \(PROBECTL_METRICS_UPSTREAM_URL\): the metrics engine is unavailable \(unreachable\)$/.test(err.message) && !/retry/.test(err.message));
    await assert.rejects(check({ PROBECTL_METRICS_UPSTREAM_CA_FILE: '' }), /\(PROBECTL_METRICS_UPSTREAM_URL, or PROBECTL_METRICS_UPSTREAM_CA_FILE for its certificate\): .*TLS verification failed/);
    await assert.rejects(check({ PROBECTL_METRICS_UPSTREAM_TOKEN: 'probectl:not-it' }), (err: Error) => /PROBECTL_METRICS_UPSTREAM_TOKEN/.test(err.message) && !err.message.includes('not-it'));
  });

  it('refuses plaintext to a non-loopback engine and stray upstream variables in embedded mode', () => {
    const problems: ConfigProblem[] = [];
    const base = { upstreamWriteUrl: undefined, upstreamCaFile: undefined, upstreamClientCertFile: undefined, upstreamClientKeyFile: undefined, upstreamToken: undefined, upstreamTenancy: 'label' as const, upstreamTimeout: 30_000, upstreamRetention: undefined };
    assert.equal(upstreamSettings({ ...base, upstreamUrl: 'http://metrics.example.com:9090' }, problems), undefined);
    assert.equal(problems[0]?.variable, 'PROBECTL_METRICS_UPSTREAM_URL');
    assert.match(problems[0]?.problem ?? '', /plain http:\/\/ is refused/);
    problems.length = 0;
    assert.equal(upstreamSettings({ ...base, upstreamUrl: undefined, upstreamToken: parseSecretRef('env:X') }, problems), undefined);
    assert.deepEqual(problems.map((p) => p.variable), ['PROBECTL_METRICS_UPSTREAM_TOKEN']);
    problems.length = 0;
    const ok = upstreamSettings({ ...base, upstreamUrl: 'http://127.0.0.1:9090/' }, problems);
    assert.equal(ok?.writeUrl.href, 'http://127.0.0.1:9090/api/v1/write');
  });
});
