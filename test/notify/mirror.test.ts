import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Jira } from './servers/jira.ts';
import { PagerDuty } from './servers/pagerduty.ts';
import { WebhookReceiver } from './servers/webhook.ts';
import { closer, pemFile, sleep, startNotifyApp, until, type NotifyApp } from './helpers.ts';
import { openText, SEALED } from '../../src/store/sealed.ts';
import { inTenant } from '../../src/store/scope.ts';

const HOOK_SECRET = 'whsec-mirror-2c4e';
const INTERVAL_MS = 800;

/**
 * Mirror semantics through the real server, one server for the suite:
 * severity routing, connector instances, tenant isolation, API changes
 * reaching every linked connector, ordering, skipped operations, failed
 * operations and their retry, pauses, and faults.
 *
 * acme:    pagerduty (min warning) · jira Cloud v3 (OPS, transition 31) · webhook /a · webhook /b
 * globex:  webhook /globex · pagerduty (its own routing key)
 * initech: webhook /initech (the pause test)
 */
describe('on-call mirror semantics (one server, three tenants)', () => {
  const c = closer();
  let pd: PagerDuty;
  let jira: Jira;
  let hooks: WebhookReceiver;
  let n: NotifyApp;
  let acme: string;
  let globex: string;
  let initech: string;
  const keyOf = (incident: string) => `probectl-${incident}`;
  const jiraIssue = (incident: string) => jira.withLabel(keyOf(incident))[0];
  // The skip reason is kept encrypted: opened here as the outbox's readers do.
  const opsOf = async (tenant: string, connectorPrefix: string) => inTenant(n.app.service.deps.db, tenant, async (tx) => {
    const rows = (await tx.query<{ id: string; connector: string; seq: number; action: string; result: string | null; reason: Uint8Array | null; incident_id: string }>('SELECT id, connector, seq, action, result, reason, incident_id FROM notify_outbox WHERE connector LIKE $1 ORDER BY connector, seq', [`${connectorPrefix}%`])).rows;
    return rows.map((r) => ({ ...r, reason: openText(tx, SEALED.outboxReason, [r.connector, r.id], r.reason) }));
  });
  const patch = async (tenant: string, incident: string, status: string) => {
    const res = await n.app.request('PATCH', `/v1/incidents/${incident}`, { token: await n.token(tenant), body: { status } });
    assert.equal(res.status, 200, res.text);
  };
  const metrics = async () => (await n.app.request('GET', '/metrics', { token: n.app.adminToken })).text;

  before(async () => {
    pd = await PagerDuty.start({ routingKeys: ['A'.repeat(32), 'G'.repeat(32)] });
    c.after(() => pd.close());
    jira = await Jira.start({ mode: 'cloud' });
    c.after(() => jira.close());
    hooks = await WebhookReceiver.start(HOOK_SECRET);
    c.after(() => hooks.close());
    n = await startNotifyApp(c, ['acme', 'globex', 'initech'], (ids, dir) => ({
      PROBECTL_NOTIFY_CONNECTORS: [
        `${ids.acme}|pagerduty|${pd.enqueueUrl}|${'A'.repeat(32)}`,
        `${ids.acme}|jira|${jira.url}/rest/api/3/issue?project=OPS&resolve_transition=31|${jira.user.user}:${jira.user.secret}`,
        `${ids.acme}|webhook|${hooks.url}/a|${HOOK_SECRET}`,
        `${ids.acme}|webhook|${hooks.url}/b|${HOOK_SECRET}`,
        `${ids.globex}|webhook|${hooks.url}/globex|${HOOK_SECRET}`,
        `${ids.globex}|pagerduty|${pd.enqueueUrl}|${'G'.repeat(32)}`,
        `${ids.initech}|webhook|${hooks.url}/initech|${HOOK_SECRET}`,
      ].join(','),
      PROBECTL_NOTIFY_CA_FILE: pemFile(dir, pd.server.caPem),
      PROBECTL_NOTIFY_UPDATE_INTERVAL: `${INTERVAL_MS}ms`,
      PROBECTL_NOTIFY_RETRY_BASE: '50ms',
      PROBECTL_NOTIFY_RETRY_MAX: '300ms',
      PROBECTL_NOTIFY_TIMEOUT: '1s',
    }));
    acme = n.tenants.acme as string;
    globex = n.tenants.globex as string;
    initech = n.tenants.initech as string;
  });
  after(() => c.run());

  it('min_severity: an info incident opens only where info is enough; rising to warning pages at that moment, once', async () => {
    const incident = await n.signal(acme, { kind: 'bgp.flap', target: 'edge-1', severity: 'info', title: 'BGP flap on edge-1' });
    await until(() => hooks.received('/a', keyOf(incident)).length === 1 && hooks.received('/b', keyOf(incident)).length === 1 && jiraIssue(incident) !== undefined, 'ticket and both webhooks');
    await sleep(200);
    assert.equal(pd.incident(keyOf(incident)), undefined, 'an info incident does not wake the pager');
    assert.equal(await n.signal(acme, { kind: 'bgp.flap', target: 'edge-1', severity: 'warning', title: 'BGP flap on edge-1' }), incident);
    await until(() => pd.incident(keyOf(incident)) !== undefined, 'paged once the severity reached warning');
    assert.equal(pd.incident(keyOf(incident))?.severity, 'warning');
    await until(() => jiraIssue(incident)!.comments.length === 1, 'one coalesced comment');
    assert.match(JSON.stringify(jiraIssue(incident)!.comments[0]!.body), /1 more signal on this incident since the last update; severity rose from info to warning/);
    // Each connector's coalesced update is its own delivery: the webhook's may land after Jira's comment.
    await until(() => hooks.received('/a', keyOf(incident)).some((d) => d.action === 'update'), 'the webhook\'s coalesced update');
    const update = hooks.received('/a', keyOf(incident)).find((d) => d.action === 'update');
    assert.deepEqual(update?.update, { signals: 1, severity_from: 'info', severity_to: 'warning' });
    assert.equal(pd.triggers(keyOf(incident)), 1);
  });

  it('two connectors of one provider in one tenant both fire; another tenant\'s connectors never see the incident', async () => {
    const a = await n.signal(acme, { target: 'db-1', title: 'acme only' });
    const g = await n.signal(globex, { target: 'db-1', title: 'globex only' });
    await until(() => hooks.received('/a', keyOf(a)).length === 1 && hooks.received('/b', keyOf(a)).length === 1 && hooks.received('/globex', keyOf(g)).length === 1, 'each tenant\'s own');
    await until(() => pd.incident(keyOf(a)) !== undefined && pd.incident(keyOf(g)) !== undefined, 'both paged');
    await sleep(200);
    assert.deepEqual([hooks.received('/globex', keyOf(a)), hooks.received('/a', keyOf(g)), hooks.received('/b', keyOf(g))], [[], [], []]);
    assert.ok(hooks.received('/globex').every((d) => d.incident.tenant === globex));
    assert.ok(hooks.received('/a').every((d) => d.incident.tenant === acme));
    assert.equal(pd.incident(keyOf(a))?.routingKey, 'A'.repeat(32), 'acme\'s incident on acme\'s service');
    assert.equal(pd.incident(keyOf(g))?.routingKey, 'G'.repeat(32));
    assert.equal(jiraIssue(g), undefined, 'globex has no Jira connector');
    assert.equal((await opsOf(acme, '')).filter((o) => o.incident_id === g).length, 0, 'acme\'s outbox never holds a globex incident');
  });

  it('acknowledging and resolving through the API reach every linked connector, in order', async () => {
    const incident = await n.signal(acme, { target: 'fw-2', title: 'Firewall down' });
    await patch(acme, incident, 'acknowledged');
    await patch(acme, incident, 'resolved');
    await until(() => pd.incident(keyOf(incident))?.status === 'resolved', 'PagerDuty resolved');
    await until(() => hooks.received('/b', keyOf(incident)).length === 3, 'webhook /b got all three');
    await until(() => jiraIssue(incident)?.status.category.key === 'done' && jiraIssue(incident)!.comments.length === 2, 'Jira transitioned and commented');
    assert.deepEqual(hooks.received('/a', keyOf(incident)).map((d) => [d.action, d.incident.status]), [['open', 'open'], ['acknowledge', 'acknowledged'], ['resolve', 'resolved']]);
    assert.deepEqual(pd.incident(keyOf(incident))?.history.map((h) => h.action), ['trigger', 'acknowledge', 'resolve']);
    const issue = jiraIssue(incident)!;
    assert.deepEqual(issue.comments.map((x) => JSON.stringify(x.body).match(/acknowledged|resolved/)?.[0]), ['acknowledged', 'resolved']);
  });

  it('faults: 5xx, 429 with Retry-After, timeouts and resets are retried until each operation lands once; a lost Jira answer leaves one issue', async () => {
    hooks.server.inject(
      { kind: 'status', status: 503, when: { path: '/a' } }, { kind: 'status', status: 429, retryAfter: '1', when: { path: '/a' } },
      { kind: 'hang', when: { path: '/a' } }, { kind: 'reset', when: { path: '/a' } },
    );
    pd.server.inject({ kind: 'status', status: 500 }, { kind: 'reset' }, { kind: 'status', status: 429, retryAfter: '1' });
    jira.server.inject({ kind: 'lost-response', when: { method: 'POST', path: '/rest/api/3/issue' } });
    const incident = await n.signal(acme, { target: 'lb-3', title: 'Load balancer down' });
    await until(() => hooks.received('/a', keyOf(incident)).length === 1 && pd.incident(keyOf(incident)) !== undefined && jiraIssue(incident) !== undefined, 'every connector after the faults', 20_000);
    await until(async () => (await opsOf(acme, 'jira')).filter((o) => o.incident_id === incident && o.result === 'sent').length === 1, 'the Jira open recorded');
    assert.equal(jira.withLabel(keyOf(incident)).length, 1, 'one issue despite the lost answer');
    assert.equal(pd.incidents.filter((i) => i.dedupKey === keyOf(incident)).length, 1, 'one page');
    assert.equal(hooks.received('/a', keyOf(incident)).length, 1);
    assert.ok(hooks.server.requests({ path: '/a' }).filter((r) => r.fault !== undefined).length >= 4, 'the faults were met');
    assert.equal(hooks.server.faults.length, 0, 'every injected fault was consumed');
    const text = await metrics();
    assert.match(text, /probectl_notify_operations_total\{[^}]*outcome="retried"[^}]*\} [1-9]/);
  });

  it('a pager is never made to page for an incident resolved before its open could be sent; chat and tickets still get both', async () => {
    // PagerDuty down while the incident opens and resolves.
    const refusedBefore = pd.server.requests({ path: '/v2/enqueue' }).filter((r) => r.fault !== undefined).length;
    pd.server.inject(...Array.from({ length: 400 }, () => ({ kind: 'status' as const, status: 503, when: { path: '/v2/enqueue' } })));
    let incident: string;
    try {
      incident = await n.signal(acme, { target: 'flap-1', title: 'Flapping link' });
      await until(() => pd.server.requests({ path: '/v2/enqueue' }).filter((r) => r.fault !== undefined).length >= refusedBefore + 2, 'the page was tried while PagerDuty was down');
      await patch(acme, incident, 'resolved');
      // PagerDuty stays down until the open is decided: an attempt of the open that read the incident just before the
      // resolve committed is refused too, and the next attempt sees the resolve (never a race with the fault window).
      await until(async () => (await opsOf(acme, 'pagerduty')).some((o) => o.incident_id === incident && o.action === 'open' && o.result !== null), 'the open decided while PagerDuty is down');
    } finally {
      pd.server.faults.splice(0);
    }
    await until(async () => (await opsOf(acme, 'pagerduty')).filter((o) => o.incident_id === incident && o.result !== null).length === 2, 'the open and the resolve finished at PagerDuty');
    const ops = (await opsOf(acme, 'pagerduty')).filter((o) => o.incident_id === incident).map((o) => [o.action, o.result, o.reason]);
    assert.deepEqual(ops, [
      ['open', 'skipped', 'the incident was resolved before the page could be sent: nobody was paged'],
      ['resolve', 'sent', null],
    ]);
    assert.equal(pd.incidents.filter((i) => i.dedupKey === keyOf(incident)).length, 0, 'nobody was paged');
    assert.deepEqual(pd.events.filter((e) => e.dedup_key === keyOf(incident)).map((e) => e.event_action), ['resolve'], 'only the resolve by dedup key, a no-op at PagerDuty');
    // The link says what happened (not `pending` for good), with the reason, in the API and the connector's counts.
    const links = (await n.app.request('GET', `/v1/incidents/${incident}/links`, { token: await n.token(acme) })).json.links as Array<{ provider: string; state: string; ref: string | null; failure: string | null }>;
    assert.deepEqual(links.filter((l) => l.provider === 'pagerduty').map((l) => [l.state, l.ref, l.failure]), [['skipped', null, 'the incident was resolved before the page could be sent: nobody was paged']]);
    const status = (await n.app.request('GET', '/v1/notify/status', { token: await n.token(acme) })).json.connectors as Array<{ provider: string; links: { skipped: number } }>;
    assert.ok((status.find((c) => c.provider === 'pagerduty')?.links.skipped ?? 0) >= 1, 'the connector counts its skipped links');
    await until(() => hooks.received('/a', keyOf(incident)).length === 2, 'the webhook (not a pager) got the open and the resolve');
    const audit = (await n.app.request('GET', '/v1/audit?limit=5000', { token: await n.token(acme) })).json.events;
    assert.ok(audit.some((e: { action: string; data: { incident?: string; action?: string } }) => e.action === 'notify.skipped' && e.data.incident === incident && e.data.action === 'open'), 'the skipped page is audited');
  });

  it('a resolve waits for its open; one whose open failed permanently is skipped with the reason; failed list shows the open; retry sends both', async () => {
    jira.server.inject({ kind: 'status', status: 400, body: { errorMessages: [], errors: { summary: 'Field \'summary\' cannot be set.' } }, when: { method: 'POST', path: '/rest/api/3/issue' } });
    const incident = await n.signal(acme, { target: 'sw-9', title: 'Switch down' });
    await patch(acme, incident, 'resolved');
    await until(async () => (await opsOf(acme, 'jira')).some((o) => o.incident_id === incident && o.result === 'skipped'), 'the resolve skipped');
    const ops = (await opsOf(acme, 'jira')).filter((o) => o.incident_id === incident);
    assert.deepEqual(ops.map((o) => [o.action, o.result]), [['open', null], ['resolve', 'skipped']]);
    assert.match(ops[1]!.reason!, /^the open failed permanently: Jira answered 400: summary: Field 'summary' cannot be set\./);
    assert.equal(jiraIssue(incident), undefined);
    const failed = await n.app.request('GET', '/v1/notify/failed', { token: await n.token(acme) });
    const mine = failed.json.failed.filter((f: { incident: string }) => f.incident === incident);
    assert.deepEqual(mine.map((f: { action: string; status: number; provider: string }) => [f.action, f.status, f.provider]), [['open', 400, 'jira']]);
    const audit = (await n.app.request('GET', '/v1/audit?limit=5000', { token: await n.token(acme) })).json.events as Array<{ action: string; data: Record<string, unknown> }>;
    assert.ok(audit.some((e) => e.action === 'notify.parked'), 'the failure is audited');
    assert.ok(audit.some((e) => e.action === 'notify.skipped' && e.data.incident === incident));
    assert.match(await metrics(), /probectl_notify_operations_total\{[^}]*provider="jira"[^}]*outcome="failed"[^}]*\} 1/);
    const status = await n.app.request('GET', '/v1/notify/status', { token: await n.token(acme) });
    const jiraStatus = status.json.connectors.find((x: { provider: string }) => x.provider === 'jira');
    assert.deepEqual([jiraStatus.failed, jiraStatus.skipped_total, jiraStatus.links.failed], [1, 1, 1]);
    // The operator fixed the project; the retry opens the issue and sends the resolve that was skipped.
    const retry = await n.app.request('POST', '/v1/notify/failed/retry', { token: await n.token(acme), body: { connector: jiraStatus.id } });
    assert.deepEqual([retry.status, retry.json.delivered, retry.json.still_failed], [200, 1, 0], retry.text);
    await until(() => jiraIssue(incident)?.status.category.key === 'done', 'the issue opened and then resolved');
    assert.deepEqual((await n.app.request('GET', '/v1/notify/failed', { token: await n.token(acme) })).json.failed.filter((f: { incident: string }) => f.incident === incident), []);
  });

  it('an operator\'s retry against a vendor still failing answers within seconds (503) and leaves the operation failed', async () => {
    hooks.server.inject({ kind: 'status', status: 422, when: { path: '/b' } });
    const incident = await n.signal(acme, { target: 'retry-1', title: 'retry me', severity: 'info' });
    const token = await n.token(acme);
    const failedOf = async () => (await n.app.request('GET', '/v1/notify/failed', { token })).json.failed.filter((f: { incident: string }) => f.incident === incident);
    await until(async () => (await failedOf()).length === 1, 'the open to /b failed');
    for (let i = 0; i < 20; i++) hooks.server.inject({ kind: 'status', status: 503, when: { path: '/b' } });
    const started = Date.now();
    const retry = await n.app.request('POST', '/v1/notify/failed/retry', { token, body: {} });
    assert.deepEqual([retry.status, retry.json.code], [503, 'PROBECTL_ERR_DELIVERY_UNAVAILABLE'], retry.text);
    assert.match(retry.json.message, /^the connector did not accept the operations \(/, 'on-call wording, not the SIEM\'s');
    assert.ok(Date.now() - started < 15_000);
    assert.equal((await failedOf()).length, 1, 'still failed');
    hooks.server.faults.splice(0);
    const again = await n.app.request('POST', '/v1/notify/failed/retry', { token, body: {} });
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(await failedOf(), []);
    assert.equal(hooks.received('/b', keyOf(incident)).length, 1);
  });

  it('401 pauses the connector with an alarm (status, metric, audit); nothing is skipped, and it resumes by itself once accepted', async () => {
    for (let i = 0; i < 200; i++) hooks.server.inject({ kind: 'status', status: 401, when: { path: '/initech' } });
    const incident = await n.signal(initech, { target: 'core-1', title: 'initech core down' });
    let paused: { state: string; paused_reason: string } | undefined;
    await until(async () => {
      const s = await n.app.request('GET', '/v1/notify/status', { token: await n.token(initech) });
      paused = s.json.connectors[0];
      return paused?.state === 'paused';
    }, 'the connector paused');
    assert.match(paused!.paused_reason, /answered 401/);
    assert.match(await metrics(), new RegExp(`probectl_notify_paused\\{tenant="${initech}",stream="webhook-[0-9a-f]{10}"\\} 1`));
    const audit = (await n.app.request('GET', '/v1/audit?limit=1000', { token: await n.token(initech) })).json.events as Array<{ action: string }>;
    assert.ok(audit.some((e) => e.action === 'notify.paused'));
    hooks.server.faults.splice(0);
    await until(() => hooks.received('/initech', keyOf(incident)).length === 1, 'delivered once the receiver accepts');
    await until(async () => (await n.app.request('GET', '/v1/notify/status', { token: await n.token(initech) })).json.connectors[0].state === 'ok', 'resumed');
    assert.deepEqual((await n.app.request('GET', '/v1/notify/failed', { token: await n.token(initech) })).json.failed, [], 'nothing was parked or skipped');
  });

  it('another tenant cannot read or retry a tenant\'s connectors: status and failed are its own, a foreign connector id is not found', async () => {
    const g = await n.app.request('GET', '/v1/notify/status', { token: await n.token(globex) });
    assert.deepEqual(g.json.connectors.map((x: { provider: string }) => x.provider).sort(), ['pagerduty', 'webhook']);
    assert.ok(!g.text.includes(acme));
    const acmeJira = (await n.app.request('GET', '/v1/notify/status', { token: await n.token(acme) })).json.connectors.find((x: { provider: string }) => x.provider === 'jira').id;
    for (const [method, path, body] of [['POST', '/v1/notify/test', { connector: acmeJira }], ['POST', '/v1/notify/failed/retry', { connector: acmeJira }]] as const) {
      const res = await n.app.request(method, path, { token: await n.token(globex), body });
      assert.deepEqual([res.status, res.json.code], [404, 'PROBECTL_ERR_NOT_FOUND'], path);
    }
    assert.equal((await n.app.request('GET', `/v1/notify/status?tenant=${acme}`, { token: await n.token(globex) })).status, 403);
  });
});
