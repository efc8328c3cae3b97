import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { HttpClientError } from '../../../src/core/http/client.ts';
import { captureReceiver, vendorClient } from './client.ts';
import { hmacSha256Hex } from './harness.ts';
import { Opsgenie, type OpsgenieOptions } from './opsgenie.ts';

async function setup(t: TestContext, opts: OpsgenieOptions = {}) {
  const og = await Opsgenie.start(opts);
  t.after(() => og.close());
  t.after(() => assert.deepEqual(og.server.handlerErrors, [], 'the stand-in itself failed'));
  const { call } = vendorClient(t, og.server.caPem);
  const auth = { authorization: `GenieKey ${og.apiKey}` };
  const post = (url: string, json: unknown, headers: Record<string, string> = auth) => call(url, { json, headers });
  return { og, call, auth, post };
}

const create = { message: 'Link down on core-1', alias: 'probectl-inc-1', description: 'three signals', priority: 'P1', tags: ['probectl'], details: { tenant: 't1' }, source: 'probectl' };

for (const api of ['opsgenie', 'jsm'] as const) {
  describe(`Opsgenie alert API stand-in (${api} endpoint)`, () => {
    const base = (og: Opsgenie) => (api === 'jsm' ? og.jsmUrl : og.opsgenieUrl);

    it('create → 202 + requestId; the request status reports the created alert', async (t) => {
      const { og, call, auth, post } = await setup(t);
      const res = await post(base(og), create);
      assert.equal(res.status, 202);
      const { result, requestId } = res.json() as { result: string; requestId: string };
      assert.equal(result, 'Request will be processed');
      const st = await call(`${base(og)}/requests/${requestId}`, { headers: auth });
      assert.equal(st.status, 200);
      const data = (st.json() as { data: Record<string, unknown> }).data;
      assert.deepEqual([data.isSuccess, data.action, data.status, data.alias], [true, 'Create', 'Created alert', 'probectl-inc-1']);
      const a = og.alert('probectl-inc-1')!;
      assert.deepEqual([a.priority, a.status, a.acknowledged, a.api, a.count], ['P1', 'open', false, api, 1]);
    });

    it('a second create with the alias of an open alert is de-duplicated (count 2, one alert)', async (t) => {
      const { og, post } = await setup(t);
      await post(base(og), create);
      await post(base(og), create);
      assert.equal(og.alerts.length, 1);
      assert.equal(og.alert('probectl-inc-1')!.count, 2);
    });

    it('acknowledge and close by alias (identifierType=alias)', async (t) => {
      const { og, post } = await setup(t);
      await post(base(og), create);
      assert.equal((await post(`${base(og)}/probectl-inc-1/acknowledge?identifierType=alias`, { source: 'probectl', note: 'acknowledged in probectl' })).status, 202);
      assert.equal(og.alert('probectl-inc-1')!.acknowledged, true);
      assert.equal((await post(`${base(og)}/probectl-inc-1/close?identifierType=alias`, { source: 'probectl' })).status, 202);
      assert.equal(og.alert('probectl-inc-1')!.status, 'closed');
      assert.deepEqual(og.alert('probectl-inc-1')!.notes, ['acknowledged in probectl']);
    });

    it('without identifierType the identifier is an alert id: acting on the alias finds nothing', async (t) => {
      const { og, call, auth, post } = await setup(t);
      await post(base(og), create);
      const res = await post(`${base(og)}/probectl-inc-1/close`, {});
      assert.equal(res.status, 202);
      const { requestId } = res.json() as { requestId: string };
      const data = ((await call(`${base(og)}/requests/${requestId}`, { headers: auth })).json() as { data: Record<string, unknown> }).data;
      assert.deepEqual([data.isSuccess, data.status], [false, 'Alert does not exist']);
      assert.equal(og.alert('probectl-inc-1')!.status, 'open');
    });

    const invalid: Array<[string, Record<string, unknown>, string]> = [
      ['message over 130 characters', { ...create, message: 'x'.repeat(131) }, 'message'],
      ['empty message', { ...create, message: '' }, 'message'],
      ['alias over 512 characters', { ...create, alias: 'a'.repeat(513) }, 'alias'],
      ['priority outside P1–P5', { ...create, priority: 'critical' }, 'priority'],
      ['more than 20 tags', { ...create, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
      ['details with a non-string value', { ...create, details: { n: 3 } }, 'details'],
      ['description over 15000 characters', { ...create, description: 'd'.repeat(15001) }, 'description'],
      ['responder of unknown type', { ...create, responders: [{ type: 'group', name: 'ops' }] }, 'responders#type'],
    ];
    for (const [name, body, field] of invalid) {
      it(`422 with errors.${field}: ${name}`, async (t) => {
        const { og, post } = await setup(t);
        const res = await post(base(og), body);
        assert.equal(res.status, 422);
        const b = res.json() as { message: string; errors: Record<string, string>; requestId: string; took: number };
        assert.equal(b.message, 'Request body is not processable. Please check the errors.');
        assert.ok(b.errors[field], JSON.stringify(b.errors));
        assert.equal(typeof b.requestId, 'string');
        assert.equal(og.alerts.length, 0);
      });
    }

    it('credentials: none or unknown → 401, malformed → 422, account key → 403 40301, Bearer scheme → 401', async (t) => {
      const account = randomUUID();
      const { og, post } = await setup(t, { accountKeys: [account] });
      const none = await post(base(og), create, {});
      assert.equal(none.status, 401);
      assert.equal((none.json() as { message: string }).message, 'Could not authenticate');
      assert.equal((await post(base(og), create, { authorization: `GenieKey ${randomUUID()}` })).status, 401);
      const malformed = await post(base(og), create, { authorization: 'GenieKey not-a-key' });
      assert.equal(malformed.status, 422);
      assert.equal((malformed.json() as { message: string }).message, 'Key format is not valid!');
      const acc = await post(base(og), create, { authorization: `GenieKey ${account}` });
      assert.equal(acc.status, 403);
      assert.equal((acc.json() as { code: number }).code, 40301);
      assert.equal((await post(base(og), create, { authorization: `Bearer ${og.apiKey}` })).status, 401);
      assert.equal(og.alerts.length, 0);
    });
  });
}

describe('Opsgenie specifics', () => {
  it('async processing: the request status is 404 "not processed yet" until it runs', async (t) => {
    const { og, call, auth, post } = await setup(t, { processDelayMs: 150 });
    const { requestId } = (await post(og.opsgenieUrl, create)).json() as { requestId: string };
    const early = await call(`${og.opsgenieUrl}/requests/${requestId}`, { headers: auth });
    assert.equal(early.status, 404);
    assert.equal((early.json() as { message: string }).message, 'Request not found. It might not be processed, yet.');
    assert.equal(og.alerts.length, 0);
    await og.server.waitFor(() => og.alerts.length === 1, 3_000, 'processing');
    assert.equal((await call(`${og.opsgenieUrl}/requests/${requestId}`, { headers: auth })).status, 200);
  });

  it('GET alert by alias works on Opsgenie; the JSM integration API has no such endpoint', async (t) => {
    const { og, call, auth, post } = await setup(t);
    await post(og.opsgenieUrl, create);
    const got = await call(`${og.opsgenieUrl}/probectl-inc-1?identifierType=alias`, { headers: auth });
    assert.equal(got.status, 200);
    assert.equal((got.json() as { data: { alias: string } }).data.alias, 'probectl-inc-1');
    assert.equal((await call(`${og.jsmUrl}/probectl-inc-1?identifierType=alias`, { headers: auth })).status, 405);
  });

  it('429 THROTTLED is injectable; a lost create is applied once and a retried create de-duplicates', async (t) => {
    const { og, post } = await setup(t);
    og.server.inject({ kind: 'status', status: 429 }, { kind: 'lost-response' });
    const throttled = await post(og.opsgenieUrl, create);
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers['x-ratelimit-state'], 'THROTTLED');
    await assert.rejects(post(og.opsgenieUrl, create), HttpClientError);
    assert.equal((await post(og.opsgenieUrl, create)).status, 202);
    assert.equal(og.alerts.length, 1);
    assert.equal(og.alert('probectl-inc-1')!.count, 2);
  });

  it('outgoing webhook: action Close with alert.alias, carrying probectl inbound headers', async (t) => {
    const { og, post } = await setup(t);
    await post(og.jsmUrl, create);
    const { url: at, seen } = await captureReceiver(t, 202);
    const url = at('/ingest/itsm/opsgenie/og1');
    const res = await og.emitWebhook(url, { alias: 'probectl-inc-1', action: 'Close', auth: { kind: 'hmac', secret: 'whsec', timestamp: 1700000000 }, timeoutMs: 2_000 });
    assert.equal(res.status, 202);
    assert.equal(og.alert('probectl-inc-1')!.status, 'closed');
    const { headers, body } = seen[0]!;
    assert.equal(headers['x-probectl-signature'], `sha256=${hmacSha256Hex('whsec', `1700000000.${body}`)}`);
    const payload = JSON.parse(body) as { action: string; alert: { alias: string; alertId: string } };
    assert.equal(payload.action, 'Close');
    assert.equal(payload.alert.alias, 'probectl-inc-1');
    assert.equal(payload.alert.alertId, og.alert('probectl-inc-1')!.id);
  });
});
