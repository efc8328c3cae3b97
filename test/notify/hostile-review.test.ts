import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PagerDuty, pagerDutyWebhookEnvelope, pagerDutyWebhookHeaders } from './servers/pagerduty.ts';
import { pemFile, sleep, startNotifyApp, until } from './helpers.ts';
import { Jira } from './servers/jira.ts';
import { jira } from '../../src/notify/providers/jira/index.ts';
import { connector, testIncident } from './helpers/provider-endpoint.ts';

const PD_SECRET = 'pd-hostile-secret-41f0';

describe('hostile review: on-call mirroring', () => {
  it('two PagerDuty connectors (two services) of one tenant: a page resolved in service A resolves the page in service B', async (t) => {
    const pd = await PagerDuty.start({ routingKeys: ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'] });
    t.after(() => pd.close());
    const [ka, kb] = pd.routingKeys as [string, string];
    const n = await startNotifyApp(t, ['acme'], (ids, dir) => ({
      PROBECTL_NOTIFY_CONNECTORS: [`${ids.acme}|pagerduty|${pd.enqueueUrl}|${ka}`, `${ids.acme}|pagerduty|${pd.enqueueUrl}|${kb}`].join(','),
      PROBECTL_NOTIFY_INBOUND: `pd1:${ids.acme}:pagerduty:${PD_SECRET}`,
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
    await sleep(1500);
    assert.equal(pd.incident(key, kb)?.status, 'resolved', 'service B\'s page still open after the incident was resolved');
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
});
