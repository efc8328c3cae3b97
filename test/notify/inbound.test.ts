import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { IncidentListener } from '../../src/incidents/listeners.ts';
import type { InboundConfig } from '../../src/notify/config/connectors.ts';
import { ProbectlError } from '../../src/core/errors.ts';
import { GroupConflict } from '../../src/notify/inbound/apply.ts';
import { InboundGroupCommit } from '../../src/notify/inbound/group-commit.ts';
import { probectlSignature } from '../../src/notify/providers/shared/signing.ts';
import type { NotifyRuntime } from '../../src/notify/runtime.ts';
import { countRows } from '../helpers/rows.ts';
import { Jira } from './servers/jira.ts';
import { pagerDutyWebhookHeaders, pagerDutyWebhookEnvelope, PagerDuty } from './servers/pagerduty.ts';
import { WebhookReceiver } from './servers/webhook.ts';
import { closer, pemFile, sleep, startNotifyApp, until, type NotifyApp } from './helpers.ts';

const S = { jira1: 'jira-inbound-secret-71', pd1: 'pd-inbound-secret-72', hook1: 'hook-inbound-secret-73', gjira: 'globex-jira-secret-74', rotOld: 'rot-old-secret-76', rotNew: 'rot-new-secret-77' };
const HOOK_SECRET = 'whsec-outbound-75';

interface Sent { status: number; json: any; text: string }

/**
 * Inbound webhooks through the real server: every way in (probectl HMAC,
 * token, the vendors' own signatures), every way to be refused (a hostile
 * corpus, each refused or a no-op with nothing changed and an audit record),
 * tenant binding, no echo, and fuzzing of every parser.
 */
describe('inbound webhooks POST /ingest/itsm/{provider}/{id}', () => {
  const c = closer();
  let n: NotifyApp;
  let pd: PagerDuty;
  let jira: Jira;
  let hooks: WebhookReceiver;
  let acme: string;
  let globex: string;
  const key = (incident: string) => `probectl-${incident}`;

  const post = async (path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Sent> => {
    const res = await n.app.request('POST', path, { rawBody: body, headers: { 'content-type': 'application/json', ...headers } });
    return { status: res.status, json: res.json, text: res.text };
  };
  const hmac = (secret: string, body: string, ts = Math.floor(Date.now() / 1000)) => ({ 'x-probectl-timestamp': String(ts), 'x-probectl-signature': probectlSignature(secret, ts, body) });
  const status = async (tenant: string, incident: string) => (await n.app.request('GET', `/v1/incidents/${incident}`, { token: await n.token(tenant) })).json.status as string;
  const auditOf = async (tenant: string) => (await n.app.request('GET', '/v1/audit?limit=5000', { token: tenant === n.app.service.deps.providerTenantId ? n.app.adminToken : await n.token(tenant) })).json.events as Array<{ action: string; actor: string; outcome: string; data: Record<string, unknown> }>;
  const opened = async (tenant: string, target: string) => {
    const incident = await n.signal(tenant, { target, title: `incident on ${target}` });
    await until(async () => (await n.rows(tenant, "SELECT 1 FROM notify_links WHERE incident_id = $1 AND state <> 'open'", [incident])).length === 0, 'every link open');
    return incident;
  };

  before(async () => {
    pd = await PagerDuty.start();
    c.after(() => pd.close());
    jira = await Jira.start({ mode: 'cloud', projects: [{ key: 'OPS' }, { key: 'SEC' }] });
    c.after(() => jira.close());
    hooks = await WebhookReceiver.start(HOOK_SECRET);
    c.after(() => hooks.close());
    n = await startNotifyApp(c, ['acme', 'globex'], (ids, dir) => ({
      PROBECTL_NOTIFY_CONNECTORS: [
        `${ids.acme}|pagerduty|${pd.enqueueUrl}|${pd.routingKey}`,
        `${ids.acme}|jira|${jira.url}/rest/api/3/issue?project=OPS&resolve_transition=31|${jira.user.user}:${jira.user.secret}`,
        `${ids.acme}|webhook|${hooks.url}/acme|${HOOK_SECRET}`,
        `${ids.globex}|jira|${jira.url}/rest/api/2/issue?project=SEC|${jira.user.user}:${jira.user.secret}`,
      ].join(','),
      PROBECTL_NOTIFY_INBOUND: `jira1:${ids.acme}:jira:${S.jira1},pd1:${ids.acme}:pagerduty:${S.pd1},hook1:${ids.acme}:webhook:${S.hook1},gjira:${ids.globex}:jira:${S.gjira},rot1:${ids.acme}:webhook:${S.rotOld},rot1:${ids.acme}:webhook:${S.rotNew}`,
      PROBECTL_NOTIFY_CA_FILE: pemFile(dir, pd.server.caPem),
    }));
    acme = n.tenants.acme as string;
    globex = n.tenants.globex as string;
  });
  after(() => c.run());

  it('the portable body, HMAC-signed: acknowledges; every other linked connector is synced, the one it came from is not', async () => {
    const incident = await opened(acme, 'portable-1');
    const body = JSON.stringify({ external_ref: key(incident), status: 'acknowledged' });
    const res = await post('/ingest/itsm/webhook/hook1', body, hmac(S.hook1, body));
    assert.deepEqual([res.status, res.json], [200, { result: 'applied', incident, status: 'acknowledged' }]);
    assert.equal(await status(acme, incident), 'acknowledged');
    await until(() => pd.incident(key(incident))?.status === 'acknowledged', 'PagerDuty acknowledged');
    await until(() => (jira.withLabel(key(incident))[0]?.comments.length ?? 0) === 1, 'Jira commented');
    await sleep(200);
    assert.deepEqual(hooks.received('/acme', key(incident)).map((d) => d.action), ['open'], 'never echoed to the webhook it came from');
    const rec = (await auditOf(acme)).find((e) => e.action === 'incident.acknowledge' && e.actor === 'inbound:hook1');
    assert.equal(rec?.data.ref, key(incident));
  });

  it('the shared token (X-Probectl-Token) and PagerDuty\'s own v3 signature are accepted too', async () => {
    const a = await opened(acme, 'token-1');
    const issue = jira.withLabel(key(a))[0]!;
    const body = JSON.stringify({ external_ref: issue.key, status: 'resolved' });
    const res = await post('/ingest/itsm/jira/jira1', body, { 'x-probectl-token': S.jira1 });
    assert.deepEqual([res.status, res.json.result], [200, 'applied']);
    const b = await opened(acme, 'pd-1');
    const alert = pd.incident(key(b))!;
    const pdBody = JSON.stringify(pagerDutyWebhookEnvelope(alert, 'incident.resolved'));
    const pdRes = await post('/ingest/itsm/pagerduty/pd1', pdBody, pagerDutyWebhookHeaders(pdBody, ['rotated-out-secret', S.pd1]));
    assert.deepEqual([pdRes.status, pdRes.json.result], [200, 'applied']);
    assert.equal(await status(acme, b), 'resolved');
    await until(() => jira.withLabel(key(b))[0]?.status.category.key === 'done', 'Jira resolved');
    await sleep(200);
    assert.deepEqual(pd.incident(key(b))?.history.filter((h) => h.via === 'api').map((h) => h.action), ['trigger'], 'PagerDuty got no resolve back');
  });

  it('a hostile corpus: each refused (or a no-op) with nothing changed and an audit record', async () => {
    const incident = await opened(acme, 'hostile-1');
    const issueKey = jira.withLabel(key(incident))[0]!.key;
    const good = JSON.stringify({ external_ref: issueKey, status: 'resolved' });
    const stale = Math.floor(Date.now() / 1000) - 600;
    const replayHeaders = hmac(S.jira1, JSON.stringify({ external_ref: 'OPS-unknown-replay', status: 'resolved' }));
    const replayBody = JSON.stringify({ external_ref: 'OPS-unknown-replay', status: 'resolved' });
    assert.equal((await post('/ingest/itsm/jira/jira1', replayBody, replayHeaders)).status, 200, 'first delivery of the replayed one: an unknown ref, a no-op');
    const ids = () => [n.app.service.deps.providerTenantId, acme, globex];
    const tables = async () => {
      const rows = await countRows(n.app.service.deps.db, ids());
      delete rows.audit_events;
      delete rows.stream_heads;
      return rows;
    };
    const before = await tables();
    // The delivery's records (auditOf itself creates and uses a reading token).
    const ofDelivery = (e: { action: string; actor: string }) => e.actor.startsWith('inbound:') || e.action.startsWith('notify.inbound') || e.action.startsWith('incident.');
    const audited = async () => (await auditOf(acme)).filter(ofDelivery).length;
    const auditBefore = await audited();
    const cases: Array<[string, () => Promise<Sent>, number, string | undefined]> = [
      ['unsigned', () => post('/ingest/itsm/jira/jira1', good), 401, 'PROBECTL_ERR_WEBHOOK_UNAUTHENTICATED'],
      ['forged HMAC', () => post('/ingest/itsm/jira/jira1', good, hmac('not-the-secret', good)), 401, 'PROBECTL_ERR_WEBHOOK_UNAUTHENTICATED'],
      ['HMAC over another body', () => post('/ingest/itsm/jira/jira1', good, hmac(S.jira1, `${good} `)), 401, 'PROBECTL_ERR_WEBHOOK_UNAUTHENTICATED'],
      ['stale timestamp', () => post('/ingest/itsm/jira/jira1', good, hmac(S.jira1, good, stale)), 401, 'PROBECTL_ERR_WEBHOOK_UNAUTHENTICATED'],
      ['malformed signature header', () => post('/ingest/itsm/jira/jira1', good, { 'x-probectl-timestamp': 'now', 'x-probectl-signature': 'md5=00' }), 401, 'PROBECTL_ERR_WEBHOOK_UNAUTHENTICATED'],
      ['replayed', () => post('/ingest/itsm/jira/jira1', replayBody, replayHeaders), 401, 'PROBECTL_ERR_WEBHOOK_UNAUTHENTICATED'],
      ['wrong token', () => post('/ingest/itsm/jira/jira1', good, { 'x-probectl-token': `${S.jira1}x` }), 401, 'PROBECTL_ERR_WEBHOOK_UNAUTHENTICATED'],
      ['another id\'s token', () => post('/ingest/itsm/jira/jira1', good, { 'x-probectl-token': S.pd1 }), 401, 'PROBECTL_ERR_WEBHOOK_UNAUTHENTICATED'],
      ['forged Jira signature', () => post('/ingest/itsm/jira/jira1', good, { 'x-hub-signature': `sha256=${createHmac('sha256', 'nope').update(good).digest('hex')}` }), 401, 'PROBECTL_ERR_WEBHOOK_UNAUTHENTICATED'],
      ['wrong provider for the id', () => post('/ingest/itsm/pagerduty/jira1', good, hmac(S.jira1, good)), 401, 'PROBECTL_ERR_WEBHOOK_UNAUTHENTICATED'],
      ['unknown id', () => post('/ingest/itsm/jira/nobody', good, hmac(S.jira1, good)), 401, 'PROBECTL_ERR_WEBHOOK_UNAUTHENTICATED'],
      ['oversized', () => post('/ingest/itsm/jira/jira1', Buffer.alloc(300 * 1024, 0x20), { 'x-probectl-token': S.jira1 }), 413, 'PROBECTL_ERR_BODY_TOO_LARGE'],
      ['malformed JSON', () => post('/ingest/itsm/jira/jira1', '{"external_ref":', { 'x-probectl-token': S.jira1 }), 400, 'PROBECTL_ERR_BAD_JSON'],
      ['hostile JSON', () => post('/ingest/itsm/jira/jira1', '{"external_ref":"a\\u0000b","status":"resolved"}', { 'x-probectl-token': S.jira1 }), 400, 'PROBECTL_ERR_JSON_REFUSED'],
      ['not a body it understands', () => post('/ingest/itsm/webhook/hook1', '{"sys_id":"x","state":"6"}', { 'x-probectl-token': S.hook1 }), 400, 'PROBECTL_ERR_WEBHOOK_BODY'],
      ['a portable body with a bad status', () => post('/ingest/itsm/jira/jira1', JSON.stringify({ external_ref: issueKey, status: 'closed' }), { 'x-probectl-token': S.jira1 }), 400, 'PROBECTL_ERR_WEBHOOK_BODY'],
      ['another tenant\'s ref (by issue key)', () => post('/ingest/itsm/jira/gjira', good, { 'x-probectl-token': S.gjira }), 200, undefined],
      ['another tenant\'s incident key', () => post('/ingest/itsm/jira/gjira', JSON.stringify({ external_ref: key(incident), status: 'resolved' }), { 'x-probectl-token': S.gjira }), 200, undefined],
      ['an unknown ref', () => post('/ingest/itsm/jira/jira1', JSON.stringify({ external_ref: 'OPS-99999', status: 'resolved' }), { 'x-probectl-token': S.jira1 }), 200, undefined],
    ];
    for (const [name, send, expected, code] of cases) {
      const res = await send();
      assert.equal(res.status, expected, `${name}: ${res.text}`);
      if (code) assert.equal(res.json.code, code, name);
      else assert.equal(res.json.result, 'unknown_ref', name);
      assert.ok(!res.text.includes(S.jira1) && !res.text.includes(S.gjira), `${name}: no secret in the answer`);
    }
    assert.equal(await status(acme, incident), 'open', 'nothing changed the incident');
    assert.deepEqual(await tables(), before, 'no row written anywhere but the audit chain');
    const records = (await auditOf(acme)).slice(auditBefore).filter((e) => e.action.startsWith('notify.inbound.'));
    assert.ok(records.length >= 14, `acme's chain records the refusals and no-ops (${records.length})`);
    assert.ok(records.every((e) => !JSON.stringify(e).includes(S.jira1)));
    const provider = await auditOf(n.app.service.deps.providerTenantId);
    assert.ok(provider.some((e) => e.action === 'notify.inbound.rejected' && e.data.inbound === 'nobody'), 'an unknown id is recorded in the provider tenant\'s chain');
    const globexRecords = await auditOf(globex);
    assert.ok(globexRecords.some((e) => e.action === 'notify.inbound.noop' && e.data.result === 'unknown_ref'), 'the other tenant\'s attempt is recorded in its own chain');
    assert.ok(records.some((e) => e.action === 'notify.inbound.too_large'));
    const malformed = records.filter((e) => e.action === 'notify.inbound.malformed');
    assert.ok(malformed.length > 0 && malformed.every((e) => e.actor === `inbound:${e.data.inbound}`), 'a malformed body with a valid credential names the inbound id as its actor');
    assert.ok(records.filter((e) => e.action === 'notify.inbound.rejected').every((e) => e.actor === 'anonymous'), 'a refused credential is anonymous');
  });

  it('refusals are audited rate-limited per source (at most 20 a minute) and counted in the metrics', async () => {
    const before = (await auditOf(n.app.service.deps.providerTenantId)).filter((e) => e.action === 'notify.inbound.rejected').length;
    for (let i = 0; i < 40; i++) assert.equal((await post('/ingest/itsm/jira/flood', '{}')).status, 401);
    const after = (await auditOf(n.app.service.deps.providerTenantId)).filter((e) => e.action === 'notify.inbound.rejected');
    assert.ok(after.length - before <= 20, `${after.length - before} records for 40 refusals within a minute`);
    assert.match(await (await n.app.request('GET', '/metrics', { token: n.app.adminToken })).text, /probectl_notify_inbound_total\{provider="unknown",result="rejected"\} [4-9]\d/);
  });

  it('a repeated delivery is a no-op answered 200 and recorded; resolved never goes back to acknowledged', async () => {
    const incident = await opened(acme, 'repeat-1');
    const body = JSON.stringify({ external_ref: key(incident), status: 'resolved' });
    const ts = Math.floor(Date.now() / 1000);
    assert.equal((await post('/ingest/itsm/jira/jira1', body, hmac(S.jira1, body, ts))).json.result, 'applied');
    // The vendor's redelivery is signed anew (another timestamp): not a replay, a repeated change.
    const again = await post('/ingest/itsm/jira/jira1', body, hmac(S.jira1, body, ts - 1));
    assert.deepEqual([again.status, again.json.result], [200, 'unchanged']);
    const ack = JSON.stringify({ external_ref: key(incident), status: 'acknowledged' });
    assert.deepEqual((await post('/ingest/itsm/jira/jira1', ack, { 'x-probectl-token': S.jira1 })).json, { result: 'unchanged', incident, status: 'resolved' });
    assert.ok((await auditOf(acme)).some((e) => e.action === 'notify.inbound.noop' && e.data.result === 'unchanged'));
  });

  it('concurrent deliveries from several vendors for one incident: one applies, the rest are no-ops, no error and no deadlock', async () => {
    const incident = await opened(acme, 'race-1');
    const body = (status: string) => JSON.stringify({ external_ref: key(incident), status });
    const sends = Array.from({ length: 12 }, (_, i) => {
      const [path, secret] = [['/ingest/itsm/jira/jira1', S.jira1], ['/ingest/itsm/pagerduty/pd1', S.pd1], ['/ingest/itsm/webhook/hook1', S.hook1]][i % 3] as [string, string];
      return post(path, body(i % 2 === 0 ? 'resolved' : 'acknowledged'), { 'x-probectl-token': secret });
    });
    const results = await Promise.all(sends);
    assert.ok(results.every((r) => r.status === 200), results.map((r) => r.text).join('\n'));
    assert.equal(results.filter((r) => r.json.result === 'applied' && r.json.status === 'resolved').length, 1, 'exactly one resolution applied');
    assert.ok(results.filter((r) => r.json.result === 'applied').length <= 2, 'at most an acknowledgement before it');
    assert.equal(await status(acme, incident), 'resolved');
  });

  it('a burst of one tenant\'s deliveries: each answered as if alone, one operation per change, a replay in the same group refused, the chain intact', async () => {
    const incidents: string[] = [];
    for (let i = 0; i < 12; i++) incidents.push(await opened(acme, `burst-${i}`));
    const pdBefore = await n.rows<{ n: number }>(acme, "SELECT count(*)::int AS n FROM notify_outbox WHERE action IN ('acknowledge', 'resolve')");
    const signed = (incident: string, status: string, ts: number) => {
      const body = JSON.stringify({ external_ref: key(incident), status });
      return { body, headers: hmac(S.hook1, body, ts) };
    };
    const now = Math.floor(Date.now() / 1000);
    // Per incident an acknowledgement and a resolution; one signed delivery sent twice at once; refs nobody knows; all at once.
    const deliveries = incidents.flatMap((inc, i) => [signed(inc, 'acknowledged', now - i), signed(inc, 'resolved', now - i)]);
    const twice = signed(incidents[0] as string, 'resolved', now - 100);
    const unknown = Array.from({ length: 4 }, (_, i) => signed(`00000000-0000-4000-8000-00000000000${i}`, 'resolved', now));
    const all = [...deliveries, twice, twice, ...unknown];
    const results = await Promise.all(all.map((d) => post('/ingest/itsm/webhook/hook1', d.body, d.headers)));
    const answerTo = (d: (typeof all)[number]) => results[all.indexOf(d)] as Sent;
    // The doubled signature: one was applied or a no-op, the other refused as a replay.
    const pair = results.slice(deliveries.length, deliveries.length + 2);
    assert.deepEqual(pair.map((r) => r.status).sort(), [200, 401], pair.map((r) => r.text).join('\n'));
    assert.match(pair.find((r) => r.status === 401)?.text ?? '', /replayed delivery/);
    for (const r of results.slice(deliveries.length + 2)) assert.deepEqual([r.status, r.json.result], [200, 'unknown_ref']);
    for (const [i, inc] of incidents.entries()) {
      const resolve = answerTo(deliveries[2 * i + 1] as (typeof all)[number]);
      assert.equal(resolve.status, 200, resolve.text);
      assert.equal(await status(acme, inc), 'resolved');
    }
    assert.equal(results.filter((r) => r.status === 200 && r.json.result === 'applied' && r.json.status === 'resolved').length, 12, 'each incident resolved exactly once');
    // The other connectors got exactly one operation per change that was applied (never echoed to the webhook).
    const applied = results.filter((r) => r.status === 200 && r.json.result === 'applied').length;
    const ops = await n.rows<{ n: number }>(acme, "SELECT count(*)::int AS n FROM notify_outbox WHERE action IN ('acknowledge', 'resolve')");
    assert.equal((ops[0]?.n ?? 0) - (pdBefore[0]?.n ?? 0), applied * 2, 'PagerDuty and Jira each get one operation per applied change');
    const gaps = await n.rows<{ connector: string; n: number; max: number }>(acme, 'SELECT connector, count(*)::int AS n, max(seq)::int AS max FROM notify_outbox GROUP BY connector');
    for (const g of gaps) assert.equal(g.n, g.max, `outbox seq of ${g.connector} is gapless`);
    assert.match((await n.app.request('GET', '/metrics', { token: n.app.adminToken })).text, /probectl_notify_inbound_commit_deliveries_count \d+/);
    const verdict = await n.app.request('GET', '/v1/audit/verify', { token: await n.token(acme) });
    assert.equal(verdict.json.ok, true, verdict.text);
    const records = (await auditOf(acme)).filter((e) => e.actor === 'inbound:hook1' && String(e.data.ref ?? '').startsWith('probectl-'));
    assert.equal(records.filter((e) => e.action === 'incident.resolve' && incidents.some((inc) => e.data.ref === key(inc))).length, 12);
  });

  it('group commit: deliveries submitted together share transactions, each answered as alone; a failing group falls back to one transaction each', async () => {
    const runtime = n.app.service.integrations.get('notify')?.runtime as NotifyRuntime;
    const deps = n.app.service.deps;
    const hook = runtime.inbound.get('hook1') as InboundConfig;
    const sizes: number[] = [];
    const group = new InboundGroupCommit(deps.db, deps.clock, deps.ingest.listeners ?? [], (k) => sizes.push(k));
    const incidents: string[] = [];
    for (let i = 0; i < 10; i++) incidents.push(await opened(acme, `group-${i}`));
    const change = (inc: string, status: 'acknowledged' | 'resolved') => ({ ref: key(inc), status });
    // All submitted in one tick: the first starts at once (one transaction per tenant), the rest wait and commit as a group.
    const answers = await Promise.all([
      ...incidents.map((inc, i) => group.apply(hook, change(inc, 'resolved'), `sig-group-${i}`, 'test')),
      group.apply(hook, change(incidents[0] as string, 'resolved'), 'sig-group-0', 'test').then(() => 'accepted', (e: Error) => e.constructor.name),
      group.apply(hook, { ignore: 'not mirrored' }, undefined, 'test'),
    ]);
    assert.deepEqual(answers.slice(0, 10), incidents.map((inc) => ({ result: 'applied', incident: inc, status: 'resolved' })));
    assert.equal(answers[10], 'ReplayedDelivery', 'a signature seen earlier in the same group is a replay');
    assert.deepEqual(answers[11], { result: 'ignored', reason: 'not mirrored' });
    assert.equal(sizes[0], 1);
    assert.equal(sizes.slice(1).reduce((a, b) => a + b, 0), 11, `the other deliveries committed in groups: ${sizes}`);
    assert.ok(sizes.slice(1).some((k) => k > 1), `some commit held several deliveries: ${sizes}`);
    for (const inc of incidents) assert.equal(await status(acme, inc), 'resolved');
    const ops = await n.rows<{ incident_id: string; n: number }>(acme, "SELECT incident_id, count(*)::int AS n FROM notify_outbox WHERE action = 'resolve' AND incident_id = ANY($1::uuid[]) GROUP BY incident_id", [incidents]);
    assert.deepEqual(ops.map((o) => o.n), incidents.map(() => 2), 'one resolve per other connector (PagerDuty, Jira), none to the webhook it came from');

    // Several deliveries for one incident in a group: applied in arrival order, each seeing the one before.
    sizes.length = 0;
    const pairs: string[] = [];
    for (let i = 0; i < 3; i++) pairs.push(await opened(acme, `group-pair-${i}`));
    const ordered = await Promise.all([
      group.apply(hook, { ignore: 'first' }, undefined, 'test'),
      group.apply(hook, { ignore: 'second' }, undefined, 'test'),
      ...pairs.flatMap((inc, i) => [
        group.apply(hook, change(inc, 'acknowledged'), `sig-pair-a${i}`, 'test'),
        group.apply(hook, change(inc, 'resolved'), `sig-pair-r${i}`, 'test'),
        group.apply(hook, change(inc, 'acknowledged'), `sig-pair-late${i}`, 'test'),
      ]),
    ]);
    assert.deepEqual(sizes, [1, 10]);
    assert.deepEqual(ordered.slice(2).map((r) => [r.result, 'status' in r ? r.status : '']), pairs.flatMap(() => [['applied', 'acknowledged'], ['applied', 'resolved'], ['unchanged', 'resolved']]));
    const pairOps = await n.rows<{ action: string }>(acme, 'SELECT action FROM notify_outbox WHERE incident_id = $1 AND connector = (SELECT connector FROM notify_links WHERE incident_id = $1 AND provider = $2) ORDER BY seq', [pairs[0], 'pagerduty']);
    assert.deepEqual(pairOps.map((o) => o.action), ['open', 'acknowledge', 'resolve']);

    // A group whose transaction fails (a fault injected: applying one of its deliveries throws inside the transaction):
    // nothing of the group is kept, each delivery is applied alone and gets its own answer — the faulty one its error.
    const more: string[] = [];
    for (let i = 0; i < 4; i++) more.push(await opened(acme, `group-fail-${i}`));
    const faulty = more[3] as string;
    const failing: IncidentListener = { incidentChanged: async (_tx, c) => { if (c.incident.id === faulty) throw new Error('injected listener fault'); } };
    const sizes2: number[] = [];
    const group2 = new InboundGroupCommit(deps.db, deps.clock, [...(deps.ingest.listeners ?? []), failing], (k) => sizes2.push(k));
    const settled = await Promise.allSettled([
      group2.apply(hook, { ignore: 'first' }, undefined, 'test'),
      group2.apply(hook, { ignore: 'second' }, undefined, 'test'),
      group2.apply(hook, change(more[0] as string, 'acknowledged'), 'sig-fail-0', 'test'),
      group2.apply(hook, change(faulty, 'acknowledged'), 'sig-fail-3', 'test'),
      group2.apply(hook, change(more[1] as string, 'resolved'), 'sig-fail-1', 'test'),
      group2.apply(hook, change(more[2] as string, 'acknowledged'), 'sig-fail-2', 'test'),
    ]);
    const value = (i: number) => { const r = settled[i]; return r?.status === 'fulfilled' ? [r.value.result, 'status' in r.value ? r.value.status : ''] : ['rejected', (r?.reason as Error).message]; };
    assert.deepEqual([2, 3, 4, 5].map(value), [['applied', 'acknowledged'], ['rejected', 'injected listener fault'], ['applied', 'resolved'], ['applied', 'acknowledged']]);
    assert.deepEqual(sizes2, [1, 1, 1, 1, 1], 'the failed group of five was applied again one by one (four committed)');
    assert.equal(await status(acme, faulty), 'open', 'the faulty delivery changed nothing');
    assert.equal((await n.rows(acme, 'SELECT 1 FROM notify_inbound_seen WHERE signature = $1', ['sig-fail-3'])).length, 0, 'its signature was not consumed: the vendor\'s retry is applied');
    assert.deepEqual([await status(acme, more[0] as string), await status(acme, more[1] as string), await status(acme, more[2] as string)], ['acknowledged', 'resolved', 'acknowledged']);
    const verdict = await n.app.request('GET', '/v1/audit/verify', { token: await n.token(acme) });
    assert.equal(verdict.json.ok, true, verdict.text);
  });

  it('a delivery alone whose incident keeps changing under it is read and applied again; past a few tries it is refused 503 with Retry-After, nothing changed', async () => {
    const runtime = n.app.service.integrations.get('notify')?.runtime as NotifyRuntime;
    const deps = n.app.service.deps;
    const hook = runtime.inbound.get('hook1') as InboundConfig;
    const [twice, always] = [await opened(acme, 'race-twice'), await opened(acme, 'race-always')];
    // A fault injected where a concurrent change shows: the transition finds the incident moved (GroupConflict), rolled back.
    const raced = new Map<string, number>();
    const racing: IncidentListener = {
      incidentChanged: async (_tx, c) => {
        const k = (raced.get(c.incident.id) ?? 0) + 1;
        raced.set(c.incident.id, k);
        if (c.incident.id === always) throw new GroupConflict('injected: the incident changed');
        // The first try races another change; the second is rolled back by PostgreSQL as a deadlock victim.
        if (c.incident.id === twice && k === 1) throw new GroupConflict('injected: the incident changed');
        if (c.incident.id === twice && k === 2) throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
      },
    };
    const sizes: number[] = [];
    const group = new InboundGroupCommit(deps.db, deps.clock, [...(deps.ingest.listeners ?? []), racing], (k) => sizes.push(k));
    assert.deepEqual(await group.apply(hook, { ref: key(twice), status: 'resolved' }, 'sig-race-twice', 'test'), { result: 'applied', incident: twice, status: 'resolved' });
    assert.equal(raced.get(twice), 3, 'a conflict and a deadlock, applied on the third try');
    const refused = await group.apply(hook, { ref: key(always), status: 'resolved' }, 'sig-race-always', 'test').then(() => undefined, (e: unknown) => e);
    assert.ok(refused instanceof ProbectlError, String(refused));
    assert.deepEqual([refused.code, refused.status, refused.details], ['PROBECTL_ERR_INBOUND_BUSY', 503, { retry_after_seconds: 1 }]);
    assert.equal(raced.get(always), 6, 'a bounded number of tries');
    assert.deepEqual(sizes, [1], 'only the applied delivery committed');
    assert.equal(await status(acme, always), 'open', 'the refused delivery changed nothing');
    assert.equal((await n.rows(acme, 'SELECT 1 FROM notify_inbound_seen WHERE signature = $1', ['sig-race-always'])).length, 0, 'its signature was not consumed: the vendor\'s retry is applied');
  });

  it('over HTTP: a delivery whose incident keeps racing is answered 503 {code, message} with Retry-After, nothing written; the vendor\'s resend of the same signed delivery is applied', async () => {
    const incident = await opened(acme, 'race-http');
    const listeners = n.app.service.deps.ingest.listeners as IncidentListener[];
    let raced = 0;
    const racing: IncidentListener = {
      incidentChanged: async (_tx, c) => {
        if (c.incident.id !== incident) return;
        raced += 1;
        throw new GroupConflict('injected: the incident changed');
      },
    };
    const body = JSON.stringify({ external_ref: key(incident), status: 'resolved' });
    const signed = hmac(S.hook1, body);
    // The delivery's records (auditOf itself creates and uses a reading token).
    const ofDelivery = (e: { action: string; actor: string }) => e.actor.startsWith('inbound:') || e.action.startsWith('notify.inbound') || e.action.startsWith('incident.');
    const audited = async () => (await auditOf(acme)).filter(ofDelivery).length;
    const auditBefore = await audited();
    listeners.push(racing);
    let res;
    try {
      res = await n.app.request('POST', '/ingest/itsm/webhook/hook1', { rawBody: body, headers: { 'content-type': 'application/json', ...signed } });
    } finally {
      listeners.splice(listeners.indexOf(racing), 1);
    }
    assert.equal(res.status, 503, res.text);
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(res.json.code, 'PROBECTL_ERR_INBOUND_BUSY');
    assert.equal(typeof res.json.message, 'string');
    assert.equal(raced, 6);
    assert.equal(await status(acme, incident), 'open', 'nothing changed');
    const after = (await auditOf(acme)).filter(ofDelivery);
    assert.deepEqual(after.slice(0, after.length - auditBefore).map((e) => [e.action, e.actor, e.outcome, JSON.stringify(e.data)]), [], 'nothing audited');
    const resent = await post('/ingest/itsm/webhook/hook1', body, signed);
    assert.deepEqual([resent.status, resent.json], [200, { result: 'applied', incident, status: 'resolved' }], 'the signature was not consumed by the refusal');
  });

  it('probectl webhook sign (POST /v1/notify/sign): headers that the endpoint accepts; another tenant\'s id is not found', async () => {
    const incident = await opened(acme, 'sign-1');
    const body = JSON.stringify({ external_ref: key(incident), status: 'acknowledged' });
    const signed = await n.app.request('POST', '/v1/notify/sign', { token: await n.token(acme), body: { id: 'hook1', body } });
    assert.equal(signed.status, 200, signed.text);
    assert.equal(signed.json.path, '/ingest/itsm/webhook/hook1');
    assert.ok(!signed.text.includes(S.hook1));
    assert.equal((await post(signed.json.path, body, signed.json.headers)).json.result, 'applied');
    const foreign = await n.app.request('POST', '/v1/notify/sign', { token: await n.token(globex), body: { id: 'hook1', body } });
    assert.deepEqual([foreign.status, foreign.json.code], [404, 'PROBECTL_ERR_NOT_FOUND']);
    const provider = await n.app.request('POST', '/v1/notify/sign', { token: n.app.adminToken, body: { id: 'gjira', body: '{}' } });
    assert.equal(provider.status, 200, 'the provider admin signs for any tenant');
  });

  it('a secret rotation (the id listed twice): the new and the previous secret are both accepted, the previous one counted; sign uses the new one; any other secret is refused', async () => {
    const metric = async () => Number(/probectl_notify_inbound_previous_secret_total\{inbound="rot1"\} (\d+)/.exec((await n.app.request('GET', '/metrics', { token: n.app.adminToken })).text)?.[1] ?? 0);
    const before = await metric();
    const one = await opened(acme, 'rotate-1');
    const two = await opened(acme, 'rotate-2');
    const ack = (incident: string) => JSON.stringify({ external_ref: key(incident), status: 'acknowledged' });
    const byNew = await post('/ingest/itsm/webhook/rot1', ack(one), hmac(S.rotNew, ack(one)));
    assert.deepEqual([byNew.status, byNew.json.result], [200, 'applied']);
    assert.equal(await metric(), before, 'the new secret is not counted as the previous one');
    const byOld = await post('/ingest/itsm/webhook/rot1', ack(two), { 'x-probectl-token': S.rotOld });
    assert.deepEqual([byOld.status, byOld.json.result], [200, 'applied']);
    assert.equal(await metric(), before + 1);
    const three = await opened(acme, 'rotate-3');
    for (const headers of [hmac(S.hook1, ack(three)), { 'x-probectl-token': 'rot-someone-else' }, hmac(`${S.rotNew}x`, ack(three))]) {
      const refused = await post('/ingest/itsm/webhook/rot1', ack(three), headers);
      assert.equal(refused.status, 401, refused.text);
      assert.ok(!refused.text.includes(S.rotOld) && !refused.text.includes(S.rotNew));
    }
    assert.equal(await status(acme, three), 'open', 'nothing changed by a refused delivery');
    const signed = await n.app.request('POST', '/v1/notify/sign', { token: await n.token(acme), body: { id: 'rot1', body: ack(three) } });
    assert.equal(signed.status, 200, signed.text);
    const ts = Number(signed.json.headers['x-probectl-timestamp']);
    assert.equal(signed.json.headers['x-probectl-signature'], probectlSignature(S.rotNew, ts, ack(three)), 'signed with the new secret');
    assert.equal((await post(signed.json.path, ack(three), signed.json.headers)).json.result, 'applied');
    assert.equal(await metric(), before + 1);
  });

  it('fuzz: arbitrary authenticated bodies never get a 5xx, and no delivery changes another tenant', async () => {
    const incident = await opened(acme, 'fuzz-1');
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc.record({ external_ref: fc.oneof(fc.string(), fc.constant(key(incident)), fc.integer()), status: fc.oneof(fc.constantFrom('acknowledged', 'resolved'), fc.string()) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
      fc.record({ webhookEvent: fc.constantFrom('jira:issue_updated', 'x'), issue: fc.record({ key: fc.oneof(fc.string(), fc.integer()), fields: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] }) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
      fc.record({ event: fc.record({ event_type: fc.constantFrom('incident.resolved', 'incident.acknowledged', 'pagey.ping'), data: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] }) }).map((v) => JSON.stringify(v)),
      fc.string({ unit: 'binary', maxLength: 64 }),
    );
    const target = fc.constantFrom(['jira', 'gjira', S.gjira], ['pagerduty', 'pd1', S.pd1], ['webhook', 'hook1', S.hook1]);
    await fc.assert(fc.asyncProperty(body, target, async (b, [provider, id, secret]) => {
      const res = await post(`/ingest/itsm/${provider}/${id}`, b, { 'x-probectl-token': secret as string });
      assert.ok(res.status < 500, `${provider}/${id} with ${b} → ${res.status} ${res.text}`);
    }), { numRuns: 300 });
    const changes = (await auditOf(acme)).filter((e) => e.action.startsWith('incident.'));
    assert.ok(changes.every((e) => e.actor !== 'inbound:gjira'), 'globex\'s credential never changed an acme incident');
  });
});
