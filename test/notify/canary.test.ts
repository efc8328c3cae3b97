import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadConfig, renderEffectiveConfig } from '../../src/settings.ts';
import { assertNoLeaks, canary } from '../helpers/canary.ts';
import { Jira } from './servers/jira.ts';
import { PagerDuty } from './servers/pagerduty.ts';
import { WebhookReceiver } from './servers/webhook.ts';
import { pemFile, startNotifyApp, until } from './helpers.ts';

/** A PagerDuty routing key is 32 letters and digits: a canary of that shape. */
const routingKeyCanary = () => `cnry${randomBytes(14).toString('hex')}`;

/**
 * Secrets canary: routing keys, API tokens, passwords, webhook signing and
 * inbound secrets, and a URL credential are planted; a failing and a working
 * connector run, inbound deliveries are refused and accepted; then every
 * output probectl produces is searched for each secret in the forms a leak
 * takes — logs, API answers (status, failed operations, integrations),
 * metrics, the audit chain, error answers and `config check`.
 */
describe('secrets canary: on-call connectors and inbound webhooks', () => {
  it('no routing key, token, password, signing secret or URL credential appears anywhere probectl writes', async (t) => {
    const goodKey = routingKeyCanary();
    const badKey = routingKeyCanary();
    const pd = await PagerDuty.start({ routingKeys: [goodKey] });
    t.after(() => pd.close());
    const jiraToken = canary('jira-token');
    const jira = await Jira.start({ mode: 'cloud', users: [{ user: 'probectl@acme.example', secret: jiraToken }] });
    t.after(() => jira.close());
    const hookSecret = canary('hook-signing');
    const hooks = await WebhookReceiver.start(hookSecret);
    t.after(() => hooks.close());
    const wrongJiraToken = canary('jira-wrong');
    const inboundSecret = canary('inbound');
    const urlCredential = canary('url-sig');
    const secrets = [goodKey, badKey, jiraToken, wrongJiraToken, hookSecret, inboundSecret, urlCredential];
    const env = (ids: Record<string, string>, dir: string) => ({
      PROBECTL_NOTIFY_CONNECTORS: [
        `${ids.acme}|pagerduty|${pd.enqueueUrl}|${goodKey}`,
        `${ids.acme}|pagerduty|${pd.enqueueUrl}|${badKey}`,
        `${ids.acme}|jira|${jira.url}/rest/api/3/issue?project=OPS&connector_name=good|probectl@acme.example:${jiraToken}`,
        `${ids.acme}|jira|${jira.url}/rest/api/2/issue?project=OPS&connector_name=wrong|probectl@acme.example:${wrongJiraToken}`,
        `${ids.acme}|webhook|${hooks.url}/in?sig=${urlCredential}|${hookSecret}`,
      ].join(','),
      PROBECTL_NOTIFY_INBOUND: `jira1:${ids.acme}:jira@good+wrong:${inboundSecret}`,
      PROBECTL_NOTIFY_CA_FILE: pemFile(dir, pd.server.caPem),
      PROBECTL_NOTIFY_RETRY_BASE: '20ms',
      PROBECTL_NOTIFY_RETRY_MAX: '100ms',
    });
    let effective = '';
    const n = await startNotifyApp(t, ['acme'], (ids, dir) => {
      const e = env(ids, dir);
      effective = renderEffectiveConfig(loadConfig({ PROBECTL_DATA_DIR: dir, ...e }));
      return e;
    });
    const acme = n.tenants.acme as string;
    const token = await n.token(acme);
    const incident = await n.signal(acme);
    await until(() => pd.incidents.length === 1 && jira.issues.length === 1 && hooks.docs.length === 1, 'the working connectors delivered');
    await until(async () => (await n.app.request('GET', '/v1/notify/status', { token })).json.connectors.filter((c: { state: string }) => c.state === 'paused').length === 2, 'the two refused connectors paused');
    const answers: string[] = [];
    const refused = await n.app.request('POST', '/ingest/itsm/jira/jira1', { rawBody: '{"external_ref":"x","status":"resolved"}', headers: { 'content-type': 'application/json', 'x-probectl-token': `${inboundSecret}-wrong` } });
    answers.push(refused.text);
    const accepted = await n.app.request('POST', '/ingest/itsm/jira/jira1', { rawBody: JSON.stringify({ external_ref: `probectl-${incident}`, status: 'resolved' }), headers: { 'content-type': 'application/json', 'x-probectl-token': inboundSecret } });
    assert.equal(accepted.status, 200, accepted.text);
    answers.push(accepted.text);
    const signed = await n.app.request('POST', '/v1/notify/sign', { token, body: { id: 'jira1', body: '{}' } });
    answers.push(signed.text);
    for (const path of ['/v1/notify/status', '/v1/notify/failed', '/v1/integrations', '/v1/audit?limit=5000', `/v1/incidents/${incident}`]) answers.push((await n.app.request('GET', path, { token })).text);
    const test = await n.app.request('POST', '/v1/notify/test', { token, body: { connector: JSON.parse(answers[3] as string).connectors[3].id } });
    answers.push(test.text);
    const metrics = (await n.app.request('GET', '/metrics', { token: n.app.adminToken })).text;
    const providerAudit = (await n.app.request('GET', '/v1/audit?limit=5000', { token: n.app.adminToken })).text;
    assert.match(answers.join('\n'), /paused/, 'the pauses are visible');
    assert.match(n.app.logs.join('\n'), /On-call mirror paused/, 'and logged');
    assertNoLeaks({ logs: n.app.logs, answers, metrics, audit: providerAudit, 'config check': effective }, secrets);
  });
});
