import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { pagerduty } from '../../../src/notify/providers/pagerduty/index.ts';
import { leaf } from '../../helpers/tls.ts';
import { pagerDutyWebhookEnvelope, PagerDuty, type PdIncident } from '../servers/pagerduty.ts';
import { connector, testIncident } from '../helpers/provider-endpoint.ts';

async function setup(t: TestContext) {
  const pd = await PagerDuty.start();
  t.after(() => pd.close());
  t.after(() => assert.deepEqual(pd.server.handlerErrors, []));
  const { ep } = connector(t, pd.server.caPem, `pagerduty|${pd.enqueueUrl}|${pd.routingKey}`);
  return { pd, ep };
}

describe('pagerduty provider (Events API v2 against the stand-in)', () => {
  it('open: one trigger with every field as documented; the routing key only in the body; the ref is the dedup key', async (t) => {
    const { pd, ep } = await setup(t);
    const inc = testIncident({ severity: 'warning' });
    const r = await pagerduty.perform({ action: 'open', incident: inc, ref: undefined, idempotencyKey: 'op-1' }, ep, undefined);
    assert.deepEqual(r, { kind: 'ok', ref: { id: inc.key } });
    const [req] = pd.server.requests();
    assert.equal(req?.path, '/v2/enqueue', 'nothing in the URL');
    assert.equal(req?.headers['content-type'], 'application/json');
    assert.deepEqual(req?.body, {
      routing_key: pd.routingKey, event_action: 'trigger', dedup_key: inc.key, client: 'probectl',
      payload: {
        summary: `[warning] ${inc.title} (${inc.target})`, source: inc.target, severity: 'warning', timestamp: inc.openedAt, group: 'link', class: 'link',
        custom_details: { incident_id: inc.id, incident_key: inc.key, tenant: inc.tenant, status: 'open', signals: inc.signalCount, kind_family: 'link', target: inc.target, opened_at: inc.openedAt },
      },
    });
    assert.deepEqual([pd.incidents.length, pd.incident(inc.key)?.severity], [1, 'warning']);
  });

  it('severity table: critical → critical, warning → warning, info → info; a summary over 1024 characters is cut to 1024', async (t) => {
    const { pd, ep } = await setup(t);
    for (const severity of ['critical', 'warning', 'info'] as const) {
      const inc = testIncident({ severity, title: 'x'.repeat(2000) });
      assert.equal((await pagerduty.perform({ action: 'open', incident: inc, ref: undefined, idempotencyKey: severity }, ep, undefined)).kind, 'ok');
      const p = pd.incident(inc.key) as PdIncident;
      assert.equal(p.severity, severity);
      assert.equal([...p.summary].length, 1024);
    }
  });

  it('a re-sent trigger (a retry, a restart) applies to the open alert: one page; acknowledge and resolve by the dedup key; update sends nothing', async (t) => {
    const { pd, ep } = await setup(t);
    const inc = testIncident();
    const op = { action: 'open' as const, incident: inc, ref: undefined, idempotencyKey: 'op' };
    await pagerduty.perform(op, ep, undefined);
    await pagerduty.perform(op, ep, undefined);
    assert.deepEqual([pd.incidents.length, pd.triggers(inc.key)], [1, 2]);
    assert.equal((await pagerduty.perform({ action: 'update', incident: inc, ref: { id: inc.key }, update: { signals: 3, severityFrom: 'warning', severityTo: 'critical' }, idempotencyKey: 'u' }, ep, undefined)).kind, 'ok');
    assert.equal(pd.server.log.length, 2, 'an update never reaches the pager');
    await pagerduty.perform({ action: 'acknowledge', incident: inc, ref: { id: inc.key }, idempotencyKey: 'a' }, ep, undefined);
    assert.deepEqual(pd.server.log.at(-1)?.body, { routing_key: pd.routingKey, event_action: 'acknowledge', dedup_key: inc.key });
    assert.equal(pd.incident(inc.key)?.status, 'acknowledged');
    await pagerduty.perform({ action: 'resolve', incident: inc, ref: { id: inc.key }, idempotencyKey: 'r' }, ep, undefined);
    assert.deepEqual(pd.server.log.at(-1)?.body, { routing_key: pd.routingKey, event_action: 'resolve', dedup_key: inc.key });
    assert.equal(pd.incident(inc.key)?.status, 'resolved');
  });

  it('answers: 5xx and 429 retried (Retry-After honoured), a reset retried, a refused routing key pauses, an invalid event is permanent', async (t) => {
    const { pd, ep } = await setup(t);
    const open = () => pagerduty.perform({ action: 'open', incident: testIncident(), ref: undefined, idempotencyKey: 'x' }, ep, undefined);
    pd.server.inject({ kind: 'status', status: 503 });
    assert.equal((await open()).kind, 'retryable');
    pd.server.inject({ kind: 'status', status: 429, retryAfter: '7' });
    assert.deepEqual(await open(), { kind: 'retryable', reason: 'PagerDuty answered 429', retryAfterMs: 7000 });
    pd.server.inject({ kind: 'reset' });
    assert.equal((await open()).kind, 'retryable');
    const { ep: wrongKey } = connector(t, pd.server.caPem, `pagerduty|${pd.enqueueUrl}|${'Z'.repeat(32)}`);
    const refused = await pagerduty.perform({ action: 'open', incident: testIncident(), ref: undefined, idempotencyKey: 'y' }, wrongKey, undefined);
    assert.equal(refused.kind, 'paused');
    assert.match((refused as { reason: string }).reason, /Invalid routing key/);
    assert.ok(!(refused as { reason: string }).reason.includes('Z'.repeat(32)));
    pd.server.inject({ kind: 'status', status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ["'payload.summary' is missing or blank"] } });
    const invalid = await open();
    assert.deepEqual([invalid.kind, (invalid as { status?: number }).status], ['permanent', 400]);
    assert.match((invalid as { reason: string }).reason, /payload.summary/);
  });

  it('a certificate the client does not trust is an alarm (paused), never a silent retry or a disabled check', async (t) => {
    const pd = await PagerDuty.start();
    t.after(() => pd.close());
    const other = await leaf({ selfSigned: true });
    const { ep } = connector(t, other.certPem, `pagerduty|${pd.enqueueUrl}|${pd.routingKey}`);
    const r = await pagerduty.perform({ action: 'open', incident: testIncident(), ref: undefined, idempotencyKey: 'x' }, ep, undefined);
    assert.equal(r.kind, 'paused');
    assert.equal(pd.incidents.length, 0);
  });

  it('inbound: X-PagerDuty-Signature v1 over the raw body, several during a rotation; v3 incident.acknowledged / incident.resolved by incident_key', async (t) => {
    const { pd, ep } = await setup(t);
    const inc = testIncident();
    await pagerduty.perform({ action: 'open', incident: inc, ref: undefined, idempotencyKey: 'o' }, ep, undefined);
    const alert = pd.incident(inc.key) as PdIncident;
    const raw = Buffer.from(JSON.stringify(pagerDutyWebhookEnvelope(alert, 'incident.resolved')));
    const sig = (s: string) => `v1=${createHmac('sha256', s).update(raw).digest('hex')}`;
    const verify = (h: Record<string, string>) => pagerduty.verifyVendorSignature?.(raw, h, 'current-secret');
    assert.equal(verify({ 'x-pagerduty-signature': sig('current-secret') }), 'valid');
    assert.equal(verify({ 'x-pagerduty-signature': `${sig('old-secret')},${sig('current-secret')}` }), 'valid');
    assert.equal(verify({ 'x-pagerduty-signature': sig('old-secret') }), 'invalid');
    assert.equal(verify({ 'x-pagerduty-signature': 'v1=00' }), 'invalid');
    assert.equal(verify({}), 'absent');
    assert.equal(pagerduty.verifyVendorSignature?.(Buffer.concat([raw, Buffer.from(' ')]), { 'x-pagerduty-signature': sig('current-secret') }, 'current-secret'), 'invalid', 'a changed body fails');
    assert.deepEqual(pagerduty.parseInbound?.(JSON.parse(raw.toString())), { ref: inc.key, incidentKey: inc.key, status: 'resolved' });
    assert.deepEqual(pagerduty.parseInbound?.(pagerDutyWebhookEnvelope(alert, 'incident.acknowledged')), { ref: inc.key, incidentKey: inc.key, status: 'acknowledged' });
    assert.ok('ignore' in (pagerduty.parseInbound?.({ event: { event_type: 'incident.triggered', data: { incident_key: inc.key } } }) ?? {}));
    assert.ok('ignore' in (pagerduty.parseInbound?.({ event: { event_type: 'pagey.ping' } }) ?? {}));
    assert.ok('ignore' in (pagerduty.parseInbound?.({ messages: [] }) ?? {}));
  });
});
