import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adfProblem } from './servers/jira-adf.ts';
import { startVendors } from './servers/vendors.ts';
import { pemFile, sleep, startNotifyApp, until } from './helpers.ts';

const WEBHOOK_SECRET = 'jira-webhook-secret-1f2e3d';
const INTERVAL_MS = 1500;

/**
 * The spec's "Use it" scenario end to end through the real server: PagerDuty
 * and Jira (Cloud v3) for one tenant; a new incident pages once and opens one
 * issue; correlated follow-ups never re-page and produce one coalesced Jira
 * comment per interval; resolving the issue in Jira (signed webhook) resolves
 * the incident and PagerDuty, and sends nothing back to Jira.
 */
describe('on-call mirror: the spec scenario (PagerDuty + Jira, one tenant)', () => {
  it('pages once, tickets once, coalesces follow-ups, resolves from the ticket side without echo', async (t) => {
    const vendors = await startVendors();
    t.after(() => vendors.close());
    const { pagerduty: pd, jira } = vendors;
    const n = await startNotifyApp(t, ['acme'], (ids, dir) => ({
      PROBECTL_NOTIFY_CONNECTORS: [
        `${ids.acme}|pagerduty|${pd.enqueueUrl}|${pd.routingKey}`,
        `${ids.acme}|jira|${jira.url}/rest/api/3/issue?project=OPS&resolve_transition=31|${jira.user.user}:${jira.user.secret}`,
      ].join(','),
      PROBECTL_NOTIFY_INBOUND: `jira1:${ids.acme}:jira:${WEBHOOK_SECRET}`,
      PROBECTL_NOTIFY_CA_FILE: pemFile(dir, vendors.caPem),
      PROBECTL_NOTIFY_UPDATE_INTERVAL: `${INTERVAL_MS}ms`,
    }));
    const tenant = n.tenants.acme as string;

    const incident = await n.signal(tenant, { severity: 'critical' });
    const key = `probectl-${incident}`;
    await until(() => pd.incidents.length === 1 && jira.issues.length === 1, 'one page and one issue');
    const page = pd.incident(key);
    assert.ok(page, 'the page carries dedup_key = the incident key');
    assert.deepEqual([page.status, page.severity, page.triggers], ['triggered', 'critical', 1]);
    assert.match(page.summary, /Link down on core-sw-1/);
    const issue = jira.issues[0]!;
    assert.ok(issue.labels.includes(key), 'the issue carries the incident key as a label');
    assert.equal(adfProblem(issue.description), undefined, 'the v3 description is a valid Atlassian document');
    assert.equal(jira.server.requests({ path: '/rest/api/3/search/jql' }).length, 1, 'looked up by label before creating, on the current Cloud search');
    assert.equal(jira.server.requests({ path: '/rest/api/3/search' }).length, 0, 'never the removed /search');

    // Follow-ups: no second trigger; one coalesced comment for the burst.
    // Sent together, so the burst falls within one update interval even on a busy machine.
    const followUps = await Promise.all([0, 1, 2].map(() => n.signal(tenant, { severity: 'critical' })));
    assert.deepEqual(followUps, [incident, incident, incident], 'the follow-ups correlate');
    await until(() => issue.comments.length === 1, 'one coalesced Jira comment', INTERVAL_MS * 4);
    await sleep(INTERVAL_MS * 1.5);
    assert.equal(issue.comments.length, 1, 'no further comment without new signals');
    assert.match(JSON.stringify(issue.comments[0]!.body), /3 more signals/);
    assert.equal(pd.triggers(key), 1, 'a follow-up never re-pages');
    assert.equal(pd.events.length, 1, 'PagerDuty got nothing for the follow-ups');

    // Resolution from the ticket side: the issue moves to Done in Jira, whose webhook is signed.
    const before = jira.transitionFromUi(issue.key, '31');
    const res = await jira.emitIssueUpdated(`${n.app.url}/ingest/itsm/jira/jira1`, { key: issue.key, from: before, secret: WEBHOOK_SECRET, ca: n.serverCa });
    assert.equal(res.status, 200, res.text);
    assert.equal(JSON.parse(res.text).result, 'applied');
    const inc = await n.app.request('GET', `/v1/incidents/${incident}`, { token: await n.token(tenant) });
    assert.equal(inc.json.status, 'resolved');
    await until(() => pd.incident(key)?.status === 'resolved', 'PagerDuty resolved');
    await sleep(300);
    assert.deepEqual(jira.apiTransitions(issue.key), [], 'no transition sent back to Jira');
    assert.equal(issue.comments.length, 1, 'nothing else written to Jira');
    assert.deepEqual(jira.server.handlerErrors.concat(pd.server.handlerErrors), []);

    const audit = await n.app.request('GET', '/v1/audit?limit=1000', { token: await n.token(tenant) });
    const resolve = audit.json.events.find((e: { action: string }) => e.action === 'incident.resolve');
    assert.equal(resolve.actor, 'inbound:jira1');
    const status = await n.app.request('GET', '/v1/notify/status', { token: await n.token(tenant) });
    assert.equal(status.status, 200, status.text);
    assert.deepEqual(status.json.connectors.map((c: { provider: string; state: string; failed: number }) => [c.provider, c.state, c.failed]), [['pagerduty', 'ok', 0], ['jira', 'ok', 0]]);
  });
});
