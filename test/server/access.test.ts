import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PERMISSIONS, type Permission } from '../../src/identity/permissions.ts';
import { issueToken } from '../../src/identity/admin.ts';
import { generateToken } from '../../src/identity/tokens.ts';
import { allRoutes } from '../../src/server/routes/index.ts';
import type { RouteDef } from '../../src/server/route.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { form, FORM_HEADERS, remoteWrite } from '../helpers/remote-write.ts';

/**
 * Walks every registered route: without credentials → 401, with a bad token →
 * 401, without the permission → 403, and with the permission but another
 * tenant's token → never a row of tenant A. A route missing from ISOLATION
 * fails this test, so a new route cannot ship without its checks.
 */
describe(`access control on every route (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let app: TestApp;
  let tenantA: string;
  let tenantB: string;
  let tokenA: string;
  let tokenAId: string;
  let tokenB: string;
  let incidentA: string;
  let indicatorA: string;
  let agentA: string;
  const routes = allRoutes({ metricsPublic: false }).filter((r) => !('public' in r.access));

  const tenantPermissions = PERMISSIONS.filter((p) => p !== 'provider-admin');

  async function token(tenant: string, permissions: readonly Permission[]): Promise<{ id: string; token: string }> {
    const res = await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant, permissions, name: 't' } });
    assert.equal(res.status, 201, res.text);
    return res.json;
  }

  before(async () => {
    app = await startTestApp();
    tenantA = (await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name: 'tenant-a' } })).json.id;
    tenantB = (await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name: 'tenant-b' } })).json.id;
    ({ id: tokenAId, token: tokenA } = await token(tenantA, tenantPermissions));
    ({ token: tokenB } = await token(tenantB, tenantPermissions));
    const sig = await app.request('POST', '/v1/signals', { token: tokenA, body: { kind: 'ioc.match', severity: 'critical', confidence: 90, target: '203.0.113.7', title: 'A secret incident' } });
    incidentA = sig.json.signals[0].incident_id;
    const ind = await app.request('POST', '/v1/indicators', { token: tokenA, body: { indicators: [{ value: 'a-only.example', confidence: 90, source: 'a-feed' }] } });
    indicatorA = ind.json.indicators[0].id;
    const agent = await app.request('POST', '/v1/agents', { token: tokenA, body: { name: 'a-only-probe', hostname: 'a-only-host.example', address: '198.51.100.7' } });
    assert.equal(agent.status, 201, agent.text);
    agentA = agent.json.id;
    const now = Date.now();
    const written = await remoteWrite(app, tokenA, [{ labels: { __name__: 'a_only_metric', secret: 'a-secret-value', tenant_id: tenantB }, samples: [[now - 60_000, 1], [now - 30_000, 2]] }]);
    assert.equal(written.status, 204, written.text);
  });
  after(() => app?.close());

  const pathOf = (r: RouteDef, id: string = randomUUID()) => r.url.replace(':id', id);
  const sampleBody = (r: RouteDef) => (r.method === 'GET' || r.method === 'DELETE' ? undefined : {});

  it('every non-public route answers 401 without credentials, with a malformed header and with an unknown token', async () => {
    for (const r of routes) {
      for (const authorization of [undefined, 'Bearer', 'Basic !!!', `Bearer ${generateToken()}`, `Basic ${Buffer.from(`grafana:${generateToken()}`).toString('base64')}`]) {
        const res = await app.request(r.method, pathOf(r), { ...(authorization ? { authorization } : {}), body: sampleBody(r) });
        assert.equal(res.status, 401, `${r.method} ${r.url} with ${authorization ?? 'no header'}`);
        assert.equal(res.json.code, 'PROBECTL_ERR_UNAUTHENTICATED');
      }
    }
  });

  it('every non-public route answers 403 to a valid token without its permission', async () => {
    for (const r of routes) {
      const needed = 'anyOf' in r.access ? r.access.anyOf : [];
      const other = tenantPermissions.filter((p) => p !== 'admin' && !needed.includes(p));
      const { token: weak } = await token(tenantA, [other[0] as Permission]);
      const res = await app.request(r.method, pathOf(r), { token: weak, body: sampleBody(r) });
      assert.equal(res.status, 403, `${r.method} ${r.url} needs ${needed.join('|')}`);
      assert.equal(res.json.code, 'PROBECTL_ERR_FORBIDDEN');
    }
  });

  /** Routes that need several permissions at once, and which. */
  const NEEDS_ALL: Record<string, readonly Permission[]> = {
    // The views show the incident's targets and the agent's name, host name and address: cmdb-read alone is not enough.
    'GET /v1/incidents/:id/cis': ['cmdb-read', 'incidents-read'],
    'GET /v1/agents/:id/ci': ['cmdb-read', 'incidents-read'],
  };

  it('routes that need several permissions answer 403 to a token missing any one of them', async () => {
    const declared = routes.filter((r) => 'anyOf' in r.access && r.access.allOf !== undefined).map((r) => `${r.method} ${r.url}`).sort();
    assert.deepEqual(declared, Object.keys(NEEDS_ALL).sort(), 'every route with allOf is listed here');
    for (const r of routes) {
      const all = NEEDS_ALL[`${r.method} ${r.url}`];
      if (!all) continue;
      assert.deepEqual('anyOf' in r.access ? r.access.allOf : undefined, all, `${r.method} ${r.url}`);
      for (const left of all) {
        const { token: partial } = await token(tenantA, all.filter((p) => p !== left));
        const res = await app.request(r.method, pathOf(r, r.url.includes('agents') ? agentA : incidentA), { token: partial });
        assert.deepEqual([res.status, res.json.code], [403, 'PROBECTL_ERR_FORBIDDEN'], `${r.method} ${r.url} without ${left}: ${res.text}`);
        assert.match(res.json.message, new RegExp(`lacks the ${left} permission`));
      }
      const { token: both } = await token(tenantA, all);
      const res = await app.request(r.method, pathOf(r, r.url.includes('agents') ? agentA : incidentA), { token: both });
      assert.notEqual(res.status, 403, `${r.method} ${r.url} with ${all.join(' and ')}: ${res.text}`);
    }
  });

  it('provider-admin is never granted to a customer tenant\'s token, and one held there (issued before) reaches no other tenant', async () => {
    const grant = await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant: tenantB, permissions: ['provider-admin'], name: 'delegated' } });
    assert.equal(grant.status, 400, grant.text);
    assert.match(grant.json.message, /only to tokens of the provider tenant/);
    assert.equal((await app.request('GET', `/v1/tokens?tenant=${tenantB}`, { token: app.adminToken })).json.tokens.filter((t: { name: string }) => t.name === 'delegated').length, 0, 'nothing was created');
    // A token written with provider-admin into tenant B before that was refused (straight through the store).
    const legacy = await issueToken(app.service.deps, { tenantId: tenantB, name: 'test' }, tenantB, { name: 'legacy', permissions: ['provider-admin', 'admin'] });
    for (const [method, path, body] of [
      ['POST', '/v1/tokens', { tenant: tenantA, permissions: ['admin'], name: 'stolen' }],
      ['GET', `/v1/tokens?tenant=${tenantA}`, undefined],
      ['POST', '/v1/tenants', { name: 'evil' }],
      ['GET', '/v1/tenants', undefined],
      ['GET', `/v1/audit/verify?tenant=${tenantA}`, undefined],
    ] as const) {
      const res = await app.request(method, path, { token: legacy.token, ...(body ? { body } : {}) });
      assert.equal(res.status, 403, `${method} ${path} with a customer tenant's provider-admin: ${res.text}`);
    }
    assert.equal((await app.request('GET', '/v1/tokens', { token: legacy.token })).status, 200, 'its own tenant\'s admin still works');
  });

  it('a revoked token is refused; HTTP Basic with the token as password is accepted', async () => {
    const { id, token: t } = await token(tenantA, ['incidents-read']);
    const basic = `Basic ${Buffer.from(`grafana:${t}`).toString('base64')}`;
    assert.equal((await app.request('GET', '/v1/incidents', { authorization: basic })).status, 200);
    assert.equal((await app.request('DELETE', `/v1/tokens/${id}`, { token: app.adminToken })).status, 200);
    assert.equal((await app.request('GET', '/v1/incidents', { token: t })).status, 401);
  });

  const G = '/v1/grafana/api/v1';
  /** Asserts a metrics answer carries nothing of tenant A: neither its series, its label value, nor its tenant id. */
  const nothingOfA = (res: { status: number; text: string }, what: string) => {
    assert.equal(res.status, 200, `${what}: ${res.text}`);
    for (const leak of ['a_only_metric', 'a-secret-value', tenantA]) assert.ok(!res.text.includes(leak), `${what} leaks ${leak}: ${res.text}`);
  };
  /** Each metrics route asked by B for A's series, with A's tenant_id smuggled in every way a selector allows. */
  function metricsIsolation(): Record<string, () => Promise<void>> {
    const smuggled = `a_only_metric{tenant_id="${tenantA}"}`;
    const selectors = [smuggled, `{__name__=~".+",tenant_id=~".*"}`, `{__name__="a_only_metric",tenant_id!="${tenantB}"}`];
    const now = Date.now() / 1000;
    const get = (path: string) => app.request('GET', path, { token: tokenB });
    const post = (path: string, params: Record<string, string | string[]>) => app.request('POST', path, { token: tokenB, rawBody: form(params), headers: FORM_HEADERS });
    const q = (s: string) => encodeURIComponent(s);
    return {
      [`GET ${G}/query`]: async () => {
        for (const s of selectors) nothingOfA(await get(`${G}/query?query=${q(s)}`), s);
        const a = await app.request('GET', `${G}/query?query=${q('a_only_metric')}`, { token: tokenA });
        assert.ok(a.text.includes('a-secret-value'), 'A sees its own series (the check above is not vacuous)');
      },
      [`POST ${G}/query`]: async () => {
        for (const s of selectors) nothingOfA(await post(`${G}/query`, { query: s }), s);
      },
      [`GET ${G}/query_range`]: async () => {
        for (const s of selectors) nothingOfA(await get(`${G}/query_range?query=${q(s)}&start=${now - 300}&end=${now}&step=15`), s);
      },
      [`POST ${G}/query_range`]: async () => {
        for (const s of selectors) nothingOfA(await post(`${G}/query_range`, { query: s, start: String(now - 300), end: String(now), step: '15' }), s);
      },
      [`GET ${G}/series`]: async () => {
        nothingOfA(await get(`${G}/series?${selectors.map((s) => `match[]=${q(s)}`).join('&')}`), 'series');
      },
      [`POST ${G}/series`]: async () => {
        nothingOfA(await post(`${G}/series`, { 'match[]': selectors }), 'series');
      },
      [`GET ${G}/labels`]: async () => {
        nothingOfA(await get(`${G}/labels`), 'labels');
        nothingOfA(await get(`${G}/labels?match[]=${q(smuggled)}`), 'labels');
      },
      [`POST ${G}/labels`]: async () => {
        const res = await post(`${G}/labels`, { 'match[]': selectors });
        nothingOfA(res, 'labels');
        assert.ok(!res.text.includes('"secret"'), 'A\'s label name is not listed');
      },
      [`GET ${G}/label/*`]: async () => {
        for (const name of ['secret', '__name__', 'tenant_id']) nothingOfA(await get(`${G}/label/${name}/values`), name);
        const own = await get(`${G}/label/tenant_id/values`);
        assert.ok(!own.text.includes(tenantA));
      },
      [`GET ${G}/metadata`]: async () => nothingOfA(await get(`${G}/metadata`), 'metadata'),
      [`GET ${G}/query_exemplars`]: async () => nothingOfA(await get(`${G}/query_exemplars?query=${q(smuggled)}`), 'exemplars'),
      [`POST ${G}/query_exemplars`]: async () => nothingOfA(await post(`${G}/query_exemplars`, { query: smuggled }), 'exemplars'),
      [`GET ${G}/status/buildinfo`]: async () => nothingOfA(await get(`${G}/status/buildinfo`), 'buildinfo'),
      'GET /v1/prometheus/federate': async () => {
        nothingOfA(await get(`/v1/prometheus/federate?${selectors.map((s) => `match[]=${q(s)}`).join('&')}`), 'federate');
        const a = await app.request('GET', `/v1/prometheus/federate?match[]=${q('a_only_metric')}`, { token: tokenA });
        assert.match(a.text, /a_only_metric\{secret="a-secret-value",tenant_id="[^"]+",instance=""\} 2 /);
      },
      'POST /v1/prometheus/write': async () => {
        // B writes a series claiming A's tenant: it lands in B, never in A.
        const res = await remoteWrite(app, tokenB, [{ labels: { __name__: 'b_claims_a', tenant_id: tenantA }, samples: [[Date.now() - 1000, 7]] }]);
        assert.equal(res.status, 204, res.text);
        const inA = await app.request('GET', `${G}/series?match[]=${q('b_claims_a')}`, { token: tokenA });
        assert.deepEqual(inA.json.data, []);
        const inB = await get(`${G}/series?match[]=${q('b_claims_a')}`);
        assert.deepEqual(inB.json.data, [{ __name__: 'b_claims_a', tenant_id: tenantB }]);
      },
    };
  }

  /** What tenant B (holding every tenant permission) sees of tenant A through each route. */
  const ISOLATION: Record<string, () => Promise<void>> = {
    'GET /metrics': async () => {
      assert.equal((await app.request('GET', '/metrics', { token: tokenB })).status, 403, 'only the provider tenant reads process metrics');
    },
    'POST /v1/tenants': async () => {
      assert.equal((await app.request('POST', '/v1/tenants', { token: tokenB, body: { name: 'sneaky' } })).status, 403);
    },
    'GET /v1/tenants': async () => {
      assert.equal((await app.request('GET', '/v1/tenants', { token: tokenB })).status, 403);
    },
    'POST /v1/keys/rotate': async () => {
      assert.equal((await app.request('POST', '/v1/keys/rotate', { token: tokenB, body: {} })).status, 403, 'only the provider rotates (it touches every tenant)');
      assert.equal((await app.request('POST', '/v1/keys/rotate', { token: tokenB, body: { tenant: tenantA } })).status, 403);
    },
    'POST /v1/tokens': async () => {
      const res = await app.request('POST', '/v1/tokens', { token: tokenB, body: { tenant: tenantA, permissions: ['admin'] } });
      assert.equal(res.status, 403);
      const escalate = await app.request('POST', '/v1/tokens', { token: tokenB, body: { permissions: ['provider-admin'] } });
      assert.equal(escalate.status, 403);
    },
    'GET /v1/tokens': async () => {
      assert.equal((await app.request('GET', `/v1/tokens?tenant=${tenantA}`, { token: tokenB })).status, 403);
      const own = await app.request('GET', '/v1/tokens', { token: tokenB });
      assert.ok(own.json.tokens.every((t: { tenant: string }) => t.tenant === tenantB));
    },
    'DELETE /v1/tokens/:id': async () => {
      assert.equal((await app.request('DELETE', `/v1/tokens/${tokenAId}`, { token: tokenB })).status, 404);
      assert.equal((await app.request('GET', '/v1/incidents', { token: tokenA })).status, 200, 'A\'s token still works');
    },
    'GET /v1/audit': async () => {
      const res = await app.request('GET', '/v1/audit?limit=5000', { token: tokenB });
      assert.equal(res.status, 200);
      assert.ok(res.json.events.length > 0);
      assert.ok(res.json.events.every((e: { tenant_id: string }) => e.tenant_id === tenantB));
    },
    'GET /v1/audit/verify': async () => {
      assert.equal((await app.request('GET', `/v1/audit/verify?tenant=${tenantA}`, { token: tokenB })).status, 403);
      assert.equal((await app.request('GET', '/v1/audit/verify', { token: tokenB })).json.ok, true);
    },
    'POST /v1/signals': async () => {
      const forged = await app.request('POST', '/v1/signals', { token: tokenB, body: { kind: 'ioc.match', severity: 'info', confidence: 1, target: '203.0.113.7', title: 'x', tenant: tenantA } });
      assert.equal(forged.status, 400, 'a tenant field in the body is refused, not honoured');
      const res = await app.request('POST', '/v1/signals', { token: tokenB, body: { kind: 'ioc.match', severity: 'info', confidence: 1, target: '203.0.113.7', title: 'x', attributes: { tenant: tenantA } } });
      assert.equal(res.status, 201);
      assert.notEqual(res.json.signals[0].incident_id, incidentA, 'B\'s signal never joins A\'s incident');
      const a = await app.request('GET', `/v1/incidents/${incidentA}`, { token: tokenA });
      assert.equal(a.json.signal_count, 1);
    },
    'POST /v1/observations': async () => {
      const res = await app.request('POST', '/v1/observations', { token: tokenB, body: { observations: [{ domain: 'x.a-only.example' }] } });
      assert.equal(res.status, 201);
      assert.equal(res.json.matched, 0, 'A\'s indicators never match B\'s observations');
    },
    'GET /v1/incidents': async () => {
      const res = await app.request('GET', '/v1/incidents', { token: tokenB });
      assert.ok(res.json.incidents.every((i: { tenant: string }) => i.tenant === tenantB));
      assert.ok(!res.text.includes('A secret incident'));
    },
    'GET /v1/incidents/:id': async () => {
      assert.equal((await app.request('GET', `/v1/incidents/${incidentA}`, { token: tokenB })).status, 404);
    },
    'PATCH /v1/incidents/:id': async () => {
      assert.equal((await app.request('PATCH', `/v1/incidents/${incidentA}`, { token: tokenB, body: { status: 'resolved' } })).status, 404);
      assert.equal((await app.request('GET', `/v1/incidents/${incidentA}`, { token: tokenA })).json.status, 'open');
    },
    'POST /v1/indicators': async () => {
      assert.equal((await app.request('POST', '/v1/indicators', { token: tokenB, body: { indicators: [{ value: 'b.example', confidence: 5, source: 'b' }] } })).status, 201);
      const a = await app.request('GET', '/v1/indicators', { token: tokenA });
      assert.deepEqual(a.json.indicators.map((i: { value: string }) => i.value), ['a-only.example']);
    },
    'GET /v1/indicators': async () => {
      const res = await app.request('GET', '/v1/indicators', { token: tokenB });
      assert.ok(!res.text.includes('a-only.example'));
    },
    'GET /v1/secrets/health': async () => {
      assert.equal((await app.request('GET', '/v1/secrets/health', { token: tokenB })).status, 403, 'deployment-wide backend health is the provider\'s');
      const res = await app.request('GET', '/v1/secrets/health', { token: app.adminToken });
      assert.equal(res.status, 200);
      assert.ok(!res.text.includes(tenantA), 'redacted: no tenant data');
      const auditA = await app.request('GET', '/v1/audit?limit=5000', { token: tokenA });
      assert.ok(!auditA.text.includes('secrets.health.read'), 'the provider\'s read is audited in its own chain, not A\'s');
      const auditP = await app.request('GET', '/v1/audit?limit=5000', { token: app.adminToken });
      assert.ok(auditP.text.includes('secrets.health.read'));
    },
    'GET /v1/integrations': async () => {
      const res = await app.request('GET', '/v1/integrations', { token: tokenB });
      assert.equal(res.status, 200);
      // Deployment-level facts only (which integrations are on): no tenant's data, the same answer for every tenant.
      assert.deepEqual(res.json, (await app.request('GET', '/v1/integrations', { token: tokenA })).json);
      assert.ok(!res.text.includes(tenantA));
    },
    'GET /v1/siem/status': async () => {
      assert.equal((await app.request('GET', `/v1/siem/status?tenant=${tenantA}`, { token: tokenB })).status, 403);
      const own = await app.request('GET', '/v1/siem/status', { token: tokenB });
      assert.equal(own.status, 200);
      assert.equal(own.json.tenant, tenantB);
    },
    'GET /v1/siem/parked': async () => {
      assert.equal((await app.request('GET', `/v1/siem/parked?tenant=${tenantA}`, { token: tokenB })).status, 403);
      assert.deepEqual((await app.request('GET', '/v1/siem/parked', { token: tokenB })).json, { parked: [] });
    },
    'POST /v1/siem/parked/retry': async () => {
      assert.equal((await app.request('POST', '/v1/siem/parked/retry', { token: tokenB, body: { tenant: tenantA } })).status, 403);
    },
    'POST /v1/siem/replay': async () => {
      assert.equal((await app.request('POST', '/v1/siem/replay', { token: tokenB, body: { tenant: tenantA, from: 1 } })).status, 403);
      const own = await app.request('POST', '/v1/siem/replay', { token: tokenB, body: { from: 1 } });
      assert.deepEqual([own.status, own.json.code], [409, 'PROBECTL_ERR_SIEM_DISABLED'], 'export is off in this test server');
    },
    'GET /v1/notify/status': async () => {
      assert.equal((await app.request('GET', `/v1/notify/status?tenant=${tenantA}`, { token: tokenB })).status, 403);
      const own = await app.request('GET', '/v1/notify/status', { token: tokenB });
      assert.deepEqual([own.status, own.json.tenant, own.json.enabled], [200, tenantB, false], 'on-call mirroring is off in this test server');
    },
    'POST /v1/notify/test': async () => {
      assert.equal((await app.request('POST', '/v1/notify/test', { token: tokenB, body: { tenant: tenantA, connector: 'pagerduty-0123456789' } })).status, 403);
    },
    'GET /v1/notify/failed': async () => {
      assert.equal((await app.request('GET', `/v1/notify/failed?tenant=${tenantA}`, { token: tokenB })).status, 403);
      assert.deepEqual((await app.request('GET', '/v1/notify/failed', { token: tokenB })).json, { failed: [] });
    },
    'POST /v1/notify/failed/retry': async () => {
      assert.equal((await app.request('POST', '/v1/notify/failed/retry', { token: tokenB, body: { tenant: tenantA } })).status, 403);
      const own = await app.request('POST', '/v1/notify/failed/retry', { token: tokenB, body: {} });
      assert.deepEqual([own.status, own.json.code], [409, 'PROBECTL_ERR_NOTIFY_DISABLED']);
    },
    'POST /v1/notify/sign': async () => {
      // With connectors configured, another tenant's inbound id is as unknown as a missing one (test/notify/operations.test.ts).
      const res = await app.request('POST', '/v1/notify/sign', { token: tokenB, body: { id: 'jira1', body: '{}' } });
      assert.deepEqual([res.status, res.json.code], [409, 'PROBECTL_ERR_NOTIFY_DISABLED']);
    },
    'POST /v1/agents': async () => {
      // B registers the same name: its own agent, A's untouched (names are unique per tenant only).
      const res = await app.request('POST', '/v1/agents', { token: tokenB, body: { name: 'a-only-probe', hostname: 'b-host.example' } });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.json.tenant, tenantB);
      const a = await app.request('GET', '/v1/agents', { token: tokenA });
      assert.deepEqual(a.json.agents.map((x: { hostname: string }) => x.hostname), ['a-only-host.example']);
    },
    'GET /v1/agents': async () => {
      const res = await app.request('GET', '/v1/agents', { token: tokenB });
      assert.equal(res.status, 200);
      assert.ok(!res.text.includes('a-only-host.example') && !res.text.includes(agentA), res.text);
    },
    'GET /v1/agents/:id/ci': async () => {
      const res = await app.request('GET', `/v1/agents/${agentA}/ci`, { token: tokenB });
      assert.deepEqual([res.status, res.json.code], [404, 'PROBECTL_ERR_NOT_FOUND'], 'another tenant\'s agent is as absent as a missing one');
      const own = await app.request('GET', `/v1/agents/${agentA}/ci`, { token: tokenA });
      assert.deepEqual([own.status, own.json.code], [409, 'PROBECTL_ERR_CMDB_DISABLED'], 'A finds it (CMDB off in this test server)');
    },
    'GET /v1/incidents/:id/links': async () => {
      const res = await app.request('GET', `/v1/incidents/${incidentA}/links`, { token: tokenB });
      assert.deepEqual([res.status, res.json.code], [404, 'PROBECTL_ERR_NOT_FOUND']);
      assert.equal((await app.request('GET', `/v1/incidents/${incidentA}/links?tenant=${tenantA}`, { token: tokenB })).status, 403);
      const own = await app.request('GET', `/v1/incidents/${incidentA}/links`, { token: tokenA });
      assert.deepEqual([own.status, own.json.incident_id, own.json.links], [200, incidentA, []], 'mirroring is off in this test server: no links');
    },
    'GET /v1/incidents/:id/cis': async () => {
      const res = await app.request('GET', `/v1/incidents/${incidentA}/cis`, { token: tokenB });
      assert.deepEqual([res.status, res.json.code], [404, 'PROBECTL_ERR_NOT_FOUND']);
      assert.equal((await app.request('GET', `/v1/incidents/${incidentA}/cis`, { token: tokenA })).json.code, 'PROBECTL_ERR_CMDB_DISABLED');
    },
    'GET /v1/cmdb/lookup': async () => {
      // One CMDB per install, read-only: a lookup reads no tenant's rows; with it off, the answer says so.
      const res = await app.request('GET', '/v1/cmdb/lookup?key=203.0.113.7', { token: tokenB });
      assert.deepEqual([res.status, res.json.code], [409, 'PROBECTL_ERR_CMDB_DISABLED']);
      assert.ok(!res.text.includes(tenantA));
    },
    ...metricsIsolation(),
    'DELETE /v1/indicators/:id': async () => {
      assert.equal((await app.request('DELETE', `/v1/indicators/${indicatorA}`, { token: tokenB })).status, 404);
      assert.equal((await app.request('GET', '/v1/indicators', { token: tokenA })).json.indicators.length, 1);
    },
  };

  it('with every tenant permission, tenant B never reaches a row of tenant A, on every route', async () => {
    const missing = routes.map((r) => `${r.method} ${r.url}`).filter((k) => !(k in ISOLATION));
    assert.deepEqual(missing, [], 'every route needs a tenant-isolation check here');
    for (const [name, check] of Object.entries(ISOLATION)) {
      await check().catch((err: Error) => {
        err.message = `${name}: ${err.message}`;
        throw err;
      });
    }
  });
});
