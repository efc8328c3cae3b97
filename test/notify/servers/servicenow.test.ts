import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { HttpClientError } from '../../../src/core/http/client.ts';
import { basic, captureReceiver, vendorClient } from './client.ts';
import { hmacSha256Hex } from './harness.ts';
import { ServiceNow, type ServiceNowOptions } from './servicenow.ts';

type Result<T> = { result: T };
type Rec = Record<string, string>;

async function setup(t: TestContext, opts: ServiceNowOptions = {}) {
  const sn = await ServiceNow.start(opts);
  t.after(() => sn.close());
  t.after(() => assert.deepEqual(sn.server.handlerErrors, [], 'the stand-in itself failed'));
  const { call } = vendorClient(t, sn.server.caPem);
  const auth = { authorization: basic(sn.user.user, sn.user.password), accept: 'application/json' };
  const create = (json: unknown) => call(sn.tableUrl, { json, headers: auth });
  const patch = (sysId: string, json: unknown, method: 'PATCH' | 'PUT' = 'PATCH') => call(`${sn.tableUrl}/${sysId}`, { method, json, headers: auth });
  const list = (query: string) => call(`${sn.tableUrl}?sysparm_query=${encodeURIComponent(query)}`, { headers: auth });
  return { sn, call, auth, create, patch, list };
}

const incident = { short_description: 'Link down on core-1', description: 'Three signals correlated', impact: '1', urgency: '2', correlation_id: 'probectl-inc-1', correlation_display: 'probectl' };

describe('ServiceNow Table API stand-in', () => {
  it('POST creates (201, {result}); GET by correlation_id finds exactly it; priority from impact×urgency', async (t) => {
    const { sn, create, list } = await setup(t);
    const res = await create(incident);
    assert.equal(res.status, 201);
    const rec = (res.json() as Result<Rec>).result;
    assert.match(rec.sys_id!, /^[0-9a-f]{32}$/);
    assert.match(rec.number!, /^INC\d{7}$/);
    assert.deepEqual([rec.state, rec.impact, rec.urgency, rec.priority, rec.correlation_display], ['1', '1', '2', '2', 'probectl']);
    assert.equal(res.headers.location, `${sn.tableUrl}/${rec.sys_id}`);
    await create({ ...incident, correlation_id: 'probectl-inc-2' });
    const found = await list('correlation_id=probectl-inc-1^active=true');
    assert.equal(found.status, 200);
    assert.deepEqual((found.json() as Result<Rec[]>).result.map((r) => r.sys_id), [rec.sys_id]);
    assert.equal(found.headers['x-total-count'], '1');
    assert.deepEqual((await list('correlation_id=nothing').then((r) => r.json() as Result<Rec[]>)).result, []);
  });

  it('encoded query: ^OR, IN, STARTSWITH, ORDERBYDESC, sysparm_fields and sysparm_limit', async (t) => {
    const { sn, call, auth, create, list } = await setup(t);
    for (const id of ['a', 'b', 'c']) await create({ ...incident, correlation_id: `probectl-${id}` });
    const or = (await list('correlation_id=probectl-a^ORcorrelation_id=probectl-c^ORDERBYDESCcorrelation_id').then((r) => r.json() as Result<Rec[]>)).result;
    assert.deepEqual(or.map((r) => r.correlation_id), ['probectl-c', 'probectl-a']);
    assert.equal((await list('correlation_idINprobectl-a,probectl-b').then((r) => r.json() as Result<Rec[]>)).result.length, 2);
    assert.equal((await list('correlation_idSTARTSWITHprobectl-').then((r) => r.json() as Result<Rec[]>)).result.length, 3);
    const res = await call(`${sn.tableUrl}?sysparm_query=correlation_idSTARTSWITHprobectl-&sysparm_fields=sys_id,number&sysparm_limit=2`, { headers: auth });
    assert.equal(res.status, 200);
    const rows = (res.json() as Result<Rec[]>).result;
    assert.equal(rows.length, 2);
    assert.deepEqual(Object.keys(rows[0]!).sort(), ['number', 'sys_id']);
    assert.equal(res.headers['x-total-count'], '3');
    const shown = await call(`${sn.tableUrl}/${rows[0]!.sys_id}?sysparm_display_value=true`, { headers: auth });
    assert.deepEqual([(shown.json() as Result<Rec>).result.state, (shown.json() as Result<Rec>).result.impact], ['New', '1 - High']);
  });

  it('a condition on an unknown field is ignored, as an instance does by default (and recorded)', async (t) => {
    const { sn, create, list } = await setup(t);
    await create(incident);
    await create({ ...incident, correlation_id: 'other' });
    const res = (await list('correlation_idx=probectl-inc-1').then((r) => r.json() as Result<Rec[]>)).result;
    assert.equal(res.length, 2);
    assert.deepEqual(sn.invalidQueries, ['correlation_idx=probectl-inc-1']);
  });

  it('with invalidQueryReturnsNoRows, the same query finds nothing', async (t) => {
    const { create, list } = await setup(t, { invalidQueryReturnsNoRows: true });
    await create(incident);
    assert.deepEqual((await list('correlation_idx=probectl-inc-1').then((r) => r.json() as Result<Rec[]>)).result, []);
  });

  it('PATCH appends work_notes to the journal (read back as ""); PUT works the same', async (t) => {
    const { sn, create, patch } = await setup(t);
    const sysId = ((await create(incident)).json() as Result<Rec>).result.sys_id!;
    const res = await patch(sysId, { work_notes: '3 more signals; severity rose to critical' });
    assert.equal(res.status, 200);
    assert.equal((res.json() as Result<Rec>).result.work_notes, '');
    await patch(sysId, { work_notes: 'second note' }, 'PUT');
    assert.deepEqual(sn.record(sysId)!.journal.map((j) => j.value), ['3 more signals; severity rose to critical', 'second note']);
    assert.equal(sn.record(sysId)!.fields.sys_mod_count, '2');
  });

  it('resolving requires close_code and close_notes: 403 Data Policy Exception, then 200 with both', async (t) => {
    const { sn, create, patch } = await setup(t);
    const sysId = ((await create(incident)).json() as Result<Rec>).result.sys_id!;
    const refused = await patch(sysId, { state: '6' });
    assert.equal(refused.status, 403);
    const err = refused.json() as { error: { message: string; detail: string }; status: string };
    assert.equal(err.status, 'failure');
    assert.match(err.error.detail, /Data Policy Exception: [\s\S]*Resolution code, Resolution notes/);
    assert.equal(sn.record(sysId)!.fields.state, '1');
    const halfway = await patch(sysId, { state: 6, close_code: 'Solution provided' });
    assert.equal(halfway.status, 403);
    assert.match((halfway.json() as { error: { detail: string } }).error.detail, /mandatory: Resolution notes/);
    const ok = await patch(sysId, { state: 6, close_code: 'Solution provided', close_notes: 'Resolved in probectl' });
    assert.equal(ok.status, 200);
    const rec = (ok.json() as Result<Rec>).result;
    assert.deepEqual([rec.state, rec.active, rec.close_code], ['6', 'true', 'Solution provided']);
    assert.notEqual(rec.resolved_at, '');
    const closed = (await patch(sysId, { state: '7' })).json() as Result<Rec>;
    assert.deepEqual([closed.result.state, closed.result.active], ['7', 'false']);
  });

  const invalid: Array<[string, unknown, number, RegExp]> = [
    ['impact outside 1–3', { ...incident, impact: '5' }, 400, /impact/],
    ['urgency outside 1–3', { ...incident, urgency: 0 }, 400, /urgency/],
    ['an unknown close_code', { ...incident, state: '6', close_code: 'Solved (Permanently)', close_notes: 'x' }, 400, /close_code/],
    ['an unknown state', { ...incident, state: '4' }, 400, /state/],
    ['no short_description (data policy)', { ...incident, short_description: '' }, 403, /Short description/],
    ['created resolved without close info', { ...incident, state: '6' }, 403, /Resolution code/],
  ];
  for (const [name, body, status, detail] of invalid) {
    it(`${status} {error:{message,detail},status:"failure"}: ${name}`, async (t) => {
      const { sn, create } = await setup(t);
      const res = await create(body);
      assert.equal(res.status, status);
      const e = res.json() as { error: { message: string; detail: string }; status: string };
      assert.equal(e.status, 'failure');
      assert.match(e.error.detail, detail);
      assert.equal(sn.records.size, 0);
    });
  }

  it('credentials: none / wrong password / unknown bearer → 401 User Not Authenticated; a configured bearer works', async (t) => {
    const { sn, call } = await setup(t, { bearerTokens: ['oauth-access-token'] });
    for (const headers of [{}, { authorization: basic(sn.user.user, 'wrong') }, { authorization: 'Bearer nope' }] as Array<Record<string, string>>) {
      const res = await call(sn.tableUrl, { json: incident, headers });
      assert.equal(res.status, 401);
      assert.deepEqual(res.json(), { error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' }, status: 'failure' });
    }
    assert.equal(sn.records.size, 0);
    assert.equal((await call(sn.tableUrl, { json: incident, headers: { authorization: 'Bearer oauth-access-token' } })).status, 201);
  });

  it('unknown table 400, unknown sys_id 404, non-JSON body 415/400; unknown body fields are ignored; long text truncated', async (t) => {
    const { sn, call, auth, create, patch } = await setup(t);
    const table = await call(`${sn.url}/api/now/table/nope`, { headers: auth });
    assert.deepEqual([table.status, (table.json() as { error: { message: string } }).error.message], [400, 'Invalid table nope']);
    const missing = await patch('0'.repeat(32), { work_notes: 'x' });
    assert.deepEqual([missing.status, (missing.json() as { error: { message: string } }).error.message], [404, 'No Record found']);
    assert.equal((await call(sn.tableUrl, { body: 'short_description=x', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' } })).status, 415);
    assert.equal((await call(sn.tableUrl, { body: '{', headers: { ...auth, 'content-type': 'application/json' } })).status, 400);
    const rec = ((await create({ ...incident, severity: 'critical', short_description: 's'.repeat(200) })).json() as Result<Rec>).result;
    assert.equal(rec.short_description!.length, 160);
    assert.deepEqual(sn.ignoredFields, ['severity']);
    assert.deepEqual(sn.truncated, ['short_description']);
  });

  it('a lost response on create still creates the record; the correlation_id lookup then finds it', async (t) => {
    const { sn, create, list } = await setup(t);
    sn.server.inject({ kind: 'lost-response', when: { method: 'POST' } });
    await assert.rejects(create(incident), HttpClientError);
    assert.equal(sn.records.size, 1);
    assert.equal((await list('correlation_id=probectl-inc-1').then((r) => r.json() as Result<Rec[]>)).result.length, 1);
  });

  it('business rule emitter: {"sys_id","number","state"} with probectl inbound headers after an agent resolves', async (t) => {
    const { sn, create } = await setup(t);
    const sysId = ((await create(incident)).json() as Result<Rec>).result.sys_id!;
    assert.throws(() => sn.changeFromUi(sysId, { state: '6' }), /Data Policy Exception/);
    sn.changeFromUi(sysId, { state: '6', close_code: 'Solution provided', close_notes: 'fixed the optic' });
    const { url: at, seen } = await captureReceiver(t, 200);
    const res = await sn.emitBusinessRule(at('/ingest/itsm/servicenow/sn1'), { sysId, auth: { kind: 'hmac', secret: 'sn-secret', timestamp: 1700000000 }, timeoutMs: 2_000 });
    assert.equal(res.status, 200);
    const { headers, body } = seen[0]!;
    assert.deepEqual(JSON.parse(body), { sys_id: sysId, number: sn.record(sysId)!.fields.number, state: '6' });
    assert.equal(headers['x-probectl-signature'], `sha256=${hmacSha256Hex('sn-secret', `1700000000.${body}`)}`);
  });
});

