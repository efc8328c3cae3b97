import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leaf, testCa, tlsServer } from '../helpers/tls.ts';
import { pemFile, startNotifyApp, until } from './helpers.ts';
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

  it('a certificate for another name (the CA trusted): paused with the TLS reason, and no hint pointing at the CA file', async (t) => {
    const server = await tlsServer(await leaf({ names: ['other.example'] }));
    t.after(() => server.close());
    const ca = (await testCa()).certPem;
    const n = await startNotifyApp(t, ['acme'], (ids, dir) => ({
      PROBECTL_NOTIFY_CONNECTORS: `${ids.acme}|pagerduty|https://127.0.0.1:${server.port}/v2/enqueue|${'R'.repeat(32)}`,
      PROBECTL_NOTIFY_CA_FILE: pemFile(dir, ca),
      PROBECTL_NOTIFY_RETRY_BASE: '20ms',
      PROBECTL_NOTIFY_RETRY_MAX: '100ms',
    }));
    const acme = n.tenants.acme as string;
    await n.signal(acme);
    const token = await n.token(acme);
    let reason = '';
    await until(async () => {
      const c = (await n.app.request('GET', '/v1/notify/status', { token })).json.connectors[0];
      reason = c?.paused_reason ?? '';
      return c?.state === 'paused';
    }, 'the connector pauses');
    assert.match(reason, /TLS verification failed \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
    assert.ok(!reason.includes('PROBECTL_NOTIFY_CA_FILE'), reason);
  });
});
