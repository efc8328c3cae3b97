import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { PagerDuty, pagerDutyWebhookEnvelope, pagerDutyWebhookHeaders } from './servers/pagerduty.ts';
import { pemFile, sleep, startNotifyApp, until } from './helpers.ts';
import { Jira } from './servers/jira.ts';
import { jira } from '../../src/notify/providers/jira/index.ts';
import { connector, testIncident } from './helpers/provider-endpoint.ts';
import { retryParked } from '../../src/delivery/operations.ts';
import type { NotifyRuntime } from '../../src/notify/runtime.ts';

const PD_SECRET = 'pd-hostile-secret-41f0';

describe('hostile review: on-call mirroring', () => {
  it('two PagerDuty connectors (two services) of one tenant: a page resolved in service A resolves the page in service B', async (t) => {
    const pd = await PagerDuty.start({ routingKeys: ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'] });
    t.after(() => pd.close());
    const [ka, kb] = pd.routingKeys as [string, string];
    const n = await startNotifyApp(t, ['acme'], (ids, dir) => ({
      PROBECTL_NOTIFY_CONNECTORS: [`${ids.acme}|pagerduty|${pd.enqueueUrl}?connector_name=svc-a|${ka}`, `${ids.acme}|pagerduty|${pd.enqueueUrl}?connector_name=svc-b|${kb}`].join(','),
      // One PagerDuty account webhook speaks for both services.
      PROBECTL_NOTIFY_INBOUND: `pd1:${ids.acme}:pagerduty@svc-a+svc-b:${PD_SECRET}`,
      PROBECTL_NOTIFY_CA_FILE: pemFile(dir, pd.server.caPem),
    }));
    const tenant = n.tenants.acme as string;
    const incident = await n.signal(tenant);
    const key = `probectl-${incident}`;
    await until(() => pd.incident(key, ka) !== undefined && pd.incident(key, kb) !== undefined, 'paged in both services');
    await until(async () => (await n.rows(tenant, "SELECT 1 FROM notify_links WHERE state = 'open'")).length === 2, 'both links open');
    // A responder resolves the page of service A in PagerDuty's UI; its v3 webhook reaches probectl.
    const a = pd.incident(key, ka)!;
    a.status = 'resolved';
    const body = JSON.stringify(pagerDutyWebhookEnvelope(a, 'incident.resolved'));
    const res = await n.app.request('POST', '/ingest/itsm/pagerduty/pd1', { rawBody: body, headers: pagerDutyWebhookHeaders(body, [PD_SECRET]) });
    assert.equal(res.json.result, 'applied', res.text);
    // The incident is resolved in probectl, so service B's page must be resolved too (else B's on-call keeps being escalated).
    await until(() => pd.incident(key, kb)?.status === 'resolved', 'service B\'s page resolved after the incident was resolved');
  });
});

describe('hostile review: Jira search endpoint detection', () => {
  it('Jira Cloud (v2, not *.atlassian.net) answering one transient 404 on /search/jql: the connector is not stuck on the removed /search for the life of the process', async (t) => {
    const j = await Jira.start({ mode: 'cloud' });
    t.after(() => j.close());
    const { ep } = connector(t, j.server.caPem, `jira|${j.url}/rest/api/2/issue?project=OPS|${j.user.user}:${j.user.secret}`);
    const inc = testIncident();
    j.server.inject({ kind: 'status', status: 404, body: { errorMessages: ['temporarily not found'] }, when: { path: '/rest/api/2/search/jql' } });
    const first = await jira.lookup?.(inc, ep, undefined);
    assert.notEqual(first?.kind, 'found');
    // The fault is gone: the next attempts must reach the search again, not pause on 410 from the removed /search forever.
    const second = await jira.lookup?.(inc, ep, undefined);
    const third = await jira.lookup?.(inc, ep, undefined);
    assert.deepEqual([second, third], [{ kind: 'none' }, { kind: 'none' }], JSON.stringify([second, third]));
  });

  it('the lookup that met the transient 404 is not paused on the removed /search\'s 410: /search/jql is asked again at once', async (t) => {
    const j = await Jira.start({ mode: 'cloud' });
    t.after(() => j.close());
    const { ep } = connector(t, j.server.caPem, `jira|${j.url}/rest/api/2/issue?project=OPS|${j.user.user}:${j.user.secret}`);
    j.server.inject({ kind: 'status', status: 404, body: { errorMessages: ['temporarily not found'] }, when: { path: '/rest/api/2/search/jql' } });
    // A pause is an alarm (notify.paused audited, the connector shown paused) naming a 410 that says nothing of the fault.
    const first = await jira.lookup?.(testIncident(), ep, undefined);
    assert.deepEqual(first, { kind: 'none' }, JSON.stringify(first));
  });
});

describe('hostile review: a Jira clone carrying the incident label', () => {
  it('closing a clone of the incident\'s Jira issue (Jira copies labels) does not resolve the incident or its page', async (t) => {
    const JIN = 'jira-clone-inbound-7c1e';
    const j = await Jira.start({ mode: 'cloud', projects: [{ key: 'OPS' }] });
    t.after(() => j.close());
    const pd = await PagerDuty.start();
    t.after(() => pd.close());
    const n = await startNotifyApp(t, ['acme'], (ids, dir) => ({
      PROBECTL_NOTIFY_CONNECTORS: [`${ids.acme}|jira|${j.url}/rest/api/3/issue?project=OPS|${j.user.user}:${j.user.secret}`, `${ids.acme}|pagerduty|${pd.enqueueUrl}|${pd.routingKey}`].join(','),
      PROBECTL_NOTIFY_INBOUND: `j1:${ids.acme}:jira:${JIN}`,
      PROBECTL_NOTIFY_CA_FILE: pemFile(dir, j.server.caPem),
    }));
    const tenant = n.tenants.acme as string;
    const incident = await n.signal(tenant);
    const key = `probectl-${incident}`;
    await until(async () => (await n.rows(tenant, "SELECT 1 FROM notify_links WHERE state = 'open'")).length === 2, 'both links open');
    const original = j.withLabel(key)[0]!;
    // Someone clones the incident's issue into a follow-up task (Jira copies the labels) and closes the clone.
    const body = JSON.stringify({
      timestamp: Date.now(), webhookEvent: 'jira:issue_updated', issue_event_type_name: 'issue_resolved',
      issue: { id: '99999', key: 'OPS-999', fields: { summary: `CLONE - ${original.key}`, labels: [key, 'probectl'], status: { name: 'Done', statusCategory: { key: 'done' } } } },
    });
    const res = await n.app.request('POST', '/ingest/itsm/jira/j1', { rawBody: body, headers: { 'content-type': 'application/json', 'x-hub-signature': `sha256=${createHmac('sha256', JIN).update(body).digest('hex')}` } });
    assert.equal(res.status, 200, res.text);
    await sleep(500);
    const status = (await n.rows<{ status: string }>(tenant, 'SELECT status FROM incidents WHERE id = $1', [incident]))[0]?.status;
    assert.equal(status, 'open', `the incident was ${status} by closing a clone (${res.text}); PagerDuty: ${pd.incident(key)?.status}`);
    assert.equal(res.json.result, 'unknown_ref');
    assert.equal(pd.incident(key)?.status, 'triggered');
    // The issue itself, moved to another project (a new key, the same id), closed: that is the mirror, applied.
    const moved = JSON.stringify({
      timestamp: Date.now(), webhookEvent: 'jira:issue_updated', issue_event_type_name: 'issue_resolved',
      issue: { id: original.id, key: 'NEWP-5', fields: { labels: [key, 'probectl'], status: { name: 'Done', statusCategory: { key: 'done' } } } },
    });
    const res2 = await n.app.request('POST', '/ingest/itsm/jira/j1', { rawBody: moved, headers: { 'content-type': 'application/json', 'x-hub-signature': `sha256=${createHmac('sha256', JIN).update(moved).digest('hex')}` } });
    assert.equal(res2.json.result, 'applied', res2.text);
    await until(() => pd.incident(key)?.status === 'resolved', 'the page resolved');
  });
});

describe('hostile review: an operator\'s retry of a failed open run by two replicas at once', () => {
  it('two retries of the same parked Jira open (the request sent twice through a load balancer, each replica taking one): one issue, not two', async (t) => {
    const j = await Jira.start({ mode: 'cloud' });
    t.after(() => j.close());
    const n = await startNotifyApp(t, ['acme'], (ids, dir) => ({
      PROBECTL_NOTIFY_CONNECTORS: `${ids.acme}|jira|${j.url}/rest/api/3/issue?project=OPS|${j.user.user}:${j.user.secret}`,
      PROBECTL_NOTIFY_CA_FILE: pemFile(dir, j.server.caPem),
    }));
    const tenant = n.tenants.acme as string;
    j.server.inject({ kind: 'status', status: 400, body: { errorMessages: [], errors: { summary: 'Field \'summary\' cannot be set.' } }, when: { method: 'POST', path: '/rest/api/3/issue' } });
    const incident = await n.signal(tenant);
    const token = await n.token(tenant);
    await until(async () => (await n.app.request('GET', '/v1/notify/failed', { token })).json.failed.length === 1, 'the open failed');
    // Replica 2: the same code in a module instance of its own (its in-process "one retry at a time" is its own).
    const second: string = '../../src/delivery/operations.ts?replica2';
    const replica2 = (await import(second)) as typeof import('../../src/delivery/operations.ts');
    const runtime = n.app.service.integrations.get('notify')?.runtime as NotifyRuntime;
    const deps = n.app.service.deps;
    const answers = await Promise.allSettled([
      retryParked(deps.db, deps.clock, runtime.forTenant(tenant, undefined, true), tenant, 'user:one'),
      replica2.retryParked(deps.db, deps.clock, runtime.forTenant(tenant, undefined, true), tenant, 'user:two'),
    ]);
    // One sends the open; the other is refused (409, already running) or finds nothing left to send.
    const delivered = answers.map((r) => (r.status === 'fulfilled' ? r.value.delivered : 0));
    assert.equal(delivered.reduce((x, y) => x + y, 0), 1, JSON.stringify(answers));
    for (const r of answers) if (r.status === 'rejected') assert.equal((r.reason as { code?: string }).code, 'PROBECTL_ERR_CONFLICT');
    await sleep(300);
    assert.equal(j.withLabel(`probectl-${incident}`).length, 1, 'one Jira issue for the incident');
  });
});
