import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Jira } from './servers/jira.ts';
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
});
