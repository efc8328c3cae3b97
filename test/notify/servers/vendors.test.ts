import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basic, vendorClient } from './client.ts';
import { startVendors } from './vendors.ts';

describe('all vendor stand-ins together', () => {
  it('start on distinct ports under one CA, each accepts a correct request, close() ends them all', async (t) => {
    const v = await startVendors();
    t.after(() => v.close());
    const ports = new Set([v.pagerduty.server.port, v.opsgenie.server.port, v.slack.server.port, v.teams.server.port, v.servicenow.server.port, v.jira.server.port]);
    assert.equal(ports.size, 6);
    const { call } = vendorClient(t, v.caPem);
    const pd = await call(v.pagerduty.enqueueUrl, { json: { routing_key: v.pagerduty.routingKey, event_action: 'trigger', dedup_key: 'k', payload: { summary: 's', source: 'probectl', severity: 'warning' } } });
    assert.equal(pd.status, 202);
    assert.equal((await call(v.opsgenie.jsmUrl, { json: { message: 'm', alias: 'k' }, headers: { authorization: `GenieKey ${v.opsgenie.apiKey}` } })).status, 202);
    assert.equal((await call(v.slack.webhookUrl, { json: { text: 'hi' } })).text(), 'ok');
    assert.equal((await call(v.teams.url, { json: { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.4', body: [{ type: 'TextBlock', text: 'hi' }] } }] } })).status, 202);
    assert.equal((await call(v.servicenow.tableUrl, { json: { short_description: 's', correlation_id: 'k' }, headers: { authorization: basic(v.servicenow.user.user, v.servicenow.user.password) } })).status, 201);
    assert.equal((await call(`${v.jira.url}/rest/api/3/myself`, { headers: { authorization: basic(v.jira.user.user, v.jira.user.secret) } })).status, 200);
    for (const s of [v.pagerduty, v.opsgenie, v.slack, v.teams, v.servicenow, v.jira]) assert.deepEqual(s.server.handlerErrors, [], s.server.name);
    await v.close();
    await assert.rejects(call(v.pagerduty.enqueueUrl, { json: {}, timeoutMs: 1_000 }));
  });
});
