import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Jira } from './servers/jira.ts';
import { startVendors } from './servers/vendors.ts';
import { pemFile, startNotifyApp, until } from './helpers.ts';

/**
 * A vendor whose success answers carry a reference probectl cannot store (a
 * NUL, a ten-kilobyte key): the open is marked failed with the reason — like
 * any answer it cannot use — instead of failing the commit and being retried
 * forever, which stalled the connector's whole stream (every later incident
 * waited behind it, and the vendor was asked again and again).
 */
describe('on-call mirror against a vendor answering unusable references', () => {
  it('the open fails visibly with the reason; the connector goes on with the next incident', async (t) => {
    const jira = await Jira.start({ mode: 'cloud' });
    t.after(() => jira.close());
    const n = await startNotifyApp(t, ['acme'], (ids, dir) => ({
      PROBECTL_NOTIFY_CONNECTORS: `${ids.acme}|jira|${jira.url}/rest/api/3/issue?project=OPS|${jira.user.user}:${jira.user.secret}`,
      PROBECTL_NOTIFY_CA_FILE: pemFile(dir, jira.server.caPem),
      PROBECTL_NOTIFY_RETRY_BASE: '50ms',
      PROBECTL_NOTIFY_RETRY_MAX: '200ms',
    }));
    const acme = n.tenants.acme as string;
    const token = await n.token(acme);
    for (const [what, key] of [['a NUL', 'OPS-1\u0000'], ['a 16 kB key (more than an index entry holds)', `OPS-${randomBytes(12_000).toString('base64url')}`]] as const) {
      jira.server.faults.length = 0;
      for (let i = 0; i < 200; i++) jira.server.inject({ kind: 'status', status: 201, body: { id: '10001', key, self: `${jira.url}/rest/api/3/issue/10001` }, when: { method: 'POST', path: '/rest/api/3/issue' } });
      const bad = await n.signal(acme, { target: `bad-${what}`, title: `bad ${what}` });
      await until(async () => (await n.app.request('GET', '/v1/notify/failed', { token })).json.failed.some((f: { incident: string }) => f.incident === bad), `${what}: the open marked failed`, 20_000);
      const failed = (await n.app.request('GET', '/v1/notify/failed', { token })).json.failed.find((f: { incident: string }) => f.incident === bad);
      assert.match(failed.reason, /unusable reference/, what);
      assert.ok(!failed.reason.includes(key.slice(4, 40)), `${what}: the reference is not quoted`);
      jira.server.faults.length = 0;
      const good = await n.signal(acme, { target: `good-${what}`, title: `good ${what}` });
      await until(() => jira.withLabel(`probectl-${good}`).length === 1, `${what}: the next incident is ticketed`, 20_000);
      await until(async () => (await n.rows(acme, "SELECT 1 FROM notify_links WHERE incident_id = $1 AND state = 'open'", [good])).length === 1, `${what}: and recorded`);
    }
  });

  it('refusals whose message holds a NUL or a lone surrogate: each open is marked failed with a readable reason, and every connector goes on', async (t) => {
    const v = await startVendors();
    t.after(() => v.close());
    const n = await startNotifyApp(t, ['acme'], (ids, dir) => ({
      PROBECTL_NOTIFY_CONNECTORS: [
        `${ids.acme}|opsgenie|${v.opsgenie.opsgenieUrl}?min_severity=info|${v.opsgenie.apiKey}`,
        `${ids.acme}|teams|${v.teams.url}`,
        `${ids.acme}|servicenow|${v.servicenow.tableUrl}|${v.servicenow.user.user}:${v.servicenow.user.password}`,
        `${ids.acme}|jira|${v.jira.url}/rest/api/3/issue?project=OPS|${v.jira.user.user}:${v.jira.user.secret}`,
      ].join(','),
      PROBECTL_NOTIFY_CA_FILE: pemFile(dir, v.caPem),
      PROBECTL_NOTIFY_RETRY_BASE: '50ms',
      PROBECTL_NOTIFY_RETRY_MAX: '200ms',
    }));
    const acme = n.tenants.acme as string;
    const token = await n.token(acme);
    const said = 'bad\u0000value \ud800 here';
    const refuse = { kind: 'status' as const, status: 400 };
    v.opsgenie.server.inject({ ...refuse, body: { message: said, errors: { message: said }, took: 0.001, requestId: 'r-1' }, when: { method: 'POST', path: '/v2/alerts' } });
    v.teams.server.inject({ ...refuse, body: { error: { code: said, message: said } } });
    v.servicenow.server.inject({ ...refuse, body: { error: { message: said, detail: said }, status: 'failure' }, when: { method: 'POST' } });
    v.jira.server.inject({ ...refuse, body: { errorMessages: [said], errors: { summary: said } }, when: { method: 'POST', path: '/rest/api/3/issue' } });
    const bad = await n.signal(acme, { target: 'bad-text', title: 'refused with hostile text' });
    await until(async () => (await n.app.request('GET', '/v1/notify/failed', { token })).json.failed.filter((f: { incident: string }) => f.incident === bad).length === 4, 'the open failed on all four', 20_000);
    for (const f of (await n.app.request('GET', '/v1/notify/failed', { token })).json.failed as Array<{ incident: string; provider: string; reason: string }>) {
      if (f.incident !== bad) continue;
      assert.ok(!/[\u0000-\u001f]/.test(f.reason) && f.reason.isWellFormed(), `${f.provider}: ${JSON.stringify(f.reason)}`);
      assert.match(f.reason, /bad.value/, `${f.provider}: the vendor's message is kept`);
    }
    const good = await n.signal(acme, { target: 'good-text', title: 'accepted' });
    await until(async () => (await n.rows(acme, "SELECT 1 FROM notify_links WHERE incident_id = $1 AND state = 'open'", [good])).length === 4, 'the next incident opened on all four', 20_000);
  });
});
