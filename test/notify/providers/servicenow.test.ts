import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { authorization } from '../../../src/notify/providers/servicenow/auth.ts';
import { servicenow } from '../../../src/notify/providers/servicenow/index.ts';
import { DEFAULT_CLOSE_CODE, DEFAULT_CLOSE_NOTES, IMPACT_URGENCY } from '../../../src/notify/providers/servicenow/request.ts';
import type { ConnectorEndpoint, OperationResult } from '../../../src/notify/providers/types.ts';
import { checkInboundProperty } from '../helpers/inbound-property.ts';
import { assertNoSecret, testEndpoint, testIncident, testOp, update } from '../helpers/provider-endpoint.ts';
import { CLOSE_CODES, ServiceNow, type ServiceNowOptions } from '../servers/servicenow.ts';

async function start(t: TestContext, opts: ServiceNowOptions = {}) {
  const sn = await ServiceNow.start(opts);
  t.after(() => sn.close());
  t.after(() => assert.deepEqual(sn.server.handlerErrors, [], 'the stand-in itself failed'));
  t.after(() => assert.deepEqual([sn.invalidQueries, sn.ignoredFields, sn.truncated], [[], [], []], 'every query and field was understood, nothing cut by the instance'));
  return sn;
}

function ep(t: TestContext, sn: ServiceNow, over: { secret?: string | undefined; options?: Record<string, string>; timeoutMs?: number } = {}): ConnectorEndpoint {
  return testEndpoint(t, {
    url: sn.tableUrl,
    caPem: sn.server.caPem,
    secret: 'secret' in over ? over.secret : `${sn.user.user}:${sn.user.password}`,
    options: over.options ?? {},
    ...(over.timeoutMs ? { timeoutMs: over.timeoutMs } : {}),
  });
}

function ok(r: OperationResult): asserts r is Extract<OperationResult, { kind: 'ok' }> {
  assert.equal(r.kind, 'ok', JSON.stringify(r));
}

const basic = (sn: ServiceNow) => `Basic ${Buffer.from(`${sn.user.user}:${sn.user.password}`).toString('base64')}`;

describe('servicenow provider: the ticket lifecycle', () => {
  it('open creates one ticket: request and record checked field by field; ref = sys_id + number', async (t) => {
    const sn = await start(t);
    const inc = testIncident();
    const r = await servicenow.perform(testOp('open', inc), ep(t, sn, { options: { assignment_group: 'Network', caller_id: 'probectl.integration', category: 'network' } }), undefined);
    ok(r);
    const [rec] = sn.find(inc.key);
    assert.deepEqual(r.ref, { id: rec!.fields.sys_id, data: { sys_id: rec!.fields.sys_id, number: rec!.fields.number }, aliases: [rec!.fields.number] });
    const [req] = sn.server.requests({ method: 'POST' });
    assert.equal(req!.path, '/api/now/table/incident?sysparm_fields=sys_id%2Cnumber%2Cstate%2Ccorrelation_id');
    assert.equal(req!.headers.authorization, basic(sn));
    assert.equal(req!.headers.accept, 'application/json');
    assert.equal(req!.headers['content-type'], 'application/json');
    assert.equal(req!.status, 201);
    assert.deepEqual(req!.body, {
      short_description: inc.title,
      description: `${inc.title}\n\nSeverity: critical\nTarget: ${inc.target}\nKind: link\nSignals: 3\nOpened: ${inc.openedAt}\nprobectl incident: ${inc.id} (correlation id ${inc.key})`,
      impact: '1', urgency: '1', correlation_id: inc.key, correlation_display: 'probectl',
      assignment_group: 'Network', caller_id: 'probectl.integration', category: 'network',
    });
    assert.deepEqual(Object.keys((req!.reply as { result: object }).result).sort(), ['correlation_id', 'number', 'state', 'sys_id']);
    assert.equal(sn.records.size, 1);
    const f = rec!.fields;
    assert.deepEqual([f.state, f.impact, f.urgency, f.priority, f.correlation_id, f.correlation_display, f.assignment_group], ['1', '1', '1', '1', inc.key, 'probectl', 'Network']);
  });

  it('severity → impact/urgency → priority: critical 1/1 → 1, warning 2/2 → 3, info 3/3 → 5', async (t) => {
    const sn = await start(t);
    const e = ep(t, sn);
    const priority = { critical: '1', warning: '3', info: '5' } as const;
    for (const severity of ['critical', 'warning', 'info'] as const) {
      const inc = testIncident({ severity });
      ok(await servicenow.perform(testOp('open', inc), e, undefined));
      const f = sn.find(inc.key)[0]!.fields;
      assert.deepEqual([f.impact, f.urgency], [IMPACT_URGENCY[severity].impact, IMPACT_URGENCY[severity].urgency]);
      assert.equal(f.priority, priority[severity]);
    }
  });

  it('update adds a work note (raising impact/urgency when severity rose); acknowledge → In Progress; resolve → Resolved with close fields', async (t) => {
    const sn = await start(t);
    const e = ep(t, sn);
    const inc = testIncident({ severity: 'warning' });
    const opened = await servicenow.perform(testOp('open', inc), e, undefined);
    ok(opened);
    const sysId = opened.ref!.id;
    ok(await servicenow.perform(testOp('update', inc, { ref: opened.ref, update: update(2, 'warning', 'warning') }), e, undefined));
    assert.equal(sn.record(sysId)!.fields.priority, '3');
    ok(await servicenow.perform(testOp('update', inc, { ref: opened.ref, update: update(5, 'warning', 'critical') }), e, undefined));
    assert.deepEqual([sn.record(sysId)!.fields.impact, sn.record(sysId)!.fields.urgency, sn.record(sysId)!.fields.priority], ['1', '1', '1']);
    ok(await servicenow.perform(testOp('acknowledge', inc, { ref: opened.ref }), e, undefined));
    assert.equal(sn.record(sysId)!.fields.state, '2');
    ok(await servicenow.perform(testOp('resolve', inc, { ref: opened.ref }), e, undefined));
    const patches = sn.server.requests({ method: 'PATCH' });
    assert.deepEqual(patches.map((p) => p.path), Array(4).fill(`/api/now/table/incident/${sysId}?sysparm_fields=sys_id%2Cnumber%2Cstate%2Ccorrelation_id`));
    assert.deepEqual(patches.map((p) => p.body), [
      { work_notes: 'probectl: 2 more signals correlated.' },
      { work_notes: 'probectl: 5 more signals correlated; severity rose from warning to critical.', impact: '1', urgency: '1' },
      { state: '2', work_notes: 'Acknowledged in probectl.' },
      { state: '6', close_code: DEFAULT_CLOSE_CODE, close_notes: DEFAULT_CLOSE_NOTES, work_notes: 'Resolved in probectl.' },
    ]);
    for (const p of patches) assert.equal(p.status, 200);
    const rec = sn.record(sysId)!;
    assert.deepEqual([rec.fields.state, rec.fields.close_code, rec.fields.close_notes, rec.fields.active], ['6', 'Resolved by caller', DEFAULT_CLOSE_NOTES, 'true']);
    assert.notEqual(rec.fields.resolved_at, '');
    assert.deepEqual(rec.journal.map((j) => [j.field, j.value]), [
      ['work_notes', 'probectl: 2 more signals correlated.'],
      ['work_notes', 'probectl: 5 more signals correlated; severity rose from warning to critical.'],
      ['work_notes', 'Acknowledged in probectl.'],
      ['work_notes', 'Resolved in probectl.'],
    ]);
    assert.equal(sn.records.size, 1);
    assert.ok(CLOSE_CODES.includes(DEFAULT_CLOSE_CODE));
  });

  it('resolve uses the close_code and close_notes options; a code outside the choice list is a permanent 400', async (t) => {
    const sn = await start(t);
    const inc = testIncident();
    const e = ep(t, sn, { options: { close_code: 'Solution provided', close_notes: 'Fixed upstream by the carrier.' } });
    const opened = await servicenow.perform(testOp('open', inc), e, undefined);
    ok(opened);
    ok(await servicenow.perform(testOp('resolve', inc, { ref: opened.ref }), e, undefined));
    const f = sn.record(opened.ref!.id)!.fields;
    assert.deepEqual([f.state, f.close_code, f.close_notes], ['6', 'Solution provided', 'Fixed upstream by the carrier.']);
    const inc2 = testIncident();
    const bad = ep(t, sn, { options: { close_code: 'Fixed' } });
    const opened2 = await servicenow.perform(testOp('open', inc2), bad, undefined);
    ok(opened2);
    const r = await servicenow.perform(testOp('resolve', inc2, { ref: opened2.ref }), bad, undefined);
    assert.equal(r.kind, 'permanent');
    assert.match((r as { reason: string }).reason, /^ServiceNow answered 400: Invalid choice value: 'Fixed' is not a valid choice for field 'close_code'/);
    assert.equal(sn.record(opened2.ref!.id)!.fields.state, '1');
  });

  it('a long title is cut to 160 characters for short_description; description ≤ 4,000', async (t) => {
    const sn = await start(t);
    const inc = testIncident({ title: `${'é'.repeat(200)}`, target: 'x'.repeat(10_000) });
    ok(await servicenow.perform(testOp('open', inc), ep(t, sn), undefined));
    const f = sn.find(inc.key)[0]!.fields;
    assert.equal([...f.short_description!].length, 160);
    assert.ok(f.short_description!.endsWith('…'));
    assert.equal([...f.description!].length, 4_000);
  });

  it('a bearer token (bare or "Bearer …") authenticates as OAuth', async (t) => {
    const token = 'tok_0123456789abcdefABCDEF';
    const sn = await start(t, { bearerTokens: [token] });
    for (const secret of [token, `Bearer ${token}`]) {
      const inc = testIncident();
      ok(await servicenow.perform(testOp('open', inc), ep(t, sn, { secret }), undefined));
      assert.equal(sn.server.requests({ method: 'POST' }).at(-1)!.headers.authorization, `Bearer ${token}`);
    }
    assert.equal(sn.records.size, 2);
  });
});

describe('servicenow provider: lookup and lost responses', () => {
  it('lookup by correlation_id: none, then the ticket; the GET asks only what it needs', async (t) => {
    const sn = await start(t);
    const e = ep(t, sn);
    const inc = testIncident();
    ok(await servicenow.perform(testOp('open', testIncident()), e, undefined));
    assert.deepEqual(await servicenow.lookup!(inc, e, undefined), { kind: 'none' });
    const opened = await servicenow.perform(testOp('open', inc), e, undefined);
    ok(opened);
    assert.deepEqual(await servicenow.lookup!(inc, e, undefined), { kind: 'found', ref: opened.ref });
    const get = sn.server.requests({ method: 'GET' }).at(-1)!;
    const q = new URL(get.path, 'https://x').searchParams;
    assert.equal(get.pathname, '/api/now/table/incident');
    assert.deepEqual([...q.keys()], ['sysparm_query', 'sysparm_fields', 'sysparm_limit']);
    assert.deepEqual([q.get('sysparm_query'), q.get('sysparm_fields'), q.get('sysparm_limit')], [`correlation_id=${inc.key}^ORDERBYsys_created_on`, 'sys_id,number,state,correlation_id', '1']);
    assert.equal(get.headers.authorization, basic(sn));
  });

  it('a lost create: retryable, then the lookup finds the ticket — one ticket in the end', async (t) => {
    const sn = await start(t);
    const e = ep(t, sn);
    const inc = testIncident();
    sn.server.inject({ kind: 'lost-response', when: { method: 'POST' } });
    const lost = await servicenow.perform(testOp('open', inc), e, undefined);
    assert.equal(lost.kind, 'retryable');
    assert.equal(sn.find(inc.key).length, 1, 'the instance created it');
    const found = await servicenow.lookup!(inc, e, undefined);
    const rec = sn.find(inc.key)[0]!;
    assert.deepEqual(found, { kind: 'found', ref: { id: rec.fields.sys_id, data: { sys_id: rec.fields.sys_id, number: rec.fields.number }, aliases: [rec.fields.number] } });
    assert.ok(found.kind === 'found');
    ok(await servicenow.perform(testOp('resolve', inc, { ref: found.ref }), e, undefined));
    assert.equal(sn.find(inc.key).length, 1);
    assert.equal(sn.find(inc.key)[0]!.fields.state, '6');
  });

  it('without a recorded ref, acknowledge finds the ticket by correlation_id; with none it is permanent', async (t) => {
    const sn = await start(t);
    const e = ep(t, sn);
    const inc = testIncident();
    ok(await servicenow.perform(testOp('open', inc), e, undefined));
    ok(await servicenow.perform(testOp('acknowledge', inc), e, undefined));
    assert.equal(sn.find(inc.key)[0]!.fields.state, '2');
    const stray = testIncident();
    assert.deepEqual(await servicenow.perform(testOp('resolve', stray), e, undefined), { kind: 'permanent', reason: `no ServiceNow incident has correlation_id ${stray.key}` });
  });

  it('a lookup whose query the instance ignored (another ticket answered) pauses instead of trusting it', async (t) => {
    const sn = await start(t);
    sn.server.inject({ kind: 'status', status: 200, body: { result: [{ sys_id: 'a'.repeat(32), number: 'INC0010001', state: '1', correlation_id: 'probectl-someone-else' }] } });
    const r = await servicenow.lookup!(testIncident(), ep(t, sn), undefined);
    assert.equal(r.kind, 'paused');
    assert.match((r as { reason: string }).reason, /ignored the correlation_id query/);
  });
});

describe('servicenow provider: answers', () => {
  it('401 wrong password → paused; 403 data policy → paused; 429 + Retry-After and 5xx → retryable; 404 of a deleted ticket → permanent', async (t) => {
    const sn = await start(t);
    const inc = testIncident();
    const wrong = await servicenow.perform(testOp('open', inc), ep(t, sn, { secret: `${sn.user.user}:not-the-password` }), undefined);
    assert.deepEqual(wrong, { kind: 'paused', reason: 'ServiceNow answered 401: User Not Authenticated: Required to provide Auth information (check the user:password or bearer token)' });
    const e = ep(t, sn);
    sn.server.inject(
      { kind: 'status', status: 403, body: { error: { message: 'Operation Failed', detail: 'Data Policy Exception: \n\tThe following fields are mandatory: Caller\n' }, status: 'failure' } },
      { kind: 'status', status: 429, retryAfter: '11' },
      { kind: 'status', status: 503 },
    );
    assert.deepEqual(await servicenow.perform(testOp('open', inc), e, undefined), {
      kind: 'paused', reason: "ServiceNow answered 403: Operation Failed: Data Policy Exception: The following fields are mandatory: Caller (check the integration user's roles and the connector options)",
    });
    assert.deepEqual(await servicenow.perform(testOp('open', inc), e, undefined), { kind: 'retryable', reason: 'ServiceNow answered 429: Rate limit exceeded: The rate limit for this user has been exceeded', retryAfterMs: 11_000 });
    assert.equal((await servicenow.perform(testOp('open', inc), e, undefined)).kind, 'retryable');
    assert.equal(sn.records.size, 0);
    const opened = await servicenow.perform(testOp('open', inc), e, undefined);
    ok(opened);
    sn.records.clear();
    assert.deepEqual(await servicenow.perform(testOp('resolve', inc, { ref: opened.ref }), e, undefined), {
      kind: 'permanent', status: 404, reason: "ServiceNow answered 404: No Record found: Record doesn't exist or ACL restricts the record retrieval",
    });
  });

  it('a record-level ACL refusal (a closed ticket is read-only) fails that change only; the same 403 to a create, or a data policy on a change, still pauses', async (t) => {
    const sn = await start(t, { closedReadOnly: true });
    const e = ep(t, sn);
    const closedInc = testIncident();
    const openInc = testIncident();
    const closed = await servicenow.perform(testOp('open', closedInc), e, undefined);
    const other = await servicenow.perform(testOp('open', openInc), e, undefined);
    ok(closed);
    ok(other);
    // The service desk closed the first ticket by hand.
    const rec = sn.records.get(closed.ref!.id);
    assert.ok(rec);
    Object.assign(rec.fields, { state: '7', close_code: 'Solution provided', close_notes: 'closed by the desk' });
    const refused = await servicenow.perform(testOp('update', closedInc, { ref: closed.ref }), e, undefined);
    assert.equal(refused.kind, 'permanent');
    assert.match((refused as { reason: string }).reason, /^ServiceNow refused to change this ticket: ACL Exception Update Failed due to security constraints \(an ACL on the record/);
    assert.equal((await servicenow.perform(testOp('resolve', openInc, { ref: other.ref }), e, undefined)).kind, 'ok');
    assert.equal(sn.records.get(other.ref!.id)?.fields.state, '6');
    const acl = { kind: 'status' as const, status: 403, body: { error: { message: 'Operation Failed', detail: 'ACL Exception Update Failed due to security constraints' }, status: 'failure' } };
    sn.server.inject(acl);
    assert.equal((await servicenow.perform(testOp('open', testIncident()), e, undefined)).kind, 'paused', 'a create refused by an ACL: the table is closed to the integration user');
    sn.server.inject({ kind: 'status', status: 403, body: { error: { message: 'User Not Authorized', detail: 'Failed API level ACL Validation' }, status: 'failure' } });
    assert.equal((await servicenow.perform(testOp('update', openInc, { ref: other.ref }), e, undefined)).kind, 'paused', 'an API-level ACL refuses every request');
  });

  it('the same record-level ACL 403 to a change of a ticket that is not closed (the user cannot write incident at all) pauses, not fails every change one by one', async (t) => {
    const sn = await start(t, { noWrite: true });
    const e = ep(t, sn);
    const inc = testIncident();
    const opened = await servicenow.perform(testOp('open', inc), e, undefined);
    ok(opened);
    for (const action of ['update', 'acknowledge', 'resolve'] as const) {
      const r = await servicenow.perform(testOp(action, inc, { ref: opened.ref, ...(action === 'update' ? { update: update(2, 'warning', 'critical') } : {}) }), e, undefined);
      assert.equal(r.kind, 'paused', `${action}: ${JSON.stringify(r)}`);
      assert.match((r as { reason: string }).reason, /write access to incident/);
    }
  });

  it('reset and timeout → retryable; no usable secret → paused without a request', async (t) => {
    const sn = await start(t);
    const e = ep(t, sn, { timeoutMs: 300 });
    sn.server.inject({ kind: 'reset' }, { kind: 'hang' });
    assert.equal((await servicenow.perform(testOp('open', testIncident()), e, undefined)).kind, 'retryable');
    assert.equal((await servicenow.lookup!(testIncident(), e, undefined)).kind, 'retryable');
    const before = sn.server.log.length;
    for (const secret of [undefined, '', ':password-only']) assert.equal((await servicenow.perform(testOp('open', testIncident()), ep(t, sn, { secret }), undefined)).kind, 'paused');
    assert.equal(sn.server.log.length, before);
  });

  it('the secret decides the scheme', () => {
    assert.equal(authorization('svc.probectl:p:a:ss'), `Basic ${Buffer.from('svc.probectl:p:a:ss').toString('base64')}`);
    assert.equal(authorization('abcdef0123'), 'Bearer abcdef0123');
    assert.equal(authorization('  bearer abc.def-ghi  '), 'Bearer abc.def-ghi');
    assert.equal(authorization(undefined), undefined);
    assert.equal(authorization('   '), undefined);
    assert.equal(authorization(':nouser'), undefined);
  });
});

describe('servicenow provider: configuration', () => {
  it('validate: the incident table URL and a secret', () => {
    assert.deepEqual(servicenow.validate!(new URL('https://acme.service-now.com/api/now/table/incident'), {}, true), []);
    assert.deepEqual(servicenow.validate!(new URL('https://acme.service-now.com/api/now/v2/table/incident'), {}, true), []);
    assert.equal(servicenow.validate!(new URL('https://acme.service-now.com/api/now/table/problem'), {}, true).length, 1);
    assert.equal(servicenow.validate!(new URL('https://acme.service-now.com/'), {}, false).length, 2);
  });

  it('options validated; defaults: info, strict query', () => {
    const opt = (n: string) => servicenow.options.find((o) => o.name === n)!;
    assert.deepEqual(servicenow.options.map((o) => o.name), ['close_code', 'close_notes', 'assignment_group', 'caller_id', 'category']);
    assert.equal(opt('close_code').parse!(' Solution provided '), 'Solution provided');
    assert.throws(() => opt('close_code').parse!('x'.repeat(41)), /close_code/);
    assert.throws(() => opt('close_notes').parse!('  '), /close_notes/);
    assert.throws(() => opt('assignment_group').parse!(''), /assignment_group/);
    assert.equal(servicenow.defaultMinSeverity, 'info');
    assert.equal(servicenow.passthroughQuery, false);
    assert.equal(servicenow.display(new URL('https://acme.service-now.com/api/now/table/incident')), 'https://acme.service-now.com/api/now/table/incident');
  });
});

describe('servicenow provider: inbound business rule', () => {
  const sysId = '0123456789abcdef0123456789abcdef';
  const table: Array<[string, unknown, unknown]> = [
    ['state "6" Resolved', { sys_id: sysId, number: 'INC0010001', state: '6' }, { ref: sysId, status: 'resolved' }],
    ['state "7" Closed', { sys_id: sysId, number: 'INC0010001', state: '7' }, { ref: sysId, status: 'resolved' }],
    ['state 6 as a number', { sys_id: sysId, state: 6 }, { ref: sysId, status: 'resolved' }],
    ['state label Resolved', { sys_id: sysId, state: 'Resolved' }, { ref: sysId, status: 'resolved' }],
    ['state "2" In Progress', { sys_id: sysId, state: '2' }, { ref: sysId, status: 'acknowledged' }],
    ['state label In Progress', { sys_id: sysId, state: 'In Progress' }, { ref: sysId, status: 'acknowledged' }],
    ['no sys_id: the number', { number: 'INC0010001', state: '6' }, { ref: 'INC0010001', status: 'resolved' }],
    ['state "1" New', { sys_id: sysId, state: '1' }, { ignore: 'state "1" does not change an incident' }],
    ['state "3" On Hold', { sys_id: sysId, state: '3' }, { ignore: 'state "3" does not change an incident' }],
    ['state "8" Canceled', { sys_id: sysId, state: '8' }, { ignore: 'state "8" does not change an incident' }],
    ['state 6.5', { sys_id: sysId, state: 6.5 }, { ignore: 'no state' }],
    ['no state', { sys_id: sysId }, { ignore: 'no state' }],
    ['bad sys_id and number', { sys_id: 'x', number: 'drop table', state: '6' }, { ignore: 'no sys_id or number' }],
    ['upper-case sys_id', { sys_id: sysId.toUpperCase(), state: '6' }, { ignore: 'no sys_id or number' }],
    ['array', [sysId], { ignore: 'the body is not a JSON object' }],
    ['null', null, { ignore: 'the body is not a JSON object' }],
  ];
  for (const [name, input, expected] of table) it(`parses ${name}`, () => assert.deepEqual(servicenow.parseInbound!(input), expected));

  it('the body the stand-in\'s business rule sends parses to the ticket\'s sys_id', async (t) => {
    const sn = await start(t);
    const inc = testIncident();
    const opened = await servicenow.perform(testOp('open', inc), ep(t, sn), undefined);
    ok(opened);
    const rec = sn.changeFromUi(opened.ref!.id, { state: '6', close_code: 'Solution provided', close_notes: 'fixed' });
    const body = JSON.parse(JSON.stringify({ sys_id: rec.fields.sys_id, number: rec.fields.number, state: rec.fields.state }));
    assert.deepEqual(servicenow.parseInbound!(body), { ref: opened.ref!.id, status: 'resolved' });
  });

  it('property: never throws, only documented shapes', () => {
    const shaped = fc.record({
      sys_id: fc.oneof(fc.constant(sysId), fc.stringMatching(/^[0-9a-f]{32}$/), fc.anything()),
      number: fc.oneof(fc.stringMatching(/^INC[0-9]{7}$/), fc.anything()),
      state: fc.oneof(fc.constantFrom('1', '2', '6', '7', '8', 6, 7, 'Closed', 'in progress'), fc.anything()),
    }, { requiredKeys: [] });
    checkInboundProperty(servicenow.parseInbound!, shaped);
  });
});

describe('servicenow provider: secrets canary', () => {
  it('the password and the bearer token never appear in a result, ref or display', async (t) => {
    const token = 'tok_secret_0123456789ABCDEF';
    const sn = await start(t, { bearerTokens: [token] });
    const results: unknown[] = [];
    const basicEp = ep(t, sn);
    sn.server.inject(
      { kind: 'status', status: 400, body: { error: { message: `bad ${sn.user.password}`, detail: `${basic(sn)} ${sn.user.password}` }, status: 'failure' } },
      { kind: 'reset' },
      { kind: 'status', status: 500 },
    );
    for (let i = 0; i < 4; i++) results.push(await servicenow.perform(testOp('open', testIncident()), basicEp, undefined));
    results.push(await servicenow.perform(testOp('open', testIncident()), ep(t, sn, { secret: `${sn.user.user}:wrong-password-123` }), undefined));
    const bearerEp = ep(t, sn, { secret: token });
    sn.server.inject({ kind: 'status', status: 422, body: { error: { message: token, detail: null } } });
    results.push(await servicenow.perform(testOp('open', testIncident()), bearerEp, undefined));
    results.push(await servicenow.lookup!(testIncident(), bearerEp, undefined));
    results.push(servicenow.display(basicEp.url));
    assert.match((results[0] as { reason: string }).reason, /^ServiceNow answered 400: bad \[redacted\]: \[redacted\] \[redacted\]$/, 'the whole Authorization value, scheme included, is redacted where the answer is read');
    assertNoSecret(results, [sn.user.password, token, 'wrong-password-123', Buffer.from(`${sn.user.user}:${sn.user.password}`).toString('base64')]);
  });
});
