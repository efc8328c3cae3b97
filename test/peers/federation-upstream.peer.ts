// Upstream mode against real engines: Prometheus (--web.enable-remote-write-receiver),
// VictoriaMetrics single-node and Grafana Mimir (monolithic, header tenancy: each probectl tenant
// is Mimir's tenant by X-Scope-OrgID, asked directly as that tenant too). Two tenants remote-write through probectl; then every query of the
// table through /v1/grafana must answer exactly what the engine answers, asked directly, for the same
// query written by hand with the tenant matcher — and never a series of the other tenant. The
// tenant-escape corpus runs against each engine. Then the engine goes down under a real Prometheus
// remote-writing through probectl: 503, the sender retries, and nothing is lost once it is back.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { form, FORM_HEADERS, holdsNumber, remoteWrite, type WireSeriesSpec } from '../helpers/remote-write.ts';
import { escapeCorpus } from '../federation/fixtures/upstream-escape-corpus.ts';
import { peerTenant, startPrivateCaApp, startPrometheus, startRemoteWritingPrometheus, until } from './prometheus.ts';
import { startVictoriaMetrics } from './victoria-metrics.ts';
import { startMimir } from './mimir.ts';

interface Engine {
  /** Base of its Prometheus HTTP API (`<url>/api/v1/query`). */
  url: string;
  /** probectl's settings for it besides PROBECTL_METRICS_UPSTREAM_URL (write URL, tenancy). */
  env?: Record<string, string>;
  /** Header tenancy: a direct call as a tenant carries `X-Scope-OrgID: <tenant>`. */
  headerTenancy?: boolean;
  /** Whether it serves /federate (Mimir does not). */
  federates: boolean;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

type Result = { metric: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> };

/** The engine asked directly, as `tenant` (its X-Scope-OrgID with header tenancy). */
async function direct(engine: Engine, tenant: string, path: string, params: Record<string, string | readonly string[]>): Promise<any> {
  const headers = { ...FORM_HEADERS, ...(engine.headerTenancy ? { 'x-scope-orgid': tenant } : {}) };
  const res = await request(`${engine.url}${path}`, { method: 'POST', body: form(params), headers, signal: AbortSignal.timeout(20_000) });
  const text = await res.body.text();
  assert.equal(res.statusCode, 200, `${path} ${JSON.stringify(params)}: ${text}`);
  return JSON.parse(text);
}

const sorted = (data: { resultType: string; result: unknown }) => (Array.isArray(data.result)
  ? { resultType: data.resultType, result: [...(data.result as Result[])].sort((x, y) => JSON.stringify(x.metric).localeCompare(JSON.stringify(y.metric))) }
  : data);

const STEP_MS = 15_000;

/** One tenant's series over [start, end] every 15 s; `m` makes each tenant's values its own. */
function tenantSeries(m: number, start: number, end: number, extra: WireSeriesSpec[] = []): WireSeriesSpec[] {
  const ts: number[] = [];
  for (let t = start; t <= end; t += STEP_MS) ts.push(t);
  const at = (f: (k: number) => number) => ts.map((t, k) => [t, f(k)] as const);
  return [
    { labels: { __name__: 'req_total', job: 'api', instance: 'i1' }, samples: at((k) => k * m) },
    { labels: { __name__: 'req_total', job: 'api', instance: 'i2' }, samples: at((k) => k * m * 2 + 1) },
    { labels: { __name__: 'lat_bucket', job: 'api', le: '0.1' }, samples: at((k) => k * m) },
    { labels: { __name__: 'lat_bucket', job: 'api', le: '0.5' }, samples: at((k) => k * m * 3) },
    { labels: { __name__: 'lat_bucket', job: 'api', le: '+Inf' }, samples: at((k) => k * m * 4) },
    { labels: { __name__: 'mem_bytes', job: 'api' }, samples: at((k) => 100 * m + k) },
    { labels: { __name__: 'mem_limit', job: 'api' }, samples: at(() => 1000 * m) },
    { labels: { __name__: 'shared_metric', job: 'x' }, samples: at(() => (m === 1 ? 1 : 7777)) },
    { labels: { __name__: 'shared_bucket', job: 'x', le: '+Inf' }, samples: at((k) => k * m) },
    // A metric named like a PromQL keyword (remote-write takes it).
    { labels: { __name__: 'count', job: 'api' }, samples: at(() => 10 * m) },
    ...extra,
  ];
}

function upstreamSuite(name: string, startEngine: () => Promise<Engine>): void {
  describe(`metrics upstream mode against ${name}`, () => {
    let engine: Engine;
    let app: TestApp;
    let a: { id: string; token: string };
    let b: { id: string; token: string };
    const end = Math.floor(Date.now() / STEP_MS) * STEP_MS - 2 * STEP_MS;
    // 50 minutes: Prometheus's receiver refuses samples more than an hour behind its newest (probectl's own series, recorded at startup).
    const start = end - 3_000_000;
    const t = String(end / 1000);

    before(async () => {
      engine = await startEngine();
      app = await startTestApp({ PROBECTL_METRICS_UPSTREAM_URL: engine.url, ...engine.env, PROBECTL_METRICS_SELF_INTERVAL: '2m', PROBECTL_METRICS_MAX_SERIES: '1000' });
      a = await peerTenant(app, `${name}-a`, ['metrics-read', 'metrics-write']);
      b = await peerTenant(app, `${name}-b`, ['metrics-read', 'metrics-write']);
      for (const [tenant, series] of [[a, tenantSeries(1, start, end)], [b, tenantSeries(7, start, end, [{ labels: { __name__: 'b_only_metric', secret: 'b-only-value' }, samples: [[end, 4242]] }])]] as const) {
        for (let i = 0; i < series.length; i += 3) {
          const res = await remoteWrite(app, tenant.token, series.slice(i, i + 3));
          assert.equal(res.status, 204, res.text);
        }
      }
      await engine.flush();
    });
    after(async () => {
      await app?.close();
      await engine?.stop();
    });

    const T = () => `tenant_id="${a.id}"`;
    const table = (): Array<[string, string]> => [
      ['rate(req_total[5m])', `rate(req_total{${T()}}[5m])`],
      ['sum by (job) (rate(req_total[5m]))', `sum by (job) (rate(req_total{${T()}}[5m]))`],
      ['histogram_quantile(0.9, sum by (le) (rate(lat_bucket[5m])))', `histogram_quantile(0.9, sum by (le) (rate(lat_bucket{${T()}}[5m])))`],
      ['max_over_time(rate(req_total[1m])[30m:1m])', `max_over_time(rate(req_total{${T()}}[1m])[30m:1m])`],
      ['req_total offset 10m', `req_total{${T()}} offset 10m`],
      [`req_total @ ${(end - 1_200_000) / 1000}`, `req_total{${T()}} @ ${(end - 1_200_000) / 1000}`],
      ['label_replace(req_total, "host", "$1", "instance", "(.*)")', `label_replace(req_total{${T()}}, "host", "$1", "instance", "(.*)")`],
      ['mem_bytes / on(job) mem_limit', `mem_bytes{${T()}} / on(job) mem_limit{${T()}}`],
      ['absent(nonexistent_metric{job="api"})', `absent(nonexistent_metric{job="api",${T()}})`],
      ['count({__name__=~"req_total|mem_.*"})', `count({__name__=~"req_total|mem_.*",${T()}})`],
      ['sum by (job) ({__name__="count"})', `sum by (job) ({__name__="count",${T()}})`],
    ];

    // Tenant b's sample values (4242, 7777) as whole numbers: a timestamp such as 1796142420 holds "4242" and is no leak.
    const clean = (text: string, what: string, victimInString = false) => {
      for (const leak of ['b-only-value', ...(victimInString ? [] : [b.id])]) assert.ok(!text.includes(leak), `${what} leaked ${leak}: ${text.slice(0, 300)}`);
      for (const value of [4242, 7777]) assert.ok(!holdsNumber(text, value), `${what} leaked ${value}: ${text.slice(0, 300)}`);
    };

    it('instant queries through /v1/grafana equal the engine\'s answer to the hand-written tenant-scoped query', async () => {
      for (const [query, byHand] of table()) {
        const expected = (await direct(engine, a.id, '/api/v1/query', { query: byHand, time: t })).data;
        const res = await app.request('POST', '/v1/grafana/api/v1/query', { token: a.token, rawBody: form({ query, time: t }), headers: FORM_HEADERS });
        assert.equal(res.status, 200, `${query}: ${res.text}`);
        assert.equal(res.json.status, 'success');
        assert.deepEqual(sorted(res.json.data), sorted(expected), query);
        assert.ok(Array.isArray(expected.result) && expected.result.length > 0, `${query}: the engine has an answer: ${JSON.stringify(expected)}`);
        for (const s of res.json.data.result as Result[]) if (s.metric.tenant_id !== undefined) assert.equal(s.metric.tenant_id, a.id, query);
        clean(res.text, query);
      }
      // absent() of a series the tenant has is empty, as the engine says.
      const res = await app.request('GET', `/v1/grafana/api/v1/query?${form({ query: 'absent(req_total)', time: t })}`, { token: a.token });
      assert.deepEqual(res.json.data, (await direct(engine, a.id, '/api/v1/query', { query: `absent(req_total{${T()}})`, time: t })).data);
      assert.deepEqual(res.json.data.result, []);
    });

    it('range queries equal the engine\'s answer', async () => {
      for (const [query, byHand] of table().slice(0, 4)) {
        const params = { start: String((end - 1_800_000) / 1000), end: t, step: '60' };
        const expected = (await direct(engine, a.id, '/api/v1/query_range', { query: byHand, ...params })).data;
        const res = await app.request('POST', '/v1/grafana/api/v1/query_range', { token: a.token, rawBody: form({ query, ...params }), headers: FORM_HEADERS });
        assert.equal(res.status, 200, `${query}: ${res.text}`);
        assert.deepEqual(sorted(res.json.data), sorted(expected), query);
        assert.ok(expected.result.length > 0);
        clean(res.text, query);
      }
    });

    it('a client that accepts gzip (Grafana, Prometheus) gets the engine\'s compressed answer passed on; one that does not, plain JSON; errors read either way', async () => {
      const [query, byHand] = table()[1] as [string, string];
      const params = { start: String((end - 1_800_000) / 1000), end: t, step: '60' };
      const expected = (await direct(engine, a.id, '/api/v1/query_range', { query: byHand, ...params })).data;
      for (const [path, method] of [['/v1/grafana/api/v1/query_range', 'POST'], [`/v1/grafana/api/v1/query_range?${form({ query, ...params })}`, 'GET']] as const) {
        const post = method === 'POST' ? { rawBody: form({ query, ...params }) } : {};
        const gz = await app.request(method, path, { token: a.token, ...post, headers: { ...(method === 'POST' ? FORM_HEADERS : {}), 'accept-encoding': 'gzip, deflate, br' } });
        assert.equal(gz.status, 200, gz.text);
        assert.deepEqual([gz.headers['vary'], gz.headers['content-type']], ['Accept-Encoding', 'application/json']);
        // Prometheus compresses every answer a gzip client asks for; VictoriaMetrics and Mimir only answers past a size (this one is small).
        const compressed = gz.headers['content-encoding'] === 'gzip';
        if (name === 'Prometheus') assert.ok(compressed, 'Prometheus\'s compressed answer passed on');
        else assert.ok(compressed || gz.headers['content-encoding'] === undefined);
        if (compressed) assert.equal(gz.bytes.subarray(0, 2).toString('hex'), '1f8b', 'a gzip stream');
        const text = compressed ? gunzipSync(gz.bytes).toString('utf8') : gz.text;
        assert.deepEqual(sorted(JSON.parse(text).data), sorted(expected));
        clean(text, 'gzip answer');
        const plain = await app.request(method, path, { token: a.token, ...post, headers: { ...(method === 'POST' ? FORM_HEADERS : {}), 'accept-encoding': 'gzip;q=0, identity' } });
        assert.equal(plain.headers['content-encoding'], undefined);
        assert.deepEqual(sorted(plain.json.data), sorted(expected));
      }
      const fed = await app.request('GET', `/v1/prometheus/federate?${new URLSearchParams([['match[]', 'req_total'], ['match[]', 'mem_bytes']])}`, { token: a.token, headers: { 'accept-encoding': 'gzip' } });
      if (engine.federates) {
        assert.equal(fed.status, 200, fed.text);
        const exposition = fed.headers['content-encoding'] === 'gzip' ? gunzipSync(fed.bytes).toString('utf8') : fed.text;
        assert.match(exposition, new RegExp(`^req_total\\{.*tenant_id="${a.id}"`, 'm'));
        // instance="" on every series that has no instance, as Prometheus's /federate and the embedded store write it
        // (VictoriaMetrics writes none: probectl adds it), so a scraper with honor_labels keeps the same labels in both modes.
        const samples = exposition.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
        assert.ok(samples.length > 0);
        for (const line of samples) assert.match(line, /[{,]instance="[^"]*"[,}]/, `instance on ${line}`);
        assert.match(exposition, /^mem_bytes\{(?:[^\n]*,)?instance=""[,}]/m, 'the series without an instance: an empty one');
        assert.match(exposition, /^req_total\{(?:[^\n]*,)?instance="i1"[,}]/m, 'a series\' own instance kept');
        clean(exposition, 'federate');
      } else {
        // No /federate at the engine (Mimir): its 404 passed on as a refusal, nothing of anyone's series.
        assert.equal(fed.status, 404, fed.text);
        assert.equal(fed.headers['content-encoding'], undefined);
        clean(fed.text, 'federate');
      }
      // A refusal is Prometheus's JSON error, never compressed (an engine's gzip error: upstream-stream.test.ts).
      const refused = await app.request('POST', '/v1/grafana/api/v1/query_range', { token: a.token, rawBody: form({ query: 'rate(req_total[5m])', start: t, end: params.start, step: '60' }), headers: { ...FORM_HEADERS, 'accept-encoding': 'gzip' } });
      assert.equal(refused.status, 400, refused.text);
      assert.equal(refused.headers['content-encoding'], undefined);
      assert.equal(refused.json.status, 'error');
    });

    it('series, labels and label values list only the tenant\'s own, as the engine does for the tenant matcher', async () => {
      const win = { start: String(start / 1000), end: t };
      const bySeries = (x: Array<Record<string, string>>) => [...x].sort((p, q) => JSON.stringify(p).localeCompare(JSON.stringify(q)));
      const series = await app.request('GET', `/v1/grafana/api/v1/series?${form({ 'match[]': '{__name__=~"req_total|b_only_metric"}', ...win })}`, { token: a.token });
      assert.equal(series.status, 200, series.text);
      assert.deepEqual(series.json.data.map((s: Record<string, string>) => s.instance).sort(), ['i1', 'i2']);
      assert.deepEqual(bySeries(series.json.data), bySeries((await direct(engine, a.id, '/api/v1/series', { 'match[]': `{__name__=~"req_total|b_only_metric",${T()}}`, ...win })).data));
      const labels = await app.request('GET', `/v1/grafana/api/v1/labels?${form(win)}`, { token: a.token });
      assert.equal(labels.status, 200, labels.text);
      assert.ok(labels.json.data.includes('instance') && !labels.json.data.includes('secret'), labels.text);
      assert.deepEqual(labels.json.data, (await direct(engine, a.id, '/api/v1/labels', { 'match[]': `{${T()}}`, ...win })).data);
      const values = await app.request('GET', `/v1/grafana/api/v1/label/__name__/values?${form(win)}`, { token: a.token });
      assert.ok(values.json.data.includes('req_total') && !values.json.data.includes('b_only_metric'), values.text);
      const directValues = async (name: string, params: Record<string, string>) => {
        const headers = engine.headerTenancy ? { 'x-scope-orgid': a.id } : {};
        const res = await request(`${engine.url}/api/v1/label/${name}/values?${form({ 'match[]': `{${T()}}`, ...params })}`, { headers, signal: AbortSignal.timeout(20_000) });
        return ((await res.body.json()) as { data: string[] }).data;
      };
      assert.deepEqual(values.json.data, await directValues('__name__', win));
      // limit cuts as Prometheus 2.51+ does, whether the engine takes it (VictoriaMetrics, Mimir) or ignores it (Prometheus 2.42).
      const cut = await app.request('GET', `/v1/grafana/api/v1/label/__name__/values?${form({ ...win, limit: '2' })}`, { token: a.token });
      assert.equal(cut.json.data.length, 2, cut.text);
      assert.ok(cut.json.data.every((v: string) => values.json.data.includes(v)), cut.text);
      assert.deepEqual(cut.json.warnings, ['results truncated due to limit'], cut.text);
      const cutSeries = await app.request('GET', `/v1/grafana/api/v1/series?${form({ 'match[]': 'req_total', ...win, limit: '1' })}`, { token: a.token });
      assert.deepEqual([cutSeries.json.data.length, cutSeries.json.warnings], [1, ['results truncated due to limit']], cutSeries.text);
      const tenants = await app.request('GET', '/v1/grafana/api/v1/label/tenant_id/values', { token: a.token });
      assert.deepEqual(tenants.json.data, [a.id]);
      assert.deepEqual(tenants.json.data, await directValues('tenant_id', {}));
    });

    it('the other tenant sees its own series, as the engine answers for it, and nothing of the first', async () => {
      const B = `tenant_id="${b.id}"`;
      for (const [query, byHand] of [['b_only_metric', `b_only_metric{${B}}`], ['sum by (job) (shared_metric)', `sum by (job) (shared_metric{${B}})`]] as const) {
        const expected = (await direct(engine, b.id, '/api/v1/query', { query: byHand, time: t })).data;
        const res = await app.request('POST', '/v1/grafana/api/v1/query', { token: b.token, rawBody: form({ query, time: t }), headers: FORM_HEADERS });
        assert.equal(res.status, 200, `${query}: ${res.text}`);
        assert.deepEqual(sorted(res.json.data), sorted(expected), query);
        assert.ok(expected.result.length === 1, `${query}: ${JSON.stringify(expected)}`);
        assert.ok(!res.text.includes(a.id), `${query} names the first tenant`);
      }
      const labels = await app.request('GET', `/v1/grafana/api/v1/labels?${form({ start: String(start / 1000), end: t })}`, { token: b.token });
      assert.ok(labels.json.data.includes('secret'), labels.text);
      assert.deepEqual(labels.json.data, (await direct(engine, b.id, '/api/v1/labels', { 'match[]': `{${B}}`, start: String(start / 1000), end: t })).data);
      const tenants = await app.request('GET', '/v1/grafana/api/v1/label/tenant_id/values', { token: b.token });
      assert.deepEqual(tenants.json.data, [b.id]);
    });

    it('a forged tenant_id in a remote-write is replaced by the writer\'s own', async () => {
      const res = await remoteWrite(app, a.token, [{ labels: { __name__: 'forged_metric', job: 'f', tenant_id: b.id }, samples: [[end, 5]] }]);
      assert.equal(res.status, 204, res.text);
      await engine.flush();
      const asA = (await direct(engine, a.id, '/api/v1/query', { query: 'forged_metric', time: t })).data.result as Result[];
      assert.deepEqual(asA.map((s) => s.metric), [{ __name__: 'forged_metric', job: 'f', tenant_id: a.id }]);
      // Nothing under b's id: at the engine (with header tenancy, in b's own engine tenant) and through probectl.
      assert.deepEqual((await direct(engine, b.id, '/api/v1/query', { query: `forged_metric{tenant_id="${b.id}"}`, time: t })).data.result, []);
      const viaB = await app.request('GET', `/v1/grafana/api/v1/query?${form({ query: 'forged_metric', time: t })}`, { token: b.token });
      assert.equal(viaB.status, 200, viaB.text);
      assert.deepEqual(viaB.json.data.result, []);
      if (engine.headerTenancy) {
        // Each engine tenant holds only its own series: asked as a without any tenant matcher, only a's id is there.
        const ids = (await direct(engine, a.id, '/api/v1/query', { query: 'count by (tenant_id) ({__name__=~".+"})', time: t })).data.result as Result[];
        assert.deepEqual(ids.map((s) => s.metric.tenant_id), [a.id]);
      }
    });

    it('the tenant-escape corpus returns nothing of the other tenant', async () => {
      for (const c of escapeCorpus(b.id, a.id)) {
        const res = await app.request('POST', '/v1/grafana/api/v1/query', { token: a.token, rawBody: form({ query: c.query, time: t }), headers: FORM_HEADERS });
        if (c.refused) assert.equal(res.status, 400, `${c.query}: ${res.text}`);
        else assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `${c.query}: ${res.status} ${res.text}`);
        clean(res.text, c.query, c.victimInString);
      }
    });

    it('the cardinality guard counts with the engine\'s series API before forwarding', async () => {
      const many: WireSeriesSpec[] = Array.from({ length: 1001 }, (_, i) => ({ labels: { __name__: 'wide_metric', i: String(i) }, samples: [[end, i]] }));
      for (let i = 0; i < many.length; i += 500) assert.equal((await remoteWrite(app, a.token, many.slice(i, i + 500))).status, 204);
      await engine.flush();
      const res = await app.request('GET', `/v1/grafana/api/v1/query?${form({ query: 'count(wide_metric)', time: t })}`, { token: a.token });
      assert.equal(res.status, 422, res.text);
      assert.equal(res.json.errorType, 'execution');
      const narrow = await app.request('GET', `/v1/grafana/api/v1/query?${form({ query: 'count(wide_metric{i=~"1.."})', time: t })}`, { token: a.token });
      assert.equal(narrow.status, 200, narrow.text);
      assert.equal(narrow.json.data.result[0].value[1], '100');
    });
  });
}

upstreamSuite('Prometheus', async () => {
  const prom = await startPrometheus('global: {}\n', { flags: ['--web.enable-remote-write-receiver'] });
  return { url: prom.url, federates: true, flush: async () => {}, stop: () => prom.stop() };
});

upstreamSuite('VictoriaMetrics', async () => {
  const vm = await startVictoriaMetrics();
  return { url: vm.url, federates: true, flush: () => vm.flush(), stop: () => vm.stop() };
});

upstreamSuite('Mimir', async () => {
  const mimir = await startMimir();
  return {
    url: `${mimir.url}/prometheus`, headerTenancy: true, federates: false,
    env: { PROBECTL_METRICS_UPSTREAM_WRITE_URL: `${mimir.url}/api/v1/push`, PROBECTL_METRICS_UPSTREAM_TENANCY: 'header' },
    // A push is in the ingester's head when it is answered: searchable at once.
    flush: async () => {},
    stop: () => mimir.stop(),
  };
});

describe('metrics upstream down (VictoriaMetrics) under a real Prometheus remote-writing through probectl', () => {
  it('answers 503, Prometheus retries, and nothing is lost once the engine is back', async (t) => {
    let scrapes = 0;
    const exporter = createServer((_req, res) => {
      scrapes++;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(`# TYPE src_counter counter\nsrc_counter ${scrapes}\n`);
    });
    await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', r));
    t.after(() => exporter.close());
    const vm = await startVictoriaMetrics();
    t.after(() => vm.stop());
    const srv = await startPrivateCaApp({ PROBECTL_METRICS_UPSTREAM_URL: vm.url, PROBECTL_METRICS_SELF_INTERVAL: '2m', PROBECTL_METRICS_UPSTREAM_TIMEOUT: '2s' });
    t.after(() => srv.close());
    const tenant = await peerTenant(srv.app, 'outage-tenant', ['metrics-read', 'metrics-write']);
    const prom = await startRemoteWritingPrometheus((exporter.address() as AddressInfo).port, srv, tenant.token, '{ batch_send_deadline: 500ms, max_samples_per_send: 100, min_backoff: 200ms, max_backoff: 2s }');
    t.after(() => prom.stop());
    const inVm = async () => {
      await vm.flush();
      const r = await (await request(`${vm.url}/api/v1/query?${form({ query: `count_over_time(src_counter{tenant_id="${tenant.id}"}[1h])` })}`, { signal: AbortSignal.timeout(5000) })).body.json() as any;
      return Number(r.data.result[0]?.value[1] ?? 0);
    };
    await until(60_000, async () => ((await inVm()) >= 3 ? true : undefined), 'the first samples in VictoriaMetrics');

    await vm.kill();
    const downAt = scrapes;
    await until(60_000, async () => (srv.app.logs.some((l) => l.includes('remote-write not forwarded')) && scrapes >= downAt + 5 ? true : undefined), 'probectl answering 503 while the engine is down');
    const refused = srv.app.logs.filter((l) => l.includes('"route":"/v1/prometheus/write"') && l.includes('"status":503')).length;
    assert.ok(refused >= 1, 'remote-write answered 503');
    await vm.restart();

    // Everything the sender scraped up to a point after the restart reaches the engine: its own TSDB and the engine agree.
    const settledAt = Date.now() + 3000;
    await new Promise((r) => setTimeout(r, 3500));
    const window = `src_counter[1h]`;
    const at = String(settledAt / 1000);
    const senderCount = async () => Number((await prom.api(`/api/v1/query?${form({ query: `count_over_time(${window})`, time: at })}`)).data.result[0].value[1]);
    const expected = await senderCount();
    assert.ok(expected >= downAt + 5, `the sender scraped through the outage: ${expected}`);
    await until(90_000, async () => {
      await vm.flush();
      const r = await (await request(`${vm.url}/api/v1/query?${form({ query: `count_over_time(src_counter{tenant_id="${tenant.id}"}[1h])`, time: at })}`, { signal: AbortSignal.timeout(5000) })).body.json() as any;
      return Number(r.data.result[0]?.value[1] ?? 0) === expected ? true : undefined;
    }, `all ${expected} samples in VictoriaMetrics`);
    // And through probectl, as the tenant.
    const res = await srv.app.request('GET', `/v1/grafana/api/v1/query?${form({ query: `count_over_time(${window})`, time: at })}`, { token: tenant.token });
    assert.equal(res.status, 200, res.text);
    assert.equal(Number(res.json.data.result[0].value[1]), expected);
  });
});
