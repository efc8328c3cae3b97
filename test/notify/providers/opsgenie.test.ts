import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { opsgenie } from '../../../src/notify/providers/opsgenie/index.ts';
import { PRIORITY } from '../../../src/notify/providers/opsgenie/request.ts';
import { STATUS_POLL } from '../../../src/notify/providers/opsgenie/status.ts';
import type { OperationResult } from '../../../src/notify/providers/types.ts';
import { leaf } from '../../helpers/tls.ts';
import { checkInboundProperty } from '../helpers/inbound-property.ts';
import { assertNoSecret, testEndpoint, testIncident, testOp, update } from '../helpers/provider-endpoint.ts';
import { Opsgenie, type OpsgenieOptions } from '../servers/opsgenie.ts';

async function setup(t: TestContext, opts: OpsgenieOptions & { jsm?: boolean; secret?: string; options?: Record<string, string>; timeoutMs?: number } = {}) {
  const og = await Opsgenie.start(opts);
  t.after(() => og.close());
  t.after(() => assert.deepEqual(og.server.handlerErrors, [], 'the stand-in itself failed'));
  const url = opts.jsm ? og.jsmUrl : og.opsgenieUrl;
  const ep = testEndpoint(t, { url, caPem: og.server.caPem, secret: opts.secret ?? og.apiKey, options: opts.options ?? {}, timeoutMs: opts.timeoutMs ?? 3_000 });
  return { og, ep, base: new URL(url).pathname };
}

function ok(r: OperationResult): asserts r is Extract<OperationResult, { kind: 'ok' }> {
  assert.equal(r.kind, 'ok', JSON.stringify(r));
}

for (const api of ['opsgenie', 'jsm'] as const) {
  describe(`opsgenie provider against the ${api} endpoint`, () => {
    it('open creates one alert: every field checked at the stand-in, ref = alias', async (t) => {
      const { og, ep, base } = await setup(t, { jsm: api === 'jsm', options: { team: 'Network Ops' } });
      const inc = testIncident();
      const r = await opsgenie.perform(testOp('open', inc), ep, undefined);
      ok(r);
      assert.equal(r.ref?.id, inc.key);
      assert.equal(r.ref?.data?.service, api);
      assert.match(r.ref?.data?.request_id ?? '', /^[0-9a-f-]{36}$/);
      const [req] = og.server.requests({ method: 'POST' });
      assert.equal(req!.pathname, base);
      assert.equal(req!.path, base, 'no query string on a create');
      assert.equal(req!.headers.authorization, `GenieKey ${og.apiKey}`);
      assert.match(String(req!.headers['content-type']), /^application\/json/);
      assert.equal(req!.status, 202);
      const b = req!.body as Record<string, unknown>;
      assert.deepEqual(Object.keys(b).sort(), ['alias', 'description', 'details', 'entity', 'message', 'priority', 'responders', 'source', 'tags']);
      assert.equal(b.message, inc.title);
      assert.equal(b.alias, inc.key);
      assert.equal(b.priority, 'P1');
      assert.equal(b.source, 'probectl');
      assert.equal(b.entity, inc.target);
      assert.deepEqual(b.tags, ['probectl', 'severity:critical', 'kind:link']);
      assert.deepEqual(b.responders, [{ type: 'team', name: 'Network Ops' }]);
      assert.deepEqual(b.details, {
        incident_id: inc.id, tenant: inc.tenant, severity: 'critical', status: 'open', target: inc.target,
        kind_family: 'link', signals: '3', opened_at: inc.openedAt,
      });
      assert.match(b.description as string, /^Link down on core-1.*\n\nSeverity: critical\nStatus: open\nTarget: core-1\.dc1\.example\.net\nKind: link\nSignals: 3\nOpened: 2026-03-01T11:58:00\.000Z\nprobectl incident: /s);
      assert.equal(og.alerts.length, 1);
      const a = og.alert(inc.key)!;
      assert.deepEqual([a.priority, a.status, a.acknowledged, a.api, a.count], ['P1', 'open', false, api, 1]);
    });

    it('update adds a note, acknowledge and resolve act by alias (identifierType=alias): one alert, closed', async (t) => {
      const { og, ep, base } = await setup(t, { jsm: api === 'jsm' });
      const inc = testIncident({ severity: 'warning' });
      const opened = await opsgenie.perform(testOp('open', inc), ep, undefined);
      ok(opened);
      ok(await opsgenie.perform(testOp('update', inc, { ref: opened.ref, update: update(4, 'warning', 'critical') }), ep, undefined));
      ok(await opsgenie.perform(testOp('acknowledge', inc, { ref: opened.ref }), ep, undefined));
      assert.equal(og.alert(inc.key)!.acknowledged, true);
      ok(await opsgenie.perform(testOp('resolve', inc, { ref: opened.ref }), ep, undefined));
      const reqs = og.server.requests({ method: 'POST' });
      const alias = encodeURIComponent(inc.key);
      assert.deepEqual(reqs.map((r) => r.path), [
        base,
        `${base}/${alias}/notes?identifierType=alias`,
        `${base}/${alias}/acknowledge?identifierType=alias`,
        `${base}/${alias}/close?identifierType=alias`,
      ]);
      assert.deepEqual(reqs.slice(1).map((r) => r.body), [
        { source: 'probectl', user: 'probectl', note: 'probectl: 4 more signals correlated; severity rose from warning to critical.' },
        { source: 'probectl', user: 'probectl', note: 'Acknowledged in probectl.' },
        { source: 'probectl', user: 'probectl', note: 'Resolved in probectl.' },
      ]);
      for (const r of reqs) assert.equal(r.headers.authorization, `GenieKey ${og.apiKey}`);
      assert.equal(og.alerts.length, 1);
      const a = og.alert(inc.key)!;
      assert.equal(a.priority, 'P3');
      assert.equal(a.status, 'closed');
      assert.deepEqual(a.notes, ['probectl: 4 more signals correlated; severity rose from warning to critical.', 'Acknowledged in probectl.', 'Resolved in probectl.']);
      assert.ok([...og.processed.values()].every((s) => s.isSuccess), 'every request processed successfully');
    });

    it('acknowledge and resolve work without a recorded ref (the alias is the incident key)', async (t) => {
      const { og, ep } = await setup(t, { jsm: api === 'jsm' });
      const inc = testIncident();
      ok(await opsgenie.perform(testOp('open', inc), ep, undefined));
      ok(await opsgenie.perform(testOp('resolve', inc), ep, undefined));
      assert.equal(og.alert(inc.key)!.status, 'closed');
    });
  });
}

describe('opsgenie provider: mapping and limits', () => {
  it('priority table: critical P1, warning P3, info P5 — as stored by the stand-in', async (t) => {
    const { og, ep } = await setup(t);
    assert.deepEqual(PRIORITY, { critical: 'P1', warning: 'P3', info: 'P5' });
    for (const severity of ['critical', 'warning', 'info'] as const) {
      const inc = testIncident({ severity });
      ok(await opsgenie.perform(testOp('open', inc), ep, undefined));
      assert.equal(og.alert(inc.key)!.priority, PRIORITY[severity]);
    }
  });

  it('a long title is cut to 130 characters (UTF-16 code units, as Opsgenie counts) and a long target to 512; the stand-in accepts it', async (t) => {
    const { og, ep } = await setup(t);
    const inc = testIncident({ title: `${'Ω'.repeat(100)} ${'😀'.repeat(200)}`, target: 't'.repeat(2_000), kindFamily: 'k'.repeat(300) });
    ok(await opsgenie.perform(testOp('open', inc), ep, undefined));
    const a = og.alert(inc.key)!;
    assert.equal(a.message.length, 130);
    assert.ok(a.message.endsWith('…') && a.message.isWellFormed());
    assert.ok(a.message.startsWith('Ω'.repeat(100)));
    assert.equal(a.entity!.length, 512);
    assert.ok(a.tags.every((x) => x.length <= 50));
    assert.ok(Object.entries(a.details).reduce((n, [k, v]) => n + k.length + v.length, 0) <= 8_000);
  });

  it('a title and target of emoji: cut to the limits as Opsgenie (Java) counts them, UTF-16 code units — the page is created, not refused for good (hostile review)', async (t) => {
    const { og, ep } = await setup(t);
    const inc = testIncident({ title: '🔥'.repeat(120), target: '🖧'.repeat(400), kindFamily: '📶'.repeat(60) });
    ok(await opsgenie.perform(testOp('open', inc), ep, undefined));
    const a = og.alert(inc.key)!;
    assert.ok(a.message.length <= 130 && a.message.endsWith('…') && a.message.isWellFormed(), a.message);
    assert.ok(a.entity!.length <= 512 && a.entity!.isWellFormed());
    assert.ok(a.tags.every((x) => x.length <= 50 && x.isWellFormed()));
  });

  it('an empty title still gives a message', async (t) => {
    const { og, ep } = await setup(t);
    const inc = testIncident({ title: '   ' });
    ok(await opsgenie.perform(testOp('open', inc), ep, undefined));
    assert.equal(og.alert(inc.key)!.message, `probectl incident ${inc.id}`);
  });
});

describe('opsgenie provider: answers', () => {
  it('429 with Retry-After → retryable after that delay; 5xx → retryable; nothing created', async (t) => {
    const { og, ep } = await setup(t);
    og.server.inject({ kind: 'status', status: 429, retryAfter: '7' }, { kind: 'status', status: 503 }, { kind: 'status', status: 500 });
    const inc = testIncident();
    const r1 = await opsgenie.perform(testOp('open', inc), ep, undefined);
    assert.deepEqual(r1, { kind: 'retryable', reason: 'Opsgenie answered 429: You are making too many requests! To avoid errors, we recommend you limit requests.', retryAfterMs: 7_000 });
    const r2 = await opsgenie.perform(testOp('open', inc), ep, undefined);
    assert.equal(r2.kind, 'retryable');
    assert.match((r2 as { reason: string }).reason, /^Opsgenie answered 503/);
    assert.equal((await opsgenie.perform(testOp('acknowledge', inc), ep, undefined)).kind, 'retryable');
    assert.equal(og.alerts.length, 0);
  });

  it('a lost response is retryable; the retried create de-duplicates by alias (one alert, count 2)', async (t) => {
    const { og, ep } = await setup(t);
    og.server.inject({ kind: 'lost-response' });
    const inc = testIncident();
    const lost = await opsgenie.perform(testOp('open', inc), ep, undefined);
    assert.equal(lost.kind, 'retryable');
    assert.equal(og.alerts.length, 1, 'the vendor acted');
    ok(await opsgenie.perform(testOp('open', inc), ep, undefined));
    assert.equal(og.alerts.length, 1);
    assert.equal(og.alert(inc.key)!.count, 2);
  });

  it('reset and timeout → retryable; an untrusted certificate → paused (alarm)', async (t) => {
    const { og, ep } = await setup(t, { timeoutMs: 300 });
    og.server.inject({ kind: 'reset' }, { kind: 'hang' });
    const inc = testIncident();
    assert.equal((await opsgenie.perform(testOp('open', inc), ep, undefined)).kind, 'retryable');
    const hung = await opsgenie.perform(testOp('open', inc), ep, undefined);
    assert.equal(hung.kind, 'retryable');
    assert.match((hung as { reason: string }).reason, /^Opsgenie unreachable: https:\/\/127\.0\.0\.1:\d+: /);
    const stranger = await leaf({ selfSigned: true });
    const untrusting = testEndpoint(t, { url: og.opsgenieUrl, caPem: stranger.certPem, secret: og.apiKey });
    const tls = await opsgenie.perform(testOp('open', inc), untrusting, undefined);
    assert.equal(tls.kind, 'paused', JSON.stringify(tls));
  });

  it('credentials: unknown key 401, account key 403 40301, malformed key 422 → paused; nothing created', async (t) => {
    const account = randomUUID();
    const { og } = await setup(t, { accountKeys: [account] });
    const inc = testIncident();
    const results = [];
    for (const secret of [randomUUID(), account, 'not-a-genie-key']) {
      const e = testEndpoint(t, { url: og.opsgenieUrl, caPem: og.server.caPem, secret });
      const r = await opsgenie.perform(testOp('open', inc), e, undefined);
      assert.equal(r.kind, 'paused', JSON.stringify(r));
      results.push(r);
      assertNoSecret([r], [secret]);
    }
    assert.match((results[1] as { reason: string }).reason, /^Opsgenie answered 403: To perform this action, use an API key from an API integration\./);
    assert.match((results[2] as { reason: string }).reason, /^Opsgenie answered 422: Key format is not valid!/);
    const none = testEndpoint(t, { url: og.opsgenieUrl, caPem: og.server.caPem, secret: undefined });
    assert.equal((await opsgenie.perform(testOp('open', inc), none, undefined)).kind, 'paused');
    assert.equal(og.alerts.length, 0);
  });

  it('400 and a field-validation 422 → permanent with the vendor message and field errors', async (t) => {
    const { og, ep } = await setup(t);
    og.server.inject(
      { kind: 'status', status: 422, body: { message: 'Request body is not processable. Please check the errors.', errors: { 'responders#type': "Invalid recipient type 'group'" }, took: 0.01, requestId: randomUUID() } },
      { kind: 'status', status: 400, body: { message: 'Bad request', took: 0.01, requestId: randomUUID() } },
      { kind: 'status', status: 404, body: 'not json' },
    );
    const inc = testIncident();
    assert.deepEqual(await opsgenie.perform(testOp('open', inc), ep, undefined), {
      kind: 'permanent', status: 422, reason: "Opsgenie answered 422: Request body is not processable. Please check the errors.; responders#type: Invalid recipient type 'group'",
    });
    assert.deepEqual(await opsgenie.perform(testOp('open', inc), ep, undefined), { kind: 'permanent', status: 400, reason: 'Opsgenie answered 400: Bad request' });
    assert.deepEqual(await opsgenie.perform(testOp('resolve', inc), ep, undefined), { kind: 'permanent', status: 404, reason: 'Opsgenie answered 404: not json' });
  });
});

/** Shortens the request-status deadline for one test. */
function pollDeadline(t: TestContext, deadlineMs: number): void {
  const before = { ...STATUS_POLL };
  Object.assign(STATUS_POLL, { deadlineMs });
  t.after(() => Object.assign(STATUS_POLL, before));
}

describe('opsgenie provider: asynchronous processing (Get Request Status)', () => {
  for (const api of ['opsgenie', 'jsm'] as const) {
    it(`${api}: a create accepted with 202 that fails when processed → permanent with Opsgenie's status text, no alert`, async (t) => {
      const { og, ep, base } = await setup(t, { jsm: api === 'jsm', processDelayMs: 120, options: { team: 'Nobody' } });
      og.failAsync({ action: 'Create', status: "Team 'Nobody' does not exist" });
      const inc = testIncident();
      const r = await opsgenie.perform(testOp('open', inc), ep, undefined);
      const [accepted] = og.accepted;
      assert.deepEqual(r, { kind: 'permanent', reason: `Opsgenie could not create the alert (request ${accepted!.requestId}): Team 'Nobody' does not exist` });
      assert.equal(og.alerts.length, 0);
      const polls = og.server.requests({ method: 'GET' });
      assert.ok(polls.length >= 1);
      for (const p of polls) {
        assert.equal(p.path, `${base}/requests/${accepted!.requestId}`);
        assert.equal(p.headers.authorization, `GenieKey ${og.apiKey}`);
      }
      assert.ok(polls.some((p) => p.status === 404), 'polled while pending');
      assert.equal(polls.at(-1)!.status, 200);
      assertNoSecret([r], [og.apiKey]);
    });
  }

  it('the request still pending at the deadline → retryable; the retried create de-duplicates: one alert in the end', async (t) => {
    const { og, ep } = await setup(t, { processDelayMs: 700 });
    pollDeadline(t, 250);
    const inc = testIncident();
    const pending = await opsgenie.perform(testOp('open', inc), ep, undefined);
    assert.equal(pending.kind, 'retryable', JSON.stringify(pending));
    assert.match((pending as { reason: string }).reason, /^Opsgenie accepted the create \(request [0-9a-f-]{36}\) but had not processed it within 0\.25 s \(not processed yet\); retried$/);
    assert.equal(og.alerts.length, 0);
    og.processDelayMs = 0;
    const retried = await opsgenie.perform(testOp('open', inc), ep, undefined);
    ok(retried);
    assert.equal(retried.ref?.data?.alert_id, og.alert(inc.key)!.id);
    await og.server.waitFor(() => og.processed.size === 2, 3_000, 'the first create processed');
    assert.equal(og.alerts.length, 1);
    assert.equal(og.alert(inc.key)!.count, 2);
  });

  it('normal path with processing delay: each operation returns once processed — one alert, acknowledged, closed', async (t) => {
    const { og, ep } = await setup(t, { processDelayMs: 150 });
    const inc = testIncident();
    const opened = await opsgenie.perform(testOp('open', inc), ep, undefined);
    ok(opened);
    assert.equal(og.alerts.length, 1, 'the alert exists when the open returns');
    assert.equal(opened.ref?.data?.alert_id, og.alert(inc.key)!.id);
    ok(await opsgenie.perform(testOp('acknowledge', inc, { ref: opened.ref }), ep, undefined));
    assert.equal(og.alert(inc.key)!.acknowledged, true, 'acknowledged when the acknowledge returns');
    ok(await opsgenie.perform(testOp('resolve', inc, { ref: opened.ref }), ep, undefined));
    assert.equal(og.alert(inc.key)!.status, 'closed', 'closed when the resolve returns');
    assert.equal(og.alerts.length, 1);
    assert.deepEqual([...og.processed.values()].map((s) => [s.action, s.isSuccess]), [['Create', true], ['Acknowledge', true], ['Close', true]]);
  });

  it('a close processed before its still-pending create ("Alert does not exist") → retryable; once the create is processed the close succeeds', async (t) => {
    const { og, ep } = await setup(t, { processDelayMs: 600 });
    pollDeadline(t, 200);
    const inc = testIncident();
    assert.equal((await opsgenie.perform(testOp('open', inc), ep, undefined)).kind, 'retryable');
    const createId = og.accepted[0]!.requestId;
    // The close overtakes the create at Opsgenie.
    og.processDelayMs = 0;
    const early = await opsgenie.perform(testOp('resolve', inc, { ref: { id: inc.key, data: { service: 'opsgenie', request_id: createId } } }), ep, undefined);
    assert.equal(early.kind, 'retryable', JSON.stringify(early));
    assert.match((early as { reason: string }).reason, /^Opsgenie: Alert does not exist \(the close of request [0-9a-f-]{36} came before its create/);
    // By the incident key alone (the open never recorded, e.g. skipped): no alert is the expected no-op.
    ok(await opsgenie.perform(testOp('resolve', inc, { ref: { id: inc.key } }), ep, undefined));
    await og.server.waitFor(() => og.alerts.length === 1, 3_000, 'the create processed');
    ok(await opsgenie.perform(testOp('resolve', inc, { ref: { id: inc.key, data: { service: 'opsgenie', request_id: createId } } }), ep, undefined));
    assert.equal(og.alert(inc.key)!.status, 'closed');
  });

  it('a close failing when processed for another reason, or with the create long processed → permanent with the status text', async (t) => {
    const { og, ep } = await setup(t);
    const inc = testIncident();
    const opened = await opsgenie.perform(testOp('open', inc), ep, undefined);
    ok(opened);
    og.failAsync({ action: 'Close', status: 'Alert is locked by a maintenance policy' });
    const r = await opsgenie.perform(testOp('resolve', inc, { ref: opened.ref }), ep, undefined);
    assert.equal(r.kind, 'permanent');
    assert.match((r as { reason: string }).reason, /^Opsgenie could not close the alert \(request [0-9a-f-]{36}\): Alert is locked by a maintenance policy$/);
    og.alerts.length = 0; // the alert is gone (deleted in Opsgenie)
    const gone = await opsgenie.perform(testOp('acknowledge', inc, { ref: opened.ref }), ep, undefined);
    assert.equal(gone.kind, 'permanent', JSON.stringify(gone));
    assert.match((gone as { reason: string }).reason, /: Alert does not exist$/);
  });
});

describe('opsgenie provider: configuration', () => {
  it('validate: the alerts URL of Opsgenie (US/EU) or JSM, and a key', () => {
    assert.deepEqual(opsgenie.validate!(new URL('https://api.opsgenie.com/v2/alerts'), {}, true), []);
    assert.deepEqual(opsgenie.validate!(new URL('https://api.eu.opsgenie.com/v2/alerts/'), {}, true), []);
    assert.deepEqual(opsgenie.validate!(new URL('https://api.atlassian.com/jsm/ops/integration/v2/alerts'), {}, true), []);
    const wrong = opsgenie.validate!(new URL('https://api.opsgenie.com/v1/json/alert'), {}, false);
    assert.equal(wrong.length, 2);
    assert.match(wrong[0]!, /alerts URL/);
    assert.match(wrong[1]!, /API integration key/);
    assert.equal(opsgenie.validate!(new URL('https://api.atlassian.com/jsm/ops/api/x/v1/alerts'), {}, true).length, 1);
  });

  it('options: team 1–100 characters; defaults: min_severity warning, strict query, no lookup', () => {
    const team = opsgenie.options.find((o) => o.name === 'team')!;
    assert.equal(team.parse!('  Network Ops '), 'Network Ops');
    assert.throws(() => team.parse!(''), /team/);
    assert.throws(() => team.parse!('x'.repeat(101)), /team/);
    assert.equal(opsgenie.defaultMinSeverity, 'warning');
    assert.equal(opsgenie.passthroughQuery, false);
    assert.equal(opsgenie.lookup, undefined);
  });

  it('display: scheme, host and the alerts path', () => {
    assert.equal(opsgenie.display(new URL('https://api.opsgenie.com/v2/alerts')), 'https://api.opsgenie.com/v2/alerts');
    assert.equal(opsgenie.display(new URL('https://api.atlassian.com/jsm/ops/integration/v2/alerts')), 'https://api.atlassian.com/jsm/ops/integration/v2/alerts');
    assert.equal(opsgenie.display(new URL('https://example.com/some/other/path?q=1')), 'https://example.com');
  });
});

describe('opsgenie provider: inbound webhooks', () => {
  const key = 'probectl-0190d7c2-7b1e-7c3a-9f00-000000000001';
  const body = (action: unknown, alias: unknown = key) => ({ source: { name: '', type: 'web' }, alert: { alertId: randomUUID(), alias, message: 'x', tinyId: '7' }, action, integrationId: randomUUID(), integrationName: 'probectl' });
  const table: Array<[string, unknown, unknown]> = [
    ['Acknowledge', body('Acknowledge'), { incidentKey: key, status: 'acknowledged' }],
    ['Close', body('Close'), { incidentKey: key, status: 'resolved' }],
    ['lower-case close (JSM)', body('close'), { incidentKey: key, status: 'resolved' }],
    ['Create', body('Create'), { ignore: 'action "Create" does not change an incident' }],
    ['UnAcknowledge', body('UnAcknowledge'), { ignore: 'action "UnAcknowledge" does not change an incident' }],
    ['AddNote', body('AddNote'), { ignore: 'action "AddNote" does not change an incident' }],
    ['no action', { alert: { alias: key } }, { ignore: 'no action' }],
    ['non-string action', body(7), { ignore: 'no action' }],
    ['no alert', { action: 'Close' }, { ignore: 'no alert object' }],
    ['alert is an array', { action: 'Close', alert: [key] }, { ignore: 'no alert object' }],
    ['empty alias', body('Close', ''), { ignore: 'the alert has no alias' }],
    ['numeric alias', body('Close', 42), { ignore: 'the alert has no alias' }],
    ['foreign alias', body('Close', 'web-01-disk'), { ignore: 'the alert alias is not a probectl incident key' }],
    ['alias with spaces', body('Close', 'probectl-a b'), { ignore: 'the alert alias is not a probectl incident key' }],
    ['null', null, { ignore: 'the body is not a JSON object' }],
    ['array', [], { ignore: 'the body is not a JSON object' }],
    ['string', 'Close', { ignore: 'the body is not a JSON object' }],
  ];
  for (const [name, input, expected] of table) {
    it(`parses ${name}`, () => assert.deepEqual(opsgenie.parseInbound!(input), expected));
  }

  it('the stand-in\'s own webhook payloads parse to the change (Opsgenie and JSM)', async (t) => {
    const { opsgenieWebhookPayload } = await import('../servers/opsgenie.ts');
    const { og, ep } = await setup(t, { jsm: true });
    const inc = testIncident();
    ok(await opsgenie.perform(testOp('open', inc), ep, undefined));
    const a = og.alert(inc.key)!;
    assert.deepEqual(opsgenie.parseInbound!(JSON.parse(JSON.stringify(opsgenieWebhookPayload(a, 'Acknowledge')))), { incidentKey: inc.key, status: 'acknowledged' });
    assert.deepEqual(opsgenie.parseInbound!(JSON.parse(JSON.stringify(opsgenieWebhookPayload(a, 'Close')))), { incidentKey: inc.key, status: 'resolved' });
  });

  it('property: never throws, only documented shapes', () => {
    const shaped = fc.record({
      action: fc.oneof(fc.constantFrom('Acknowledge', 'Close', 'Create', 'close', 'ACKNOWLEDGE'), fc.anything()),
      alert: fc.oneof(fc.record({ alias: fc.oneof(fc.constant(key), fc.string(), fc.stringMatching(/^probectl-[a-z0-9-]{1,600}$/), fc.anything()) }, { requiredKeys: [] }), fc.anything()),
    }, { requiredKeys: [] });
    checkInboundProperty(opsgenie.parseInbound!, shaped);
  });
});

describe('opsgenie provider: secrets canary', () => {
  it('the GenieKey never appears in a result, a ref or the display', async (t) => {
    const { og, ep } = await setup(t);
    const inc = testIncident();
    og.server.inject({ kind: 'status', status: 401 }, { kind: 'status', status: 500 }, { kind: 'reset' }, { kind: 'status', status: 422, body: { message: `echo ${og.apiKey}` } });
    const results: unknown[] = [];
    for (let i = 0; i < 5; i++) results.push(await opsgenie.perform(testOp('open', inc), ep, undefined));
    results.push(await opsgenie.perform(testOp('resolve', inc), ep, undefined));
    results.push(opsgenie.display(ep.url));
    assert.equal((results[3] as { reason: string }).reason, 'Opsgenie answered 422: echo [redacted]');
    assertNoSecret(results, [og.apiKey]);
  });
});
