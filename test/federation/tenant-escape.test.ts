import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { compressSync } from 'snappy';
import { startTestApp, type ApiResponse, type TestApp } from '../helpers/app.ts';
import { encodeWriteRequest, form, FORM_HEADERS, holdsNumber, REMOTE_WRITE_HEADERS, remoteWrite } from '../helpers/remote-write.ts';

const G = '/v1/grafana/api/v1';

/**
 * Tenant B, holding metrics-read and metrics-write, tries every way a
 * selector can name tenant A — through every surface that takes one (query
 * and match[], URL and form body, both at once) — and remote-writes series
 * labelled with A's tenant. Not one byte of A's series may come back, ever;
 * and no input of the fuzzers gets a 5xx.
 */
describe('metrics federation: the tenant is forced on every surface', () => {
  let app: TestApp;
  let a: { id: string; token: string };
  let b: { id: string; token: string };
  let now: number;

  const newTenant = async (name: string) => {
    const id = (await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name } })).json.id as string;
    const tok = (await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant: id, permissions: ['metrics-read', 'metrics-write'], name: 't' } })).json.token as string;
    return { id, token: tok };
  };

  before(async () => {
    app = await startTestApp({ PROBECTL_METRICS_SELF_INTERVAL: '2m' });
    a = await newTenant('victim');
    b = await newTenant('attacker');
    now = Date.now() - 10_000;
    const aw = await remoteWrite(app, a.token, [
      { labels: { __name__: 'victim_metric', secret: 'a-secret-label' }, samples: [[now - 30_000, 1234.5], [now, 1234.5]] },
      { labels: { __name__: 'shared_name', job: 'x' }, samples: [[now - 30_000, 1234.5], [now, 1234.5]] },
    ]);
    assert.equal(aw.status, 204, aw.text);
    const bw = await remoteWrite(app, b.token, [{ labels: { __name__: 'shared_name', job: 'x' }, samples: [[now - 30_000, 7], [now, 7]] }]);
    assert.equal(bw.status, 204, bw.text);
  });
  after(() => app?.close());

  /** Nothing of A: not its tenant id, its label value, its metric name or its sample value. */
  const clean = (res: Pick<ApiResponse, 'status' | 'text'>, what: string) => {
    assert.ok(res.status === 200 || res.status === 400, `${what}: ${res.status} ${res.text}`);
    for (const leak of [a.id, a.id.toUpperCase(), 'a-secret-label', 'victim_metric']) {
      assert.ok(!res.text.includes(leak), `${what} leaked ${leak}: ${res.text.slice(0, 400)}`);
    }
    // A's sample value as a whole number (a timestamp such as 1796141234.567 holds "1234.5" and is no leak).
    assert.ok(!holdsNumber(res.text, 1234.5), `${what} leaked 1234.5: ${res.text.slice(0, 400)}`);
  };

  const corpus = (): string[] => {
    const A = a.id;
    const B = b.id;
    return [
      `shared_name{tenant_id="${A}"}`, `shared_name{tenant_id!="${B}"}`, `shared_name{tenant_id=~".*"}`, `shared_name{tenant_id=~".+"}`,
      `shared_name{tenant_id!~"${B}"}`, `shared_name{tenant_id="${A}",tenant_id="${A}"}`, `shared_name{tenant_id="${B}",tenant_id="${A}"}`,
      `shared_name{tenant_id=~"(?i)${A.toUpperCase()}"}`, `shared_name{tenant_id=~"${A}|${B}"}`, `shared_name{tenant_id=""}`,
      '{__name__=~".+"}', '{__name__=~".+",tenant_id=~".+"}', '{__name__=~"victim.*"}', '{__name__="victim_metric"}', 'victim_metric',
      `{"tenant_id"="${A}",__name__=~".+"}`, `{"__name__"="victim_metric","tenant_id"="${A}"}`, `{secret="a-secret-label"}`,
      `shared_name{job="x\\",tenant_id=\\"${A}"}`, `shared_name{job='x',tenant_id='${A}'}`, `shared_name{tenant_id=\`${A}\`}`,
      `shared_name{tenant_id="\\u0041"}`, `shared_name{job="x"} # {tenant_id="${A}"}`, `shared_name{tenant_ıd="${A}"}`, `shared_name{"tenant_id\\u0000"="${A}"}`,
      `shared_name{tenant_id="${A}"} or victim_metric`, `victim_metric{tenant_id="${A}"} + 0`, `sum by (tenant_id) (shared_name)`, `{__name__=~".+"}[5m]`,
      `shared_name{tenant_id="${A}"}[5m]`, `shared_name{tenant_id="${A}"} @ end()`, `shared_name{tenant_id="${A}"} offset -1m`, `(shared_name{tenant_id="${A}"})`,
      `label_replace(shared_name, "tenant_id", "${A}", "", "")`, `{tenant_id="${A}"}`, `{tenant_id=~".+"}`, `shared_name{tenant_id="${A}"}\n`,
    ];
  };

  it('the corpus through query and query_range (GET and form POST) and query_exemplars: zero bytes of A', async () => {
    const t = (now / 1000).toFixed(3);
    for (const q of corpus()) {
      clean(await app.request('GET', `${G}/query?${form({ query: q, time: t })}`, { token: b.token }), `GET query ${q}`);
      clean(await app.request('POST', `${G}/query`, { token: b.token, rawBody: form({ query: q, time: t }), headers: FORM_HEADERS }), `POST query ${q}`);
      const range = { query: q, start: String(now / 1000 - 120), end: t, step: '15' };
      clean(await app.request('GET', `${G}/query_range?${form(range)}`, { token: b.token }), `GET query_range ${q}`);
      clean(await app.request('POST', `${G}/query_range`, { token: b.token, rawBody: form(range), headers: FORM_HEADERS }), `POST query_range ${q}`);
      clean(await app.request('GET', `${G}/query_exemplars?${form({ query: q })}`, { token: b.token }), `exemplars ${q}`);
    }
    const own = await app.request('GET', `${G}/query?${form({ query: `shared_name{tenant_id="${a.id}"}`, time: (now / 1000).toFixed(3) })}`, { token: b.token });
    assert.deepEqual(own.json.data.result.map((r: { metric: Record<string, string>; value: [number, string] }) => [r.metric.tenant_id, r.value[1]]), [[b.id, '7']], 'B gets its own series, never A\'s');
  });

  it('the corpus as match[] to series, labels, label values and federate — URL, form body and both at once', async () => {
    for (const m of corpus()) {
      const url = form({ 'match[]': m });
      clean(await app.request('GET', `${G}/series?${url}`, { token: b.token }), `series ${m}`);
      clean(await app.request('POST', `${G}/series?${form({ 'match[]': 'shared_name' })}`, { token: b.token, rawBody: form({ 'match[]': [m, `{tenant_id="${a.id}",__name__=~".+"}`] }), headers: FORM_HEADERS }), `series body+URL ${m}`);
      clean(await app.request('GET', `${G}/labels?${url}`, { token: b.token }), `labels ${m}`);
      clean(await app.request('POST', `${G}/labels`, { token: b.token, rawBody: url, headers: FORM_HEADERS }), `POST labels ${m}`);
      for (const name of ['secret', '__name__', 'tenant_id', 'job']) clean(await app.request('GET', `${G}/label/${name}/values?${url}`, { token: b.token }), `label ${name} values ${m}`);
      clean(await app.request('GET', `/v1/prometheus/federate?${url}&${form({ 'match[]': '{__name__=~".+"}' })}`, { token: b.token }), `federate ${m}`);
    }
    for (const name of ['secret', '__name__', 'tenant_id']) clean(await app.request('GET', `${G}/label/${name}/values`, { token: b.token }), `label ${name} values, no match[]`);
    clean(await app.request('GET', `${G}/labels`, { token: b.token }), 'labels, no match[]');
    const values = await app.request('GET', `${G}/label/tenant_id/values`, { token: b.token });
    assert.deepEqual(values.json.data, [b.id]);
  });

  it('remote-written series carrying another tenant\'s tenant_id are stored in the writer\'s tenant', async () => {
    const forged = await remoteWrite(app, b.token, [
      { labels: [['__name__', 'forged_metric'], ['tenant_id', a.id]], samples: [[now, 1]] },
      { labels: [['tenant_id', a.id], ['__name__', 'forged_metric'], ['job', 'y']], samples: [[now, 2]] },
    ]);
    assert.equal(forged.status, 204, forged.text);
    const inA = await app.request('GET', `${G}/series?${form({ 'match[]': 'forged_metric' })}`, { token: a.token });
    assert.deepEqual(inA.json.data, [], 'nothing lands in A');
    const inB = await app.request('GET', `${G}/series?${form({ 'match[]': 'forged_metric' })}`, { token: b.token });
    assert.deepEqual(inB.json.data, [{ __name__: 'forged_metric', job: 'y', tenant_id: b.id }, { __name__: 'forged_metric', tenant_id: b.id }], 'in Prometheus\'s label order');
    const fed = await app.request('GET', `/v1/prometheus/federate?${form({ 'match[]': 'forged_metric' })}`, { token: a.token });
    assert.equal(fed.text, '');
  });

  it('fuzz: no parameter, form body or path of the Prometheus API gets a 5xx; refusals keep Prometheus\'s shape', async () => {
    const routes: Array<['GET' | 'POST', string]> = [
      ['GET', '/query'], ['POST', '/query'], ['GET', '/query_range'], ['POST', '/query_range'], ['GET', '/series'], ['POST', '/series'],
      ['GET', '/labels'], ['POST', '/labels'], ['GET', '/label/job/values'], ['GET', '/metadata'], ['GET', '/query_exemplars'], ['GET', '/status/buildinfo'],
    ];
    const names = fc.oneof(fc.constantFrom('query', 'time', 'start', 'end', 'step', 'match[]', 'limit', 'timeout', 'lookback_delta', 'match'), fc.string({ maxLength: 6 }));
    const piece = fc.oneof(
      fc.constantFrom('up', '{__name__=~".+"}', '1+1', 'NaN', '-Inf', '1e400', '0x1p3', '2026-01-01T00:00:00Z', '-292273086-05-16T16:47:06Z', '5m', '-1', '0', '1e-9', '9223372036854775807', '{', '"', '\\', '[5m]', '@', 'offset', ' ', '%', '+'),
      fc.string({ maxLength: 12 }),
      fc.string({ unit: 'binary', maxLength: 8 }).filter((s) => s.isWellFormed() && !s.includes('\u0000')),
    );
    const value = fc.array(piece, { maxLength: 4 }).map((p) => p.join(''));
    const params = fc.array(fc.tuple(names, value), { maxLength: 6 });
    const rawBody = fc.oneof(params.map((p) => form(Object.fromEntries(p))), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')), fc.constantFrom('query=%', 'a=%E0%A4', 'query=%00', '&&&=', 'match[]=%ff'));
    await fc.assert(fc.asyncProperty(fc.constantFrom(...routes), params, rawBody, async ([method, path], p, body) => {
      const res = method === 'GET'
        ? await app.request('GET', `${G}${path}?${p.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`, { token: b.token })
        : await app.request('POST', `${G}${path}`, { token: b.token, rawBody: Buffer.from(body, 'latin1'), headers: FORM_HEADERS });
      assert.ok(res.status < 500, `${method} ${path} → ${res.status} ${res.text}`);
      if (res.status >= 400) {
        assert.equal(res.json?.status, 'error', res.text);
        assert.ok(['bad_data', 'execution', 'not_found'].includes(res.json.errorType), res.text);
      }
      clean(res.status === 200 || res.status >= 400 ? { status: res.status >= 400 ? 400 : 200, text: res.text } : res, `${method} ${path}`);
    }), { numRuns: 300 });
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 40 }), async (name) => {
      const res = await app.request('GET', `${G}/label/${encodeURIComponent(name)}/values`, { token: b.token });
      assert.ok(res.status < 500, `${name} → ${res.status} ${res.text}`);
    }), { numRuns: 100 });
  });

  it('fuzz: no remote-write body — garbage, corrupt snappy, mutated protobuf — gets a 5xx or stores into another tenant', async () => {
    const valid = encodeWriteRequest([{ labels: { __name__: 'fz', tenant_id: a.id }, samples: [[now, 1]] }]);
    const raw = Buffer.from(compressSync(Buffer.alloc(0)));
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(compressSync(Buffer.from(b)))),
      fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, v]) => {
        const m = Buffer.from(valid);
        m[i] = v;
        return m;
      }),
      fc.nat(valid.length).map((n) => valid.subarray(0, n)),
      fc.constant(raw),
    );
    const type = fc.constantFrom(REMOTE_WRITE_HEADERS['content-type'], 'application/x-protobuf;proto=prometheus.WriteRequest', 'application/x-protobuf;proto=io.prometheus.write.v2.Request', 'text/plain', '');
    await fc.assert(fc.asyncProperty(body, type, async (bytes, t) => {
      const headers: Record<string, string> = { ...REMOTE_WRITE_HEADERS, 'content-type': t };
      if (t === '') delete headers['content-type'];
      const res = await app.request('POST', '/v1/prometheus/write', { token: b.token, rawBody: bytes, headers });
      assert.ok([204, 400, 415].includes(res.status), `${res.status} ${res.text}`);
    }), { numRuns: 200 });
    const inA = await app.request('GET', `${G}/series?${form({ 'match[]': '{__name__=~"fz.*"}' })}`, { token: a.token });
    assert.deepEqual(inA.json.data, [], 'whatever was stored went to the writer');
  });
});
