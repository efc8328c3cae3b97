import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startNotifyApp, until } from './helpers.ts';
import { PagerDuty } from './servers/pagerduty.ts';

describe('a vendor whose certificate probectl cannot verify', () => {
  it('pauses the connector with an alarm whose reason names PROBECTL_NOTIFY_CA_FILE; nothing is sent, nothing is skipped', async (t) => {
    const pd = await PagerDuty.start();
    t.after(() => pd.close());
    // The stand-in's certificate is signed by its own CA, which this server is not given.
    const n = await startNotifyApp(t, ['acme'], (ids) => ({
      PROBECTL_NOTIFY_CONNECTORS: `${ids.acme}|pagerduty|${pd.enqueueUrl}|${pd.routingKey}`,
      PROBECTL_NOTIFY_RETRY_BASE: '20ms',
      PROBECTL_NOTIFY_RETRY_MAX: '100ms',
    }));
    const acme = n.tenants.acme as string;
    await n.signal(acme);
    const token = await n.token(acme);
    let status: { state: string; paused_reason: string | null } | undefined;
    await until(async () => {
      status = (await n.app.request('GET', '/v1/notify/status', { token })).json.connectors[0];
      return status?.state === 'paused';
    }, 'the connector pauses');
    assert.match(status?.paused_reason ?? '', /TLS verification failed \([A-Z_]+\) \(a private CA: PROBECTL_NOTIFY_CA_FILE\)/);
    assert.equal(pd.events.length, 0, 'nothing reached the vendor');
    assert.deepEqual((await n.app.request('GET', '/v1/notify/failed', { token })).json.failed, [], 'nothing failed or skipped: it waits');
  });
});
