import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBody } from '../../src/notify/providers/servicenow/request.ts';
import type { IncidentView } from '../../src/notify/providers/types.ts';
import { pemFile, startNotifyApp, until } from '../notify/helpers.ts';
import { startVendors, type Vendors } from '../notify/servers/vendors.ts';
import { WebhookReceiver } from '../notify/servers/webhook.ts';
import { seedServiceNow, SN_WEB01 } from './helpers.ts';
import { ServiceNowCmdb } from './servers/servicenow-cmdb.ts';

const HOOK_SECRET = 'whsec-cmdb-enrichment-3f9a';

function connectors(v: Vendors, hook: WebhookReceiver, tenant: string): string {
  return [
    `${tenant}|webhook|${hook.url}/hooks/probectl|${HOOK_SECRET}`,
    `${tenant}|pagerduty|${v.pagerduty.enqueueUrl}|${v.pagerduty.routingKey}`,
    `${tenant}|opsgenie|${v.opsgenie.opsgenieUrl}|${v.opsgenie.apiKey}`,
    `${tenant}|slack|${v.slack.webhookUrl}`,
    `${tenant}|teams|${v.teams.url}`,
    `${tenant}|servicenow|${v.servicenow.tableUrl}|${v.servicenow.user.user}:${v.servicenow.user.password}`,
    `${tenant}|jira|${v.jira.url}/rest/api/3/issue?project=OPS|${v.jira.user.user}:${v.jira.user.secret}`,
  ].join(',');
}

async function start(t: { after(fn: () => unknown): void }, enrichTimeout: string) {
  const v = await startVendors();
  t.after(() => v.close());
  const hook = await WebhookReceiver.start(HOOK_SECRET);
  t.after(() => hook.close());
  const cmdb = await ServiceNowCmdb.start();
  t.after(() => cmdb.close());
  seedServiceNow(cmdb);
  const n = await startNotifyApp(t, ['acme'], (ids, dir) => ({
    PROBECTL_NOTIFY_CONNECTORS: connectors(v, hook, ids.acme as string),
    PROBECTL_NOTIFY_CA_FILE: pemFile(dir, v.caPem),
    PROBECTL_NOTIFY_RETRY_BASE: '50ms',
    PROBECTL_NOTIFY_RETRY_MAX: '200ms',
    PROBECTL_NOTIFY_POLL_INTERVAL: '50ms',
    PROBECTL_CMDB_PROVIDER: 'servicenow', PROBECTL_CMDB_URL: cmdb.url, PROBECTL_CMDB_SECRET: 'probectl.cmdb:cmdb-pass',
    PROBECTL_CMDB_CA_FILE: pemFile(dir, cmdb.standIn.caPem, 'cmdb-ca.pem'), PROBECTL_CMDB_TIMEOUT: '5s', PROBECTL_CMDB_ENRICH_TIMEOUT: enrichTimeout,
  }));
  return { v, hook, cmdb, n, acme: n.tenants.acme as string };
}

const delivered = (v: Vendors, hook: WebhookReceiver) => hook.received('/hooks/probectl').length === 1 && v.pagerduty.incidents.length === 1 && v.opsgenie.alerts.length === 1 && v.slack.messages().length === 1 && v.teams.cards.length === 1 && v.servicenow.records.size === 1 && v.jira.issues.length === 1;

describe('connector payloads carry the incident\'s configuration items', () => {
  it('PagerDuty custom_details and links, Opsgenie details and entity, Slack and Teams facts, ServiceNow and Jira descriptions, the webhook\'s configuration_items', async (t) => {
    const { v, hook, cmdb, n, acme } = await start(t, '2s');
    await n.signal(acme, { target: 'web01.example.com', title: 'web01 unreachable' });
    await until(() => delivered(v, hook), 'every connector opened', 30_000);
    const doc = hook.received('/hooks/probectl')[0]!;
    assert.equal(doc.action, 'open');
    assert.deepEqual(doc.configuration_items, [{
      provider: 'servicenow', id: SN_WEB01, name: 'web01', class: 'Linux Server', role: null, ips: ['10.0.0.1'], fqdn: 'web01.example.com',
      owner: 'Network Ops', location: 'Paris DC1', status: 'Installed', link: `${cmdb.url}/cmdb_ci_linux_server.do?sys_id=${SN_WEB01}`,
    }]);
    const pdEvent = v.pagerduty.server.log.find((r) => r.method === 'POST')?.body as Record<string, any>;
    assert.deepEqual(pdEvent.links, [{ href: `${cmdb.url}/cmdb_ci_linux_server.do?sys_id=${SN_WEB01}`, text: 'CMDB: web01 (Linux Server; Network Ops; Paris DC1; Installed)' }]);
    assert.equal(pdEvent.payload.custom_details.configuration_items[0].id, SN_WEB01);
    const alert = v.opsgenie.alerts[0]!;
    assert.equal(alert.entity, 'web01');
    assert.match(alert.details.cmdb_ci ?? '', /^web01 \(Linux Server; Network Ops/);
    assert.match(alert.description ?? '', /Configuration items:\n- web01 /);
    assert.match(JSON.stringify(v.slack.messages()[0]!.blocks), /Configuration items\*\\n<https:\/\/127\.0\.0\.1:\d+\/cmdb_ci_linux_server\.do\?sys_id=a1b2/);
    assert.match(JSON.stringify(v.teams.cards[0]), /"text":"CI: ","weight":"Bolder"\},\{"type":"TextRun","text":"web01 \(Linux Server/);
    const ticket = [...v.servicenow.records.values()][0]!;
    assert.match(ticket.fields.description ?? '', /Configuration items:\n- web01 \(Linux Server/);
    assert.equal(ticket.fields.cmdb_ci ?? '', '', 'another instance\'s CI is never put in the reference field');
    assert.match(JSON.stringify(v.jira.issues[0]!.description), /Configuration items:/);
    assert.equal(cmdb.requestCount, 1, 'seven connectors, one CMDB request (coalesced and cached)');
  });

  it('a hanging CMDB does not hold the page back beyond the enrichment deadline: it goes out without CIs', async (t) => {
    const { v, hook, cmdb, n, acme } = await start(t, '300ms');
    cmdb.standIn.inject({ kind: 'hang' });
    const at = Date.now();
    await n.signal(acme, { target: 'web01.example.com', title: 'web01 unreachable' });
    await until(() => v.pagerduty.incidents.length === 1, 'paged', 20_000);
    const waited = Date.now() - at;
    assert.ok(waited < 4_000, `paged after ${waited} ms (CMDB timeout 5 s, enrichment deadline 300 ms)`);
    const pdEvent = v.pagerduty.server.log.find((r) => r.method === 'POST')?.body as Record<string, any>;
    assert.equal(pdEvent.links, undefined);
    assert.equal(pdEvent.payload.custom_details.configuration_items, undefined);
    await until(() => delivered(v, hook), 'every connector opened', 30_000);
    assert.equal(hook.received('/hooks/probectl')[0]!.configuration_items, undefined, 'the webhook went out without CIs too');
  });

  it('ServiceNow cmdb_ci is the CI sys_id only when the CMDB is the same instance', () => {
    const ci = { provider: 'servicenow' as const, id: SN_WEB01, name: 'web01', class: 'Linux Server', role: null, ips: [], fqdn: null, owner: null, location: null, status: null, link: 'https://acme.service-now.com/x', origin: 'https://acme.service-now.com' };
    const i: IncidentView = { id: 'i', key: 'probectl-i', tenant: 't', title: 'x', severity: 'critical', status: 'open', target: 'web01', kindFamily: 'link', signalCount: 1, openedAt: '2026-01-01T00:00:00.000Z', cis: [ci] };
    assert.equal(createBody(i, {}, 'https://acme.service-now.com').cmdb_ci, SN_WEB01);
    assert.equal(createBody(i, {}, 'https://other.service-now.com').cmdb_ci, undefined);
    assert.equal(createBody({ ...i, cis: [{ ...ci, provider: 'netbox', id: 'device:1' }] }, {}, 'https://acme.service-now.com').cmdb_ci, undefined);
  });
});
