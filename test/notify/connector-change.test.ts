import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { PagerDuty } from './servers/pagerduty.ts';
import { WebhookReceiver } from './servers/webhook.ts';
import { closer, pemFile, prepareDataDir, until } from './helpers.ts';

const HOOK_SECRET = 'whsec-change-7a1e';

/**
 * A connector added, renamed or pointed at a new endpoint while an incident is
 * open (a new connector id): the incident opens there at its next follow-up
 * signal (the team's current tool), and the same vendor object is never paged
 * twice (a PagerDuty connector renamed with connector_name: the same routing
 * and dedup key, one alert). Two server runs on one data directory.
 */
describe('on-call: connectors changed while an incident is open', () => {
  it('the next follow-up signal opens the incident on the new connectors; a renamed PagerDuty connector pages once; the resolve reaches the new ones', async (t) => {
    const c = closer();
    t.after(() => c.run());
    const pd = await PagerDuty.start({ routingKeys: ['K'.repeat(32)] });
    c.after(() => pd.close());
    const hooks = await WebhookReceiver.start(HOOK_SECRET);
    c.after(() => hooks.close());
    const { dataDir, tenants, env } = await prepareDataDir(c, ['acme']);
    const acme = tenants.acme as string;
    const common = { ...env, PROBECTL_DATA_DIR: dataDir, PROBECTL_NOTIFY_CA_FILE: pemFile(dataDir, pd.server.caPem), PROBECTL_NOTIFY_RETRY_BASE: '50ms', PROBECTL_NOTIFY_RETRY_MAX: '300ms', PROBECTL_NOTIFY_TIMEOUT: '2s' };
    const token = async (app: TestApp) => {
      const res = await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant: acme, permissions: ['admin'], name: 'change-test' } });
      assert.equal(res.status, 201, res.text);
      return res.json.token as string;
    };
    const signal = async (app: TestApp, tok: string) => {
      const res = await app.request('POST', '/v1/signals', { token: tok, body: { kind: 'link.down', severity: 'critical', confidence: 90, target: 'core-sw-1:ge-0/0/1', title: 'Link down on core-sw-1' } });
      assert.equal(res.status, 201, res.text);
      return res.json.signals[0].incident_id as string;
    };

    // Before the change: one PagerDuty connector.
    const first = await startTestApp({ ...common, PROBECTL_NOTIFY_CONNECTORS: `${acme}|pagerduty|${pd.enqueueUrl}|${'K'.repeat(32)}` });
    let firstClosed = false;
    c.after(() => (firstClosed ? undefined : first.close()));
    const incident = await signal(first, await token(first));
    const key = `probectl-${incident}`;
    await until(() => pd.triggers(key) === 1, 'paged once');
    await first.close();
    firstClosed = true;

    // After: the same PagerDuty service renamed (a new connector id) and a webhook added.
    const second = await startTestApp({
      ...common,
      PROBECTL_NOTIFY_CONNECTORS: [`${acme}|pagerduty|${pd.enqueueUrl}?connector_name=network|${'K'.repeat(32)}`, `${acme}|webhook|${hooks.url}/new|${HOOK_SECRET}`].join(','),
    });
    c.after(() => second.close());
    const tok = await token(second);
    assert.equal(await signal(second, tok), incident, 'a follow-up signal of the open incident');
    await until(() => hooks.received('/new', key).length >= 1, 'the incident opened on the added webhook connector');
    await until(() => pd.events.filter((e) => e.dedup_key === key && e.event_action === 'trigger').length === 2, 'the renamed PagerDuty connector sent its open');
    assert.equal(pd.incidents.filter((i) => i.dedupKey === key).length, 1, 'one PagerDuty alert: the renamed connector\'s open applied to the open alert, nobody was paged again');

    const res = await second.request('PATCH', `/v1/incidents/${incident}`, { token: tok, body: { status: 'resolved' } });
    assert.equal(res.status, 200, res.text);
    await until(() => pd.incident(key)?.status === 'resolved', 'resolved in PagerDuty through the renamed connector');
    await until(() => hooks.received('/new', key).at(-1)?.action === 'resolve', 'the resolve reached the added webhook connector');
    assert.equal(hooks.received('/new', key)[0]?.action, 'open');
  });
});
