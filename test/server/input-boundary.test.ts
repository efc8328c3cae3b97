import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { allRoutes } from '../../src/server/routes/index.ts';
import type { RouteDef } from '../../src/server/route.ts';
import { startTestApp, type ApiResponse, type TestApp } from '../helpers/app.ts';
import { countRows } from '../helpers/rows.ts';

const HOLE = '\u0001HOLE\u0001';

/** A hostile JSON fragment put where a route expects a value, with what the answer must say. */
interface Hostile {
  name: string;
  fragment: string | Buffer;
  code: 'PROBECTL_ERR_JSON_REFUSED' | 'PROBECTL_ERR_BAD_JSON';
  /** Expected `path` given the path of the field the fragment was put in (undefined: starts with it). */
  path?: (field: string) => string;
  message: RegExp;
}

const times = (n: number, f: (k: number) => string) => Array.from({ length: n }, (_, k) => f(k)).join(',');

const HOSTILE: Hostile[] = [
  { name: 'escaped NUL in a string', fragment: '"a\\u0000b"', code: 'PROBECTL_ERR_JSON_REFUSED', path: (f) => f, message: /NUL character/ },
  { name: 'raw NUL in a string', fragment: Buffer.from('"a\u0000b"'), code: 'PROBECTL_ERR_BAD_JSON', path: (f) => f, message: /unescaped control character U\+0000/ },
  { name: 'lone low surrogate', fragment: '"\\udfff"', code: 'PROBECTL_ERR_JSON_REFUSED', path: (f) => f, message: /lone UTF-16 surrogate/ },
  { name: 'lone high surrogate at the end', fragment: '"title\\ud800"', code: 'PROBECTL_ERR_JSON_REFUSED', path: (f) => f, message: /lone UTF-16 surrogate/ },
  { name: 'NUL in a key', fragment: '{"k\\u0000":1}', code: 'PROBECTL_ERR_JSON_REFUSED', path: (f) => `${f}["k\\u0000"]`, message: /key contains a NUL/ },
  { name: 'lone surrogate in a key', fragment: '{"ok":{"\\udfff":1}}', code: 'PROBECTL_ERR_JSON_REFUSED', path: (f) => `${f}.ok["\\udfff"]`, message: /key contains a lone UTF-16 surrogate/ },
  { name: 'integer beyond 2^53', fragment: '9007199254740993', code: 'PROBECTL_ERR_JSON_REFUSED', path: (f) => f, message: /9007199254740993.*send big or exact numbers as strings/ },
  { name: 'overflowing number', fragment: '1e400', code: 'PROBECTL_ERR_JSON_REFUSED', path: (f) => f, message: /1e400 .*send big or exact numbers as strings/ },
  { name: 'underflowing number', fragment: '1e-400', code: 'PROBECTL_ERR_JSON_REFUSED', path: (f) => f, message: /would become 0/ },
  { name: 'too precise number', fragment: '1.00000000000000000001', code: 'PROBECTL_ERR_JSON_REFUSED', path: (f) => f, message: /would become 1\)/ },
  { name: '__proto__ key', fragment: '{"__proto__":{"isAdmin":true}}', code: 'PROBECTL_ERR_JSON_REFUSED', path: (f) => `${f}.__proto__`, message: /"__proto__" key is refused/ },
  { name: 'constructor.prototype', fragment: '{"constructor":{"prototype":{"isAdmin":true}}}', code: 'PROBECTL_ERR_JSON_REFUSED', path: (f) => `${f}.constructor.prototype`, message: /"prototype" key inside a "constructor"/ },
  { name: '100,000 levels of nesting', fragment: `${'['.repeat(100_000)}${']'.repeat(100_000)}`, code: 'PROBECTL_ERR_JSON_REFUSED', message: /nesting deeper than 32 levels/ },
  { name: '1,001 keys in one object', fragment: `{${times(1001, (k) => `"k${k}":0`)}}`, code: 'PROBECTL_ERR_JSON_REFUSED', path: (f) => f, message: /more than 1000 members/ },
  { name: '10,001 items in one array', fragment: `[${times(10_001, () => '0')}]`, code: 'PROBECTL_ERR_JSON_REFUSED', path: (f) => `${f}[10000]`, message: /more than 10000 items/ },
  { name: 'more than 100,000 values', fragment: `[${times(101, () => `[${times(999, () => '0')}]`)}]`, code: 'PROBECTL_ERR_JSON_REFUSED', message: /more than 100000 values/ },
  { name: 'invalid UTF-8', fragment: Buffer.from([0x22, 0xed, 0xbf, 0xbf, 0x22]), code: 'PROBECTL_ERR_BAD_JSON', path: () => '$', message: /not valid UTF-8/ },
  { name: 'truncated JSON', fragment: '"unterminated', code: 'PROBECTL_ERR_BAD_JSON', message: /not valid JSON/ },
];

/** A body whose field `at` holds HOLE; the rest is valid, so the route would write if the hole were benign. */
interface JsonRouteCase {
  token: () => string;
  url: () => string;
  body: () => unknown;
  at: string;
  /** A benign value for the hole and the status it gets (proves the body is otherwise valid). */
  benign: string;
  benignStatus: number;
}

describe(`one JSON boundary for every route that takes JSON (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let app: TestApp;
  let tenant: string;
  let token: string;
  let incident: string;
  const rows = () => countRows(app.service.deps.db, [app.service.deps.providerTenantId, tenant]);
  const jsonRoutes = allRoutes({ metricsPublic: false }).filter((r) => r.schema.body !== undefined);
  const key = (r: RouteDef) => `${r.method} ${r.url}`;

  const CASES: Record<string, JsonRouteCase> = {
    'POST /v1/tenants': { token: () => app.adminToken, url: () => '/v1/tenants', body: () => ({ name: HOLE }), at: '$.name', benign: '"benign-tenant"', benignStatus: 201 },
    'POST /v1/tokens': { token: () => token, url: () => '/v1/tokens', body: () => ({ tenant, permissions: ['incidents-read'], name: HOLE }), at: '$.name', benign: '"benign"', benignStatus: 201 },
    'POST /v1/signals': {
      token: () => token, url: () => '/v1/signals',
      body: () => [{ kind: 'tls.expired', severity: 'warning', confidence: 50, target: 'web:443', title: 'first of the batch' }, { kind: 'tls.expired', severity: 'warning', confidence: 50, target: 'web:443', title: 'ok', attributes: { a: HOLE } }],
      at: '$[1].attributes.a', benign: '"fine"', benignStatus: 201,
    },
    'POST /v1/observations': { token: () => token, url: () => '/v1/observations', body: () => ({ observations: [{ src_ip: '198.51.100.7', agent: HOLE }] }), at: '$.observations[0].agent', benign: '"probe-1"', benignStatus: 201 },
    'POST /v1/indicators': { token: () => token, url: () => '/v1/indicators', body: () => ({ indicators: [{ value: '198.51.100.9', confidence: 50, source: HOLE }] }), at: '$.indicators[0].source', benign: '"feed"', benignStatus: 201 },
    'PATCH /v1/incidents/:id': { token: () => token, url: () => `/v1/incidents/${incident}`, body: () => ({ status: HOLE }), at: '$.status', benign: '"acknowledged"', benignStatus: 200 },
    'POST /v1/keys/rotate': { token: () => app.adminToken, url: () => '/v1/keys/rotate', body: () => ({ tenant: HOLE }), at: '$.tenant', benign: 'null', benignStatus: 400 },
    'POST /v1/siem/parked/retry': { token: () => token, url: () => '/v1/siem/parked/retry', body: () => ({ tenant: HOLE }), at: '$.tenant', benign: 'null', benignStatus: 400 },
    'POST /v1/siem/replay': { token: () => token, url: () => '/v1/siem/replay', body: () => ({ from: 1, stream: HOLE }), at: '$.stream', benign: '"audit"', benignStatus: 409 },
    'POST /v1/notify/test': { token: () => token, url: () => '/v1/notify/test', body: () => ({ connector: HOLE }), at: '$.connector', benign: '"pagerduty-0123456789"', benignStatus: 409 },
    'POST /v1/notify/failed/retry': { token: () => token, url: () => '/v1/notify/failed/retry', body: () => ({ connector: HOLE }), at: '$.connector', benign: '"jira-0123456789"', benignStatus: 409 },
    'POST /v1/agents': { token: () => token, url: () => '/v1/agents', body: () => ({ name: 'probe-boundary', hostname: HOLE }), at: '$.hostname', benign: '"probe.example"', benignStatus: 201 },
    'POST /v1/notify/sign': { token: () => token, url: () => '/v1/notify/sign', body: () => ({ id: 'jira1', body: HOLE }), at: '$.body', benign: '"{}"', benignStatus: 409 },
  };

  const bodyWith = (c: JsonRouteCase, fragment: string | Buffer): Buffer => {
    const [head, tail] = JSON.stringify(c.body()).split(JSON.stringify(HOLE)) as [string, string];
    return Buffer.concat([Buffer.from(head), typeof fragment === 'string' ? Buffer.from(fragment) : fragment, Buffer.from(tail)]);
  };
  const send = (r: RouteDef, c: JsonRouteCase, body: Buffer): Promise<ApiResponse> =>
    app.request(r.method, c.url(), { token: c.token(), rawBody: body, headers: { 'content-type': 'application/json' } });

  before(async () => {
    app = await startTestApp();
    tenant = (await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name: 'boundary' } })).json.id;
    token = (await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant, permissions: ['admin'], name: 'boundary' } })).json.token;
    await app.request('POST', '/v1/indicators', { token, body: { indicators: [{ value: '198.51.100.7', confidence: 90, source: 'feed' }] } });
    incident = (await app.request('POST', '/v1/signals', { token, body: { kind: 'tls.expired', severity: 'warning', confidence: 50, target: 'db:5432', title: 'incident to patch' } })).json.signals[0].incident_id;
  });
  after(() => app.close());

  it('every route that takes JSON has a case here (a new one cannot skip the table)', () => {
    assert.deepEqual(jsonRoutes.map(key).sort(), Object.keys(CASES).sort());
  });

  it('refuses every hostile body on every JSON route with 400, its code and the JSON path, and writes nothing', async () => {
    const before = await rows();
    for (const r of jsonRoutes) {
      const c = CASES[key(r)] as JsonRouteCase;
      for (const h of HOSTILE) {
        const res = await send(r, c, bodyWith(c, h.fragment));
        const label = `${key(r)} with ${h.name}: ${res.text.slice(0, 300)}`;
        assert.equal(res.status, 400, label);
        assert.equal(res.json?.code, h.code, label);
        assert.match(res.json.message, h.message, label);
        const path = h.path ? h.path(c.at) : undefined;
        if (path !== undefined) assert.equal(res.json.path, path, label);
        else assert.ok(String(res.json.path).startsWith(h.code === 'PROBECTL_ERR_BAD_JSON' ? '$' : c.at), label);
        assert.ok(res.json.message.includes(res.json.path), `${label}: the message names the path`);
      }
    }
    assert.deepEqual(await rows(), before, 'no hostile body wrote a row');
  });

  it('the same bodies with a benign value are accepted, so the refusals above came from the hostile part', async () => {
    for (const r of jsonRoutes) {
      const c = CASES[key(r)] as JsonRouteCase;
      const res = await send(r, c, bodyWith(c, c.benign));
      assert.equal(res.status, c.benignStatus, `${key(r)}: ${res.text}`);
    }
  });

  it('a title with a lone surrogate is refused, not stored as U+FFFD', async () => {
    const res = await app.request('POST', '/v1/signals', { token, rawBody: '{"kind":"x","severity":"info","confidence":5,"target":"t","title":"a\\udfffb"}', headers: { 'content-type': 'application/json' } });
    assert.deepEqual([res.status, res.json.code, res.json.path], [400, 'PROBECTL_ERR_JSON_REFUSED', '$.title']);
    const incidents = (await app.request('GET', '/v1/incidents', { token })).json.incidents as Array<{ title: string }>;
    assert.ok(incidents.every((i) => !i.title.includes('\ufffd')));
  });

  it('numbers that survive are stored exactly as sent', async () => {
    const res = await app.request('POST', '/v1/signals', { token, rawBody: '{"kind":"num.check","severity":"info","confidence":5,"target":"n","title":"n","attributes":{"a":9007199254740991,"b":0.1,"c":1e300,"d":-0.5e-7,"e":"9007199254740993"}}', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 201, res.text);
    const stored = (await app.request('GET', `/v1/incidents/${res.json.signals[0].incident_id}`, { token })).json.signals[0].attributes;
    assert.deepEqual(stored, { a: 9007199254740991, b: 0.1, c: 1e300, d: -0.5e-7, e: '9007199254740993' });
  });

  it('a JSON body declared in a charset other than UTF-8 is refused (415), never reinterpreted', async () => {
    const res = await app.request('POST', '/v1/tenants', { token: app.adminToken, rawBody: '{"name":"latin"}', headers: { 'content-type': 'application/json; charset=iso-8859-1' } });
    assert.deepEqual([res.status, res.json.code], [415, 'PROBECTL_ERR_UNSUPPORTED_MEDIA_TYPE']);
    const ok = await app.request('POST', '/v1/tenants', { token: app.adminToken, rawBody: '{"name":"utf8-declared"}', headers: { 'content-type': 'application/json; charset=UTF-8' } });
    assert.equal(ok.status, 201, ok.text);
  });

  it('query strings and path parameters: NUL, lone surrogates and invalid percent-encoding are 400 naming the parameter, never 500', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/v1/indicators?after=a%00b', /query parameter "after" contains a NUL/],
      ['/v1/indicators?after=%ED%BF%BF', /query parameter "after" is not valid percent-encoded UTF-8/],
      ['/v1/indicators?after=%FF', /query parameter "after" is not valid percent-encoded UTF-8/],
      ['/v1/indicators?after=%C0%AF', /query parameter "after" is not valid percent-encoded UTF-8/],
      ['/v1/indicators?a%00b=1', /query parameter name "a\\u0000b" contains a NUL/],
      ['/v1/incidents?cursor=%00', /query parameter "cursor" contains a NUL/],
      [`/v1/incidents?cursor=${Buffer.from('2026-01-01T00:00:00.000Z|------------------------------------').toString('base64url')}`, /cursor is malformed/],
      [`/v1/incidents?cursor=${Buffer.from('+275760-09-13T00:00:00.000Z|00000000-0000-4000-8000-000000000000').toString('base64url')}`, /cursor is malformed/],
      ['/v1/incidents/%00', /path parameter "id" contains a NUL/],
      // The router's own refusals (Fastify answers them before any route): probectl's shape and code too, never the URL echoed.
      ['/v1/incidents/%E0%A4%A', /^the URL path is not valid percent-encoded UTF-8$/],
      [`/v1/incidents/${'a'.repeat(300)}`, /^a path segment is longer than 100 characters$/],
      [`/ingest/itsm/jira/${'a'.repeat(300)}`, /^a path segment is longer than 100 characters$/],
      ['/v1/audit?after=1e300', /querystring\/after must be <= 9007199254740991/],
      ['/v1/audit?after=99999999999999999999', /querystring\/after must be <= 9007199254740991/],
    ];
    for (const [url, why] of cases) {
      const res = await app.request(url.startsWith('/ingest/') ? 'POST' : 'GET', url, { token });
      assert.equal(res.status, 400, `${url}: ${res.text}`);
      assert.deepEqual(Object.keys(res.json).sort(), ['code', 'message'], url);
      assert.equal(res.json.code, 'PROBECTL_ERR_VALIDATION', url);
      assert.match(res.json.message, why, url);
    }
    const deleted = await app.request('DELETE', '/v1/indicators/%ED%A0%80', { token });
    assert.equal(deleted.status, 400, deleted.text);
  });

  it('requests Node\'s HTTP parser refuses before routing (headers over 16 KiB, not HTTP/1.1) get probectl\'s {code, message}, then the connection closes', async () => {
    const ca = readFileSync(join(app.dataDir, 'tls', 'server.crt'), 'utf8');
    const { hostname, port } = new URL(app.url);
    /** The raw bytes answered to `request`, read until the server closes the connection (5 s deadline). */
    const raw = (request: string) => new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: hostname, port: Number(port), ca, servername: 'localhost' }, () => socket.write(request));
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => { socket.destroy(); reject(new Error('no answer within 5 s')); }, 5_000);
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', () => undefined);
      socket.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('utf8')); });
    });
    const cases: Array<[string, number, string, RegExp]> = [
      [`GET /v1/incidents HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'PROBECTL_ERR_HEADERS_TOO_LARGE', /exceed 16 KiB/],
      ['GET /v1/incidents HTTP/1.1\r\nHost: localhost\r\nBad Header: x\r\n\r\n', 400, 'PROBECTL_ERR_BAD_HTTP', /not valid HTTP\/1\.1/],
      ['POST /v1/signals HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400, 'PROBECTL_ERR_BAD_HTTP', /not valid HTTP\/1\.1/],
    ];
    // Keep-alive: a valid request, then in the same read one the parser refuses. The valid one keeps its own answer
    // (it was written as the refusal — the client read 400 for a valid GET and its answer was lost); the refusal follows.
    const valid = 'GET /v1/incidents HTTP/1.1\r\nHost: localhost\r\n\r\n';
    for (const [bad, status] of [['GET /v1/incidents HTTP/1.1\r\nHost: localhost\r\nBad Header: x\r\n\r\n', 400], [`GET /v1/incidents HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431]] as const) {
      const answer = await raw(`${valid}${valid}${bad}`);
      const heads = [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      assert.deepEqual(heads, [401, 401, status], answer.slice(0, 2000));
      assert.match(answer.slice(answer.lastIndexOf('HTTP/1.1 ')), /\r\nconnection: close\r\n[^]*"code":"PROBECTL_ERR_(BAD_HTTP|HEADERS_TOO_LARGE)"/i);
    }
    // The CLI's local control socket answers the same (it had Node's bare 400, without a body).
    const local = await new Promise<string>((resolve, reject) => {
      const socket = netConnect(join(app.dataDir, 'control.sock'), () => socket.write('GET /v1/incidents HTTP/1.1\r\nHost: localhost\r\nBad Header: x\r\n\r\n'));
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => { socket.destroy(); reject(new Error('no answer within 5 s')); }, 5_000);
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', () => undefined);
      socket.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('utf8')); });
    });
    assert.match(local, /^HTTP\/1\.1 400 [^]*\r\n\r\n\{"code":"PROBECTL_ERR_BAD_HTTP",/, local);
    // The deadlines the 408's message names are the server's.
    assert.deepEqual([app.service.app.server.headersTimeout, app.service.app.server.requestTimeout], [60_000, 120_000]);
    for (const [request, status, code, why] of cases) {
      const answer = await raw(request);
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} `), answer.slice(0, 200));
      assert.match(head, /\r\ncontent-type: application\/json\r\n/i);
      assert.match(head, /\r\nconnection: close(\r\n|$)/i);
      const json = JSON.parse(body) as { code: string; message: string };
      assert.deepEqual(Object.keys(json).sort(), ['code', 'message']);
      assert.equal(json.code, code);
      assert.match(json.message, why);
    }
  });

  it('values PostgreSQL would refuse deeper down are 400 (or matched as what they are), never 500', async () => {
    const zoned = await app.request('POST', '/v1/indicators', { token, body: { indicators: [{ value: 'fe80::1%eth0', confidence: 50, source: 's' }] } });
    assert.deepEqual([zoned.status, zoned.json.code], [400, 'PROBECTL_ERR_VALIDATION']);
    await app.request('POST', '/v1/indicators', { token, body: { indicators: [{ value: 'fe80::/10', confidence: 50, source: 'link-local' }] } });
    const observed = await app.request('POST', '/v1/observations', { token, body: { observations: [{ src_ip: 'fe80::1%eth0' }, { dst_ip: 'fe80::2%25' }] } });
    assert.equal(observed.status, 201, observed.text);
    assert.equal(observed.json.matched, 2, 'a zoned address is matched by its address');
    const replay = await app.request('POST', '/v1/siem/replay', { token, body: { from: 1e300 } });
    assert.deepEqual([replay.status, replay.json.code], [400, 'PROBECTL_ERR_VALIDATION']);
  });

  it('the same tenant name sent concurrently: one 201, the rest 409, never a unique-violation 500', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name: 'raced' } })));
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409, 409, 409, 409, 409], results.map((r) => r.text).join('\n'));
    assert.ok(results.filter((r) => r.status === 409).every((r) => r.json.code === 'PROBECTL_ERR_CONFLICT'));
  });

  it('property: no value in any JSON body field, query parameter or path parameter gets a 5xx', async () => {
    // Values put into the field each case leaves open, so the rest of the body is valid and the value travels as far as it can.
    const piece = fc.constantFrom('"', '\\u0000', '\\ud800', '\\udfff', 'a', '{', '}', '[', ']', ':', ',', '1e999', '9007199254740993', '-', '0', 'true', '"x":');
    const fragment = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc.string({ unit: 'binary', maxLength: 24 }).map((v) => JSON.stringify(v)),
      fc.string({ unit: piece, maxLength: 12 }).map((v) => `"${v}"`),
      fc.string({ unit: piece, maxLength: 12 }),
    );
    await fc.assert(fc.asyncProperty(fc.constantFrom(...jsonRoutes.map(key)), fragment, async (k, value) => {
      const r = jsonRoutes.find((x) => key(x) === k) as RouteDef;
      const c = CASES[k] as JsonRouteCase;
      const res = await send(r, c, bodyWith(c, value));
      assert.ok(res.status < 500, `${key(r)} with ${value} → ${res.status} ${res.text}`);
    }), { numRuns: 400 });

    const getRoutes = allRoutes({ metricsPublic: false }).filter((r) => r.method === 'GET' && !('public' in r.access));
    const paramsOf = (r: RouteDef) => Object.keys((r.schema.querystring as { properties?: object } | undefined)?.properties ?? { x: 0 });
    const byte = fc.oneof(fc.constantFrom(0x00, 0x25, 0x2b, 0x7c, 0x80, 0xa0, 0xbf, 0xc0, 0xed, 0xef, 0xf4, 0xff), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0, max: 255 }));
    const encoded = fc.array(byte, { maxLength: 12 }).map((bytes) => bytes.map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
    const query = fc.constantFrom(...getRoutes).chain((r) => fc.tuple(fc.constant(r.url), fc.constantFrom(...paramsOf(r)), encoded));
    await fc.assert(fc.asyncProperty(query, async ([url, name, value]) => {
      const res = await app.request('GET', `${url.replace(':id', incident)}?${name}=${value}`, { token: app.adminToken });
      assert.ok(res.status < 500, `${url}?${name}=${value} → ${res.status} ${res.text}`);
    }), { numRuns: 400 });
    await fc.assert(fc.asyncProperty(encoded, async (id) => {
      for (const url of ['/v1/incidents/', '/v1/indicators/', '/v1/tokens/']) {
        const res = await app.request(url === '/v1/incidents/' ? 'GET' : 'DELETE', `${url}${id}`, { token });
        assert.ok(res.status < 500, `${url}${id} → ${res.status} ${res.text}`);
      }
    }), { numRuns: 100 });
  });
});
