import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { HttpClientError } from '../../../src/core/http/client.ts';
import { captureReceiver, vendorClient } from './client.ts';
import { hmacSha256Hex } from './harness.ts';
import { PagerDuty } from './pagerduty.ts';

async function setup(t: TestContext) {
  const pd = await PagerDuty.start();
  t.after(() => pd.close());
  t.after(() => assert.deepEqual(pd.server.handlerErrors, [], 'the stand-in itself failed'));
  const { call } = vendorClient(t, pd.server.caPem);
  const send = (event: unknown) => call(pd.enqueueUrl, { json: event });
  const trigger = (extra: Record<string, unknown> = {}, payload: Record<string, unknown> = {}) => send({
    routing_key: pd.routingKey, event_action: 'trigger', dedup_key: 'probectl-inc-1',
    payload: { summary: 'Link down on core-1', source: 'probectl', severity: 'critical', custom_details: { signals: 3 }, ...payload },
    ...extra,
  });
  return { pd, call, send, trigger };
}

describe('PagerDuty Events API v2 stand-in', () => {
  it('trigger → 202 {status, message, dedup_key}; one incident, triggered', async (t) => {
    const { pd, trigger } = await setup(t);
    const res = await trigger();
    assert.equal(res.status, 202);
    assert.deepEqual(res.json(), { status: 'success', message: 'Event processed', dedup_key: 'probectl-inc-1' });
    assert.equal(pd.incidents.length, 1);
    assert.deepEqual([pd.incident('probectl-inc-1')!.status, pd.incident('probectl-inc-1')!.severity], ['triggered', 'critical']);
    assert.deepEqual(pd.incident('probectl-inc-1')!.customDetails, { signals: 3 });
  });

  it('a repeated trigger with the same dedup_key applies to the open alert (counted, no second incident)', async (t) => {
    const { pd, trigger } = await setup(t);
    await trigger();
    await trigger();
    assert.equal(pd.incidents.length, 1);
    assert.equal(pd.triggers('probectl-inc-1'), 2);
  });

  it('acknowledge then resolve move the state; after resolve a trigger opens a new incident; ack/resolve with no open alert are dropped', async (t) => {
    const { pd, send, trigger } = await setup(t);
    await trigger();
    const ack = await send({ routing_key: pd.routingKey, event_action: 'acknowledge', dedup_key: 'probectl-inc-1' });
    assert.equal(ack.status, 202);
    assert.equal(pd.incident('probectl-inc-1')!.status, 'acknowledged');
    await send({ routing_key: pd.routingKey, event_action: 'resolve', dedup_key: 'probectl-inc-1' });
    assert.equal(pd.incident('probectl-inc-1')!.status, 'resolved');
    assert.equal((await send({ routing_key: pd.routingKey, event_action: 'resolve', dedup_key: 'probectl-inc-1' })).status, 202);
    assert.equal(pd.events.at(-1)!.outcome, 'dropped');
    assert.equal((await send({ routing_key: pd.routingKey, event_action: 'acknowledge', dedup_key: 'never-opened' })).status, 202);
    assert.equal(pd.events.at(-1)!.outcome, 'dropped');
    await trigger();
    assert.equal(pd.incidents.length, 2);
    assert.equal(pd.incident('probectl-inc-1')!.status, 'triggered');
  });

  it('a trigger without dedup_key gets a generated one (always a new alert)', async (t) => {
    const { pd, send } = await setup(t);
    const ev = { routing_key: pd.routingKey, event_action: 'trigger', payload: { summary: 's', source: 'x', severity: 'info' } };
    const a = (await send(ev)).json() as { dedup_key: string };
    const b = (await send(ev)).json() as { dedup_key: string };
    assert.match(a.dedup_key, /^[0-9a-f]{32}$/);
    assert.notEqual(a.dedup_key, b.dedup_key);
    assert.equal(pd.incidents.length, 2);
  });

  const invalidCases: Array<[string, (rk: string) => unknown, RegExp]> = [
    ['routing key of the wrong length', () => ({ routing_key: 'short', event_action: 'trigger', payload: { summary: 's', source: 'x', severity: 'info' } }), /Length of 'routing_key' is incorrect/],
    ['no event_action', (rk) => ({ routing_key: rk, payload: { summary: 's', source: 'x', severity: 'info' } }), /event_action/],
    ['unknown event_action', (rk) => ({ routing_key: rk, event_action: 'close', dedup_key: 'k' }), /event_action/],
    ['summary over 1024 characters', (rk) => ({ routing_key: rk, event_action: 'trigger', payload: { summary: 'x'.repeat(1025), source: 'x', severity: 'info' } }), /payload.summary/],
    ['no source', (rk) => ({ routing_key: rk, event_action: 'trigger', payload: { summary: 's', severity: 'info' } }), /payload.source/],
    ['severity outside the enum', (rk) => ({ routing_key: rk, event_action: 'trigger', payload: { summary: 's', source: 'x', severity: 'high' } }), /payload.severity/],
    ['custom_details not an object', (rk) => ({ routing_key: rk, event_action: 'trigger', payload: { summary: 's', source: 'x', severity: 'info', custom_details: 'text' } }), /custom_details/],
    ['resolve without dedup_key', (rk) => ({ routing_key: rk, event_action: 'resolve' }), /dedup_key/],
    ['dedup_key over 255 characters', (rk) => ({ routing_key: rk, event_action: 'resolve', dedup_key: 'k'.repeat(256) }), /dedup_key/],
    ['trigger without payload', (rk) => ({ routing_key: rk, event_action: 'trigger', dedup_key: 'k' }), /payload/],
    ['image over http', (rk) => ({ routing_key: rk, event_action: 'trigger', payload: { summary: 's', source: 'x', severity: 'info' }, images: [{ src: 'http://x.test/a.png' }] }), /HTTPS/],
  ];
  for (const [name, event, message] of invalidCases) {
    it(`400 invalid event: ${name}`, async (t) => {
      const { pd, send } = await setup(t);
      const res = await send(event(pd.routingKey));
      assert.equal(res.status, 400);
      const body = res.json() as { status: string; message: string; errors: string[] };
      assert.equal(body.status, 'invalid event');
      assert.equal(body.message, 'Event object is invalid');
      assert.ok(body.errors.some((e) => message.test(e)), JSON.stringify(body.errors));
      assert.equal(pd.incidents.length, 0);
    });
  }

  it('a well-formed but unknown routing key is refused; the routing key is read only from the body', async (t) => {
    const { pd, call, send } = await setup(t);
    const res = await send({ routing_key: 'a'.repeat(32), event_action: 'trigger', payload: { summary: 's', source: 'x', severity: 'info' } });
    assert.equal(res.status, 400);
    assert.deepEqual((res.json() as { errors: string[] }).errors, ['Invalid routing key']);
    const inUrl = await call(`${pd.enqueueUrl}?routing_key=${pd.routingKey}`, { json: { event_action: 'trigger', payload: { summary: 's', source: 'x', severity: 'info' } } });
    assert.equal(inUrl.status, 400);
    assert.equal(pd.incidents.length, 0);
  });

  it('non-JSON body or content type → 400 Unrecognized object; wrong path 404', async (t) => {
    const { pd, call } = await setup(t);
    const res = await call(pd.enqueueUrl, { body: 'routing_key=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json(), { status: 'Unrecognized object', message: 'Event object format is unrecognized', errors: ['JSON parse error'] });
    assert.equal((await call(`${pd.url}/v2/enqueue/extra`, { json: {} })).status, 404);
  });

  it('injected 429 and 5xx are answered without applying; a lost response applies the trigger', async (t) => {
    const { pd, trigger } = await setup(t);
    pd.server.inject({ kind: 'status', status: 429 }, { kind: 'status', status: 502 }, { kind: 'lost-response' });
    assert.equal((await trigger()).status, 429);
    assert.equal((await trigger()).status, 502);
    assert.equal(pd.incidents.length, 0);
    await assert.rejects(trigger(), HttpClientError);
    assert.equal(pd.incidents.length, 1);
    assert.equal((await trigger()).status, 202);
    assert.equal(pd.triggers('probectl-inc-1'), 2);
  });

  it('v3 webhook: incident.resolved envelope with incident_key, signed v1=<hex HMAC> per secret', async (t) => {
    const { pd, trigger } = await setup(t);
    await trigger();
    const { url: at, seen } = await captureReceiver(t, 200);
    const url = at('/ingest/itsm/pagerduty/pd1');
    const res = await pd.emitWebhook(url, { dedupKey: 'probectl-inc-1', action: 'resolve', secrets: ['old-secret', 'new-secret'], timeoutMs: 2_000 });
    assert.equal(res.status, 200);
    assert.equal(pd.incident('probectl-inc-1')!.status, 'resolved');
    const { headers, body } = seen[0]!;
    const sigs = String(headers['x-pagerduty-signature']).split(',');
    assert.deepEqual(sigs, [`v1=${hmacSha256Hex('old-secret', body)}`, `v1=${hmacSha256Hex('new-secret', body)}`]);
    assert.ok(headers['x-webhook-id']);
    const event = (JSON.parse(body) as { event: Record<string, unknown> & { data: Record<string, unknown> } }).event;
    assert.equal(event.event_type, 'incident.resolved');
    assert.equal(event.resource_type, 'incident');
    assert.equal(event.data.incident_key, 'probectl-inc-1');
    assert.equal(event.data.status, 'resolved');
    assert.equal(event.data.type, 'incident');
  });
});
