import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pemFile, startNotifyApp, until } from '../notify/helpers.ts';
import { startVendors, type Vendors } from '../notify/servers/vendors.ts';
import { seedServiceNow } from './helpers.ts';
import { ServiceNowCmdb } from './servers/servicenow-cmdb.ts';

async function start(t: { after(fn: () => unknown): void }, env: Record<string, string>, withSlack = false) {
  const v = await startVendors();
  t.after(() => v.close());
  const cmdb = await ServiceNowCmdb.start();
  t.after(() => cmdb.close());
  seedServiceNow(cmdb);
  const n = await startNotifyApp(t, ['acme'], (ids, dir) => ({
    PROBECTL_NOTIFY_CONNECTORS: `${ids.acme}|pagerduty|${v.pagerduty.enqueueUrl}|${v.pagerduty.routingKey}${withSlack ? `,${ids.acme}|slack|${v.slack.webhookUrl}` : ''}`,
    PROBECTL_NOTIFY_CA_FILE: pemFile(dir, v.caPem), PROBECTL_NOTIFY_RETRY_BASE: '50ms', PROBECTL_NOTIFY_RETRY_MAX: '200ms', PROBECTL_NOTIFY_POLL_INTERVAL: '50ms',
    PROBECTL_CMDB_PROVIDER: 'servicenow', PROBECTL_CMDB_URL: cmdb.url, PROBECTL_CMDB_SECRET: 'probectl.cmdb:cmdb-pass',
    PROBECTL_CMDB_CA_FILE: pemFile(dir, cmdb.standIn.caPem, 'cmdb-ca.pem'), ...env,
  }));
  return { v, cmdb, n, acme: n.tenants.acme as string };
}

const events = (v: Vendors) => v.pagerduty.server.log.filter((r) => r.method === 'POST').map((r) => r.body as Record<string, any>);
const signals = (count: number, prefix: string) => Array.from({ length: count }, (_, i) => ({ kind: 'link.down', severity: 'critical', confidence: 90, target: `${prefix}-${i}.example.com`, title: 't' }));

describe('enrichment never delays or fails a page', () => {
  it('64 incidents at once against a hanging CMDB: every page within about twice the enrichment deadline', async (t) => {
    const { v, cmdb, n, acme } = await start(t, { PROBECTL_CMDB_TIMEOUT: '5s', PROBECTL_CMDB_ENRICH_TIMEOUT: '1s' });
    const token = await n.token(acme);
    // The same storm against an answering CMDB first: what 64 pages cost on this machine at this
    // moment (under a second when it is quiet), so the bound below holds on a loaded machine too.
    const calmAt = Date.now();
    assert.ok((await n.app.request('POST', '/v1/signals', { token, body: signals(64, 'calm') })).status < 300);
    await until(() => v.pagerduty.incidents.length === 64, 'all paged (CMDB answering)', 60_000);
    const baseline = Date.now() - calmAt;
    const before = events(v).length;
    // Every CMDB request hangs (no timer of the stand-in's: its sockets are destroyed when it closes).
    for (let i = 0; i < 64; i++) cmdb.standIn.inject({ kind: 'hang' });
    const at = Date.now();
    const r = await n.app.request('POST', '/v1/signals', { token, body: signals(64, 'storm') });
    assert.ok(r.status < 300, `ingest ${r.status}`);
    await until(() => v.pagerduty.incidents.length === 128, 'all paged', 60_000);
    const waited = Date.now() - at;
    // Waiting for the CMDB costs each page at most the deadline, all in parallel: about one deadline more than
    // the answering storm (two allowed), never one per incident or per batch.
    assert.ok(waited < baseline + 2_000, `64 pages after ${waited} ms against a hanging CMDB, ${baseline} ms against an answering one (enrichment deadline 1 s)`);
    const notes = events(v).slice(before).map((e) => e.payload.custom_details.configuration_items_unavailable);
    assert.ok(notes.every((x) => typeof x === 'string' && /^CMDB unavailable/.test(x)), 'each page says its CIs are unavailable');
  });

  it('enrichment counts against PROBECTL_CMDB_RATE_LIMIT: over it the page goes out at once marked rate limited', async (t) => {
    const { v, cmdb, n, acme } = await start(t, { PROBECTL_CMDB_RATE_LIMIT: '1', PROBECTL_CMDB_TIMEOUT: '5s', PROBECTL_CMDB_ENRICH_TIMEOUT: '2s' });
    const token = await n.token(acme);
    assert.equal((await n.app.request('GET', '/v1/cmdb/lookup?key=web01', { token })).status, 200);
    assert.equal(cmdb.requestCount, 1);
    const r = await n.app.request('POST', '/v1/signals', { token, body: signals(20, 'flood') });
    assert.ok(r.status < 300, `ingest ${r.status}`);
    await until(() => v.pagerduty.incidents.length === 20, 'all paged', 30_000);
    assert.equal(cmdb.requestCount, 1, 'no enrichment asked the CMDB past the tenant\'s rate');
    const notes = events(v).map((e) => e.payload.custom_details.configuration_items_unavailable);
    assert.ok(notes.every((x) => typeof x === 'string' && x.startsWith('rate limited')), JSON.stringify(notes.slice(0, 3)));
  });

  it('a new incident counts one lookup against PROBECTL_CMDB_RATE_LIMIT however many connectors page it', async (t) => {
    const { v, cmdb, n, acme } = await start(t, { PROBECTL_CMDB_RATE_LIMIT: '2', PROBECTL_CMDB_TIMEOUT: '5s', PROBECTL_CMDB_ENRICH_TIMEOUT: '2s' }, true);
    const token = await n.token(acme);
    assert.equal((await n.app.request('GET', '/v1/cmdb/lookup?key=web01', { token })).status, 200, 'one of two');
    const r = await n.app.request('POST', '/v1/signals', { token, body: { kind: 'link.down', severity: 'critical', confidence: 90, target: 'web01.example.com', title: 't' } });
    assert.ok(r.status < 300, `ingest ${r.status}`);
    await until(() => v.pagerduty.incidents.length === 1 && v.slack.messages().length === 1, 'paged and posted', 30_000);
    const pd = events(v)[0]!;
    assert.equal(pd.payload.custom_details.configuration_items_unavailable, undefined, JSON.stringify(pd.payload.custom_details));
    assert.match(pd.payload.custom_details.configuration_items?.[0]?.summary ?? '', /^web01 /, JSON.stringify(pd.payload.custom_details));
    assert.match(JSON.stringify(v.slack.messages()[0]!.blocks), /Configuration items/, 'the second connector of the same incident is not rate limited');
    assert.ok(cmdb.requestCount <= 2);
    const third = await n.app.request('GET', '/v1/cmdb/lookup?key=web01', { token });
    assert.equal(third.status, 429, 'the incident counted one: the allowance of two is used up');
  });
});
