import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startVendors } from './servers/vendors.ts';
import { Jira } from './servers/jira.ts';
import { pemFile, sleep, startNotifyApp, until } from './helpers.ts';

const JIRA_SECRET = 'jira-origin-secret-5d1c';
const PD_SECRET = 'pd-origin-secret-8e2a';

/**
 * One PagerDuty connector (and inbound id pd1); an incident whose trigger PagerDuty applied without ever
 * answering, so probectl retries it after its 2 s deadline. Resolves once the alert is open at PagerDuty.
 */
async function lostTrigger(t: { after(fn: () => unknown): void }) {
  const vendors = await startVendors();
  t.after(() => vendors.close());
  const { pagerduty: pd } = vendors;
  const n = await startNotifyApp(t, ['acme'], (ids, dir) => ({
    PROBECTL_NOTIFY_CONNECTORS: `${ids.acme}|pagerduty|${pd.enqueueUrl}|${pd.routingKey}`,
    PROBECTL_NOTIFY_INBOUND: `pd1:${ids.acme}:pagerduty:${PD_SECRET}`,
    PROBECTL_NOTIFY_CA_FILE: pemFile(dir, vendors.caPem),
    PROBECTL_NOTIFY_TIMEOUT: '2s',
    PROBECTL_NOTIFY_RETRY_BASE: '50ms',
    PROBECTL_NOTIFY_RETRY_MAX: '200ms',
  }));
  const tenant = n.tenants.acme as string;
  pd.server.inject({ kind: 'applied-hang', when: { path: '/v2/enqueue' } });
  const incident = await n.signal(tenant);
  const key = `probectl-${incident}`;
  await until(() => pd.incident(key) !== undefined, 'the alert opened at PagerDuty, its answer never sent');
  return { pd, n, tenant, incident, key };
}

/**
 * "Never sent back to the connector it came from" names one connector, not
 * every connector of the provider, and not one whose open has not been
 * recorded yet: the inbound change's origin is the link whose vendor object
 * the delivery names.
 */
describe('inbound webhooks: the origin of a change is the link it names', () => {
  it('two Jira connectors (two projects): closing the OPS issue resolves the SEC issue, and nothing goes back to OPS', async (t) => {
    const jira = await Jira.start({ mode: 'cloud', projects: [{ key: 'OPS' }, { key: 'SEC' }] });
    t.after(() => jira.close());
    const n = await startNotifyApp(t, ['acme'], (ids, dir) => ({
      PROBECTL_NOTIFY_CONNECTORS: [
        `${ids.acme}|jira|${jira.url}/rest/api/3/issue?project=OPS&resolve_transition=31&connector_name=ops|${jira.user.user}:${jira.user.secret}`,
        `${ids.acme}|jira|${jira.url}/rest/api/3/issue?project=SEC&resolve_transition=31&connector_name=sec|${jira.user.user}:${jira.user.secret}`,
      ].join(','),
      // One Jira site's webhook speaks for both projects' connectors.
      PROBECTL_NOTIFY_INBOUND: `jira1:${ids.acme}:jira@ops+sec:${JIRA_SECRET}`,
      PROBECTL_NOTIFY_CA_FILE: pemFile(dir, jira.server.caPem),
    }));
    const tenant = n.tenants.acme as string;
    const incident = await n.signal(tenant);
    const key = `probectl-${incident}`;
    await until(() => jira.withLabel(key).length === 2, 'an issue in each project');
    const ops = jira.withLabel(key).find((i) => i.key.startsWith('OPS-'))!;
    const sec = jira.withLabel(key).find((i) => i.key.startsWith('SEC-'))!;
    await until(async () => (await n.rows(tenant, "SELECT 1 FROM notify_links WHERE state = 'open'")).length === 2, 'both links open');
    const from = jira.transitionFromUi(ops.key, '31');
    const res = await jira.emitIssueUpdated(`${n.app.url}/ingest/itsm/jira/jira1`, { key: ops.key, from, secret: JIRA_SECRET, ca: n.serverCa });
    assert.equal(JSON.parse(res.text).result, 'applied', res.text);
    await until(() => sec.status.category.key === 'done', 'the SEC issue resolved through its own connector');
    await sleep(300);
    assert.deepEqual(jira.apiTransitions(ops.key), [], 'no transition sent back to the OPS issue');
    assert.equal(ops.comments.length, 0, 'nothing written back to the OPS issue');
  });

  it('a page resolved in PagerDuty while probectl\'s trigger is still unanswered: the retried trigger is not sent (the incident is over), so nothing re-opens the alert', async (t) => {
    const { pd, n, tenant, key } = await lostTrigger(t);
    // A responder resolves it at once; PagerDuty's webhook reaches probectl before the retried trigger.
    const res = await pd.emitWebhook(`${n.app.url}/ingest/itsm/pagerduty/pd1`, { dedupKey: key, action: 'resolve', secrets: [PD_SECRET], ca: n.serverCa });
    assert.equal(JSON.parse(res.text).result, 'applied', res.text);
    // A retried trigger would open a new alert (PagerDuty de-duplicates only against an open one): the incident is
    // resolved by then, so the open is skipped — nobody is paged for a resolved incident — and the resolve is sent by key.
    await until(async () => (await n.rows(tenant, "SELECT action, result FROM notify_outbox WHERE result IS NOT NULL ORDER BY seq")).length === 2, 'the open and the resolve done', 15_000);
    assert.deepEqual((await n.rows(tenant, 'SELECT action, result FROM notify_outbox ORDER BY seq')).map((r) => [r.action, r.result]), [['open', 'skipped'], ['resolve', 'sent']]);
    assert.equal(pd.incidents.filter((i) => i.dedupKey === key).length, 1, 'no second alert');
    assert.equal(pd.incident(key)?.status, 'resolved');
  });

  it('a trigger PagerDuty applied but never answered, then the incident resolved in probectl: the open is skipped, and the resolve by dedup key closes the alert', async (t) => {
    const { pd, n, tenant, incident, key } = await lostTrigger(t);
    const res = await n.app.request('PATCH', `/v1/incidents/${incident}`, { token: await n.token(tenant), body: { status: 'resolved' } });
    assert.equal(res.status, 200, res.text);
    await until(() => pd.incident(key)?.status === 'resolved', 'the alert resolved by dedup key', 15_000);
    assert.equal(pd.incidents.filter((i) => i.dedupKey === key).length, 1, 'no second alert');
  });
});
