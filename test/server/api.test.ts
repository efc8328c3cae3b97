import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashToken } from '../../src/identity/tokens.ts';
import { allRoutes } from '../../src/server/routes/index.ts';
import { inSystem } from '../../src/store/scope.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

describe('HTTPS API behaviour', () => {
  let app: TestApp;
  let tenant: string;
  let token: string;

  before(async () => {
    app = await startTestApp({ PROBECTL_BODY_LIMIT: '4096', PROBECTL_AUTH_FAILURE_AUDIT_PER_MINUTE: '3' });
    tenant = (await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name: 'api-tenant' } })).json.id;
    token = (await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant, permissions: ['admin'], name: 'api' } })).json.token;
  });
  after(() => app?.close());

  const incidentsCount = async () => (await app.request('GET', '/v1/incidents', { token })).json.incidents.length;

  it('serves health, readiness and an OpenAPI 3 document covering every route', async () => {
    assert.deepEqual((await app.request('GET', '/healthz')).json, { status: 'ok' });
    assert.deepEqual((await app.request('GET', '/readyz')).json, { status: 'ready' });
    const doc = (await app.request('GET', '/v1/openapi.json')).json;
    assert.match(doc.openapi, /^3\./);
    for (const r of allRoutes({ metricsPublic: false })) {
      const path = (r.docs?.url ?? r.url).replace(/:(\w+)/g, '{$1}');
      assert.ok(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${path} is documented`);
    }
    const post = doc.paths['/v1/signals'].post;
    assert.ok(JSON.stringify(post.requestBody).includes('"confidence"'), 'the validating schema is the documented one');
    assert.deepEqual(post.security, [{ bearer: [] }, { basic: [] }]);
  });

  it('answers with hardened headers', async () => {
    const res = await app.request('GET', '/healthz');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(String(res.headers['strict-transport-security']), /max-age=/);
  });

  it('refuses bad bodies with 4xx {code, message} and writes nothing', async () => {
    const before = await incidentsCount();
    const cases: Array<[string, Parameters<TestApp['request']>[2], number, string]> = [
      ['confidence out of range', { body: { kind: 'x', severity: 'info', confidence: 101, target: 't', title: 't' } }, 400, 'PROBECTL_ERR_VALIDATION'],
      ['confidence as a string is not coerced', { body: { kind: 'x', severity: 'info', confidence: '50', target: 't', title: 't' } }, 400, 'PROBECTL_ERR_VALIDATION'],
      ['unknown severity', { body: { kind: 'x', severity: 'huge', confidence: 5, target: 't', title: 't' } }, 400, 'PROBECTL_ERR_VALIDATION'],
      ['unknown field', { body: { kind: 'x', severity: 'info', confidence: 5, target: 't', title: 't', extra: 1 } }, 400, 'PROBECTL_ERR_VALIDATION'],
      ['one bad signal in a batch', { body: [{ kind: 'x', severity: 'info', confidence: 5, target: 't', title: 't' }, { kind: 'x' }] }, 400, 'PROBECTL_ERR_VALIDATION'],
      ['invalid JSON', { rawBody: '{"kind":', headers: { 'content-type': 'application/json' } }, 400, 'PROBECTL_ERR_BAD_JSON'],
      ['wrong content type', { rawBody: 'kind=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'PROBECTL_ERR_UNSUPPORTED_MEDIA_TYPE'],
      ['JSON sent as text/plain', { rawBody: '{"kind":"x"}', headers: { 'content-type': 'text/plain' } }, 415, 'PROBECTL_ERR_UNSUPPORTED_MEDIA_TYPE'],
      ['body over the limit', { body: Array.from({ length: 200 }, () => ({ kind: 'x', severity: 'info', confidence: 5, target: 't', title: 't' })) }, 413, 'PROBECTL_ERR_BODY_TOO_LARGE'],
    ];
    for (const [name, opts, status, code] of cases) {
      const res = await app.request('POST', '/v1/signals', { token, ...opts });
      assert.equal(res.status, status, `${name}: ${res.text}`);
      assert.equal(res.json.code, code, name);
      assert.equal(typeof res.json.message, 'string');
    }
    assert.equal(await incidentsCount(), before, 'no bad request changed anything');
    const unknown = await app.request('GET', '/v1/nope', { token });
    assert.deepEqual([unknown.status, unknown.json.code], [404, 'PROBECTL_ERR_NOT_FOUND']);
    const badId = await app.request('GET', '/v1/incidents/not-a-uuid', { token });
    assert.deepEqual([badId.status, badId.json.code], [400, 'PROBECTL_ERR_VALIDATION']);
    const dup = await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name: 'api-tenant' } });
    assert.deepEqual([dup.status, dup.json.code], [409, 'PROBECTL_ERR_CONFLICT']);
  });

  it('ingests one or many signals and exposes incidents with their signals; PATCH is audited', async () => {
    const one = await app.request('POST', '/v1/signals', { token, body: { kind: 'tls.expiring', severity: 'warning', confidence: 100, target: 'web:443', title: 'expiring' } });
    assert.equal(one.status, 201);
    const many = await app.request('POST', '/v1/signals', { token, body: [
      { kind: 'tls.expired', severity: 'critical', confidence: 100, target: 'web:443', title: 'expired' },
      { kind: 'ioc.match', severity: 'warning', confidence: 70, target: '198.51.100.1', title: 'ioc', attributes: { feed: 'x' } },
    ] });
    assert.equal(many.status, 201);
    assert.deepEqual(many.json.signals.map((s: { seq: number }) => s.seq), [2, 3]);
    const id = one.json.signals[0].incident_id;
    assert.equal(many.json.signals[0].incident_id, id);
    const detail = await app.request('GET', `/v1/incidents/${id}`, { token });
    assert.equal(detail.json.severity, 'critical');
    assert.deepEqual(detail.json.signals.map((s: { kind: string }) => s.kind), ['tls.expiring', 'tls.expired']);
    const patched = await app.request('PATCH', `/v1/incidents/${id}`, { token, body: { status: 'acknowledged' } });
    assert.equal(patched.json.status, 'acknowledged');
    const bad = await app.request('PATCH', `/v1/incidents/${id}`, { token, body: { status: 'open' } });
    assert.equal(bad.status, 400);
    await app.request('PATCH', `/v1/incidents/${id}`, { token, body: { status: 'resolved' } });
    const reopen = await app.request('PATCH', `/v1/incidents/${id}`, { token, body: { status: 'acknowledged' } });
    assert.deepEqual([reopen.status, reopen.json.code], [409, 'PROBECTL_ERR_INCIDENT_TRANSITION']);
    const audit = await app.request('GET', '/v1/audit?limit=5000', { token });
    const changes = audit.json.events.filter((e: { action: string }) => e.action.startsWith('incident.'));
    assert.deepEqual(changes.map((e: { action: string; data: { from: string } }) => [e.action, e.data.from]), [['incident.acknowledge', 'open'], ['incident.resolve', 'acknowledged']]);
  });

  it('records configuration changes, logins and audit reads in the tenant\'s chain, and pages to the end', async () => {
    const fresh = (await app.request('POST', '/v1/tokens', { token, body: { permissions: ['audit-read'], name: 'reader' } })).json;
    await app.request('DELETE', `/v1/tokens/${fresh.id}`, { token });
    const all: Array<{ seq: number; action: string; outcome: string; actor: string; data: Record<string, unknown> }> = [];
    let after = 0;
    for (let pages = 0; pages < 50; pages++) {
      const res = await app.request('GET', `/v1/audit?after=${after}&limit=3`, { token });
      if (res.json.events.length === 0) break;
      all.push(...res.json.events);
      after = res.json.next_cursor;
    }
    assert.deepEqual(all.map((e) => e.seq), all.map((_, i) => i + 1), 'gapless, in seq order, and paging terminates');
    const actions = all.map((e) => e.action);
    for (const a of ['tenant.create', 'token.create', 'token.revoke', 'auth.login', 'audit.read']) assert.ok(actions.includes(a), `${a} recorded`);
    const login = all.find((e) => e.action === 'auth.login' && e.outcome === 'success');
    assert.equal(login?.actor.startsWith('token:'), true);
    assert.equal(actions.filter((a) => a === 'audit.read').length, 1, 'repeated reads inside the interval are one record');
    assert.ok(!JSON.stringify(all).includes(token), 'the token never appears in the audit log');
  });

  it('failed logins are recorded in the provider chain, rate-limited per source', async () => {
    for (let i = 0; i < 6; i++) await app.request('GET', '/v1/incidents', { token: 'pcl_' + 'A'.repeat(43) });
    const res = await app.request('GET', '/v1/audit?limit=5000', { token: app.adminToken });
    const failures = res.json.events.filter((e: { action: string; outcome: string }) => e.action === 'auth.login' && e.outcome === 'failure');
    assert.equal(failures.length, 3, 'at most PROBECTL_AUTH_FAILURE_AUDIT_PER_MINUTE per source per minute');
    assert.ok(!res.text.includes('A'.repeat(43)), 'the presented token is never recorded');
  });

  it('stores tokens only as hashes; the bootstrap token file is 0600 and never logged', async () => {
    const rows = await inSystem(app.service.deps.db, (tx) => tx.query<{ token_hash: string }>('SELECT token_hash FROM tokens'));
    assert.ok(rows.rows.some((r) => r.token_hash === hashToken(token)));
    assert.ok(!JSON.stringify(rows.rows).includes(token));
    assert.equal(statSync(join(app.dataDir, 'admin-token')).mode & 0o777, 0o600);
    const logs = app.logs.join('\n');
    assert.ok(logs.includes(join(app.dataDir, 'admin-token')), 'the path is printed');
    assert.ok(!logs.includes(app.adminToken) && !logs.includes(token), 'the token is not');
  });

  it('/metrics needs a provider-tenant token with metrics-read and exposes request counters', async () => {
    assert.equal((await app.request('GET', '/metrics')).status, 401);
    assert.equal((await app.request('GET', '/metrics', { token })).status, 403);
    const res = await app.request('GET', '/metrics', { token: app.adminToken });
    assert.equal(res.status, 200);
    assert.match(res.text, /probectl_http_requests_total\{route="\/v1\/signals",method="POST",status="201"\} \d+/);
    assert.match(res.text, /probectl_signals_ingested_total\{tenant="[0-9a-f-]+",family="tls"\} 2/);
  });
});
