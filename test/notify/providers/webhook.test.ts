import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { webhook } from '../../../src/notify/providers/webhook/index.ts';
import { WebhookReceiver } from '../servers/webhook.ts';
import { connector, testIncident } from '../helpers/provider-endpoint.ts';

const SECRET = 'whsec-outbound-5a7c';

async function receiver(t: TestContext) {
  const r = await WebhookReceiver.start(SECRET);
  t.after(() => r.close());
  return {
    server: r.server,
    stored: { get: (key: string) => r.docs.find((d) => d.doc.idempotency_key === key)?.doc, get size() { return r.docs.length; } },
    refusals: () => r.server.log.filter((l) => l.status === 401),
  };
}

describe('webhook provider (the generic signed JSON POST)', () => {
  it('posts the documented document, signed, with Idempotency-Key = the operation id; the vendor\'s query is kept', async (t) => {
    const { server, stored, refusals } = await receiver(t);
    const { ep, config } = connector(t, server.caPem, `webhook|${server.url}/hooks/probectl?route=noc&min_severity=warning|${SECRET}`);
    assert.equal(config.url.search, '?route=noc');
    const inc = testIncident();
    const r = await webhook.perform({ action: 'open', incident: inc, ref: undefined, idempotencyKey: '5b3c0b8e-7d6f-4a51-9e2b-1f0c3d4e5a6b' }, ep, undefined);
    assert.deepEqual(r, { kind: 'ok', ref: { id: inc.key } });
    assert.equal(refusals().length, 0, 'the receiver verified the signature');
    assert.equal(server.log[0]?.path, '/hooks/probectl?route=noc');
    assert.equal(server.log[0]?.headers['idempotency-key'], '5b3c0b8e-7d6f-4a51-9e2b-1f0c3d4e5a6b');
    assert.deepEqual(stored.get('5b3c0b8e-7d6f-4a51-9e2b-1f0c3d4e5a6b'), {
      version: 1, action: 'open', key: inc.key, idempotency_key: '5b3c0b8e-7d6f-4a51-9e2b-1f0c3d4e5a6b',
      incident: { id: inc.id, tenant: inc.tenant, title: inc.title, severity: 'critical', status: 'open', target: inc.target, kind_family: 'link', signal_count: inc.signalCount, opened_at: inc.openedAt },
    });
    const u = await webhook.perform({ action: 'update', incident: inc, ref: { id: inc.key }, update: { signals: 4, severityFrom: 'warning', severityTo: 'critical' }, idempotencyKey: 'u-1' }, ep, undefined);
    assert.equal(u.kind, 'ok');
    assert.deepEqual((stored.get('u-1') as { update: unknown }).update, { signals: 4, severity_from: 'warning', severity_to: 'critical' });
  });

  it('an open carries the incident\'s configuration items (at most 5, 8 IPs each); other actions carry none', async (t) => {
    const { server, stored } = await receiver(t);
    const { ep } = connector(t, server.caPem, `webhook|${server.url}/in|${SECRET}`);
    const ci = (n: number) => ({ provider: 'netbox' as const, id: `device:${n}`, name: `sw${n}`, class: 'device', role: 'Leaf', ips: Array.from({ length: 10 }, (_, k) => `10.0.${n}.${k}`), fqdn: null, owner: 'Payments', location: 'Paris DC1', status: 'Active', link: `https://netbox.example/dcim/devices/${n}/`, origin: 'https://netbox.example' });
    const inc = testIncident({ cis: [1, 2, 3, 4, 5, 6].map(ci) });
    assert.equal((await webhook.perform({ action: 'open', incident: inc, ref: undefined, idempotencyKey: 'open-cis' }, ep, undefined)).kind, 'ok');
    const items = stored.get('open-cis')?.configuration_items ?? [];
    assert.equal(items.length, 5);
    assert.deepEqual(items[0], { provider: 'netbox', id: 'device:1', name: 'sw1', class: 'device', role: 'Leaf', ips: ['10.0.1.0', '10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.1.4', '10.0.1.5', '10.0.1.6', '10.0.1.7'], fqdn: null, owner: 'Payments', location: 'Paris DC1', status: 'Active', link: 'https://netbox.example/dcim/devices/1/' });
    assert.equal((await webhook.perform({ action: 'resolve', incident: { ...inc, status: 'resolved' }, ref: { id: inc.key }, idempotencyKey: 'resolve-cis' }, ep, undefined)).kind, 'ok');
    assert.equal(stored.get('resolve-cis')?.configuration_items, undefined);
    assert.equal(stored.get('resolve-cis')?.action, 'resolve');
  });

  it('a retry of the same operation carries the same Idempotency-Key: the receiver keeps one copy and answers 409, which counts as done', async (t) => {
    const { server, stored } = await receiver(t);
    const { ep } = connector(t, server.caPem, `webhook|${server.url}/in|${SECRET}`);
    const inc = testIncident();
    const send = () => webhook.perform({ action: 'resolve', incident: { ...inc, status: 'resolved' }, ref: { id: inc.key }, idempotencyKey: 'resolve-op' }, ep, undefined);
    server.inject({ kind: 'lost-response' });
    assert.equal((await send()).kind, 'retryable', 'the answer was lost');
    assert.equal((await send()).kind, 'ok');
    assert.equal(stored.size, 1);
    assert.deepEqual(server.log.map((l) => [l.headers['idempotency-key'], l.status]), [['resolve-op', 200], ['resolve-op', 409]]);
  });

  it('answers: 5xx, 429 and timeouts retried; 401/403 and 404 pause; 400 is permanent', async (t) => {
    const { server } = await receiver(t);
    const { ep } = connector(t, server.caPem, `webhook|${server.url}/in|${SECRET}`, 300);
    const send = () => webhook.perform({ action: 'open', incident: testIncident(), ref: undefined, idempotencyKey: `k-${Math.random()}` }, ep, undefined);
    server.inject({ kind: 'status', status: 500 }, { kind: 'status', status: 429, retryAfter: '2' }, { kind: 'hang' }, { kind: 'status', status: 403 }, { kind: 'status', status: 404 }, { kind: 'status', status: 400 });
    assert.equal((await send()).kind, 'retryable');
    assert.deepEqual([(await send()).kind], ['retryable']);
    assert.equal((await send()).kind, 'retryable', 'a timeout');
    assert.equal((await send()).kind, 'paused');
    assert.equal((await send()).kind, 'paused');
    assert.equal((await send()).kind, 'permanent');
    const { ep: wrong } = connector(t, server.caPem, `webhook|${server.url}/in|not-the-secret`);
    const r = await webhook.perform({ action: 'open', incident: testIncident(), ref: undefined, idempotencyKey: 'w' }, wrong, undefined);
    assert.equal(r.kind, 'paused', 'the receiver refuses the signature: the connector needs the operator');
  });
});
