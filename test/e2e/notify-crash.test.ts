import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { testAgent } from '../helpers/http.ts';
import { serve, type ServerProcess } from '../helpers/process.ts';
import { pemFile, prepareDataDir, until } from '../notify/helpers.ts';
import { Jira } from '../notify/servers/jira.ts';
import { PagerDuty } from '../notify/servers/pagerduty.ts';

/**
 * kill -9 of the server after PagerDuty and Jira acted on the open but before
 * their answers arrived (so before the outbox commit), then a restart: the
 * open is sent again — PagerDuty de-duplicates the trigger by dedup_key, the
 * Jira issue is found by its label — and there is still one page and one
 * ticket, both recorded.
 */
describe('on-call mirror survives kill -9 between the vendor\'s answer and the commit (embedded database)', () => {
  it('one page and one ticket after the restart', async (t) => {
    const pd = await PagerDuty.start();
    t.after(() => pd.close());
    const jira = await Jira.start({ mode: 'cloud' });
    t.after(() => jira.close());
    const { dataDir, tenants } = await prepareDataDir(t, ['acme'], { embedded: true });
    const acme = tenants.acme as string;
    const env = {
      PROBECTL_DATA_DIR: dataDir, PROBECTL_LISTEN: '127.0.0.1:0', PROBECTL_LOG_LEVEL: 'info',
      PROBECTL_NOTIFY_CONNECTORS: `${acme}|pagerduty|${pd.enqueueUrl}|${pd.routingKey},${acme}|jira|${jira.url}/rest/api/3/issue?project=OPS|${jira.user.user}:${jira.user.secret}`,
      PROBECTL_NOTIFY_CA_FILE: pemFile(dataDir, pd.server.caPem),
      PROBECTL_NOTIFY_TIMEOUT: '60s',
    };
    pd.server.inject({ kind: 'applied-hang', when: { path: '/v2/enqueue' } });
    jira.server.inject({ kind: 'applied-hang', when: { method: 'POST', path: '/rest/api/3/issue' } });

    let server: ServerProcess | undefined = await serve(env);
    t.after(() => server?.stop('SIGKILL'));
    const agent = testAgent(readFileSync(join(dataDir, 'tls', 'server.crt'), 'utf8'));
    t.after(() => agent.close());
    const api = async (url: string, method: 'GET' | 'POST', path: string, token: string, body?: unknown) => {
      const res = await request(`${url}${path}`, { method, dispatcher: agent, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : null });
      return { status: res.statusCode, json: await res.body.json() as any };
    };
    const admin = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const token = (await api(server.url, 'POST', '/v1/tokens', admin, { tenant: acme, permissions: ['admin'], name: 'crash' })).json.token as string;
    const signal = await api(server.url, 'POST', '/v1/signals', token, { kind: 'link.down', severity: 'critical', confidence: 90, target: 'core-1', title: 'Link down' });
    assert.equal(signal.status, 201);
    const incident = signal.json.signals[0].incident_id as string;

    await until(() => pd.incidents.length === 1 && jira.issues.length === 1, 'both vendors acted on the open (their answers held back)');
    await server.stop('SIGKILL');
    server = undefined;

    server = await serve(env);
    const url = server.url;
    await until(async () => {
      const s = await api(url, 'GET', '/v1/notify/status', token);
      return s.json.connectors.every((c: { links: { open: number } }) => c.links.open === 1);
    }, 'both links recorded after the restart', 60_000);
    assert.equal(pd.incidents.length, 1, 'one page (the re-sent trigger applied to the open alert)');
    assert.equal(pd.incident(`probectl-${incident}`)?.status, 'triggered');
    assert.equal(jira.issues.length, 1, 'one ticket (found by its label, not created again)');
    assert.equal(jira.server.requests({ method: 'POST', path: '/rest/api/3/issue' }).length, 1);
    const status = await api(url, 'GET', '/v1/notify/status', token);
    assert.deepEqual(status.json.connectors.map((c: { state: string; failed: number; lag_operations: number }) => [c.state, c.failed, c.lag_operations]), [['ok', 0, 0], ['ok', 0, 0]]);
  });
});
