import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isProbectlError } from '../../src/core/errors.ts';
import { startTestApp } from '../helpers/app.ts';
import { Jira } from './servers/jira.ts';
import { pemFile, prepareDataDir, sleep, startNotifyApp, until } from './helpers.ts';

const SITE_A_SECRET = 'site-a-inbound-secret-31c7';
const SITE_B_SECRET = 'site-b-inbound-secret-94e0';

/**
 * An inbound credential speaks for the connectors it is bound to (docs/oncall.md
 * "Inbound webhooks"): with two Jira sites of one tenant whose issue keys overlap,
 * site B's webhook naming SEC-1 is site B's SEC-1, never site A's.
 */
describe('inbound webhooks: a credential matches only its own connectors\' links', () => {
  it('two Jira sites with overlapping issue keys: site B\'s delivery changes only the incident linked on site B; a key only site A has is a no-op for it', async (t) => {
    const siteA = await Jira.start({ mode: 'cloud', projects: [{ key: 'SEC' }] });
    t.after(() => siteA.close());
    const siteB = await Jira.start({ mode: 'cloud', projects: [{ key: 'SEC' }] });
    t.after(() => siteB.close());
    const n = await startNotifyApp(t, ['acme'], (ids, dir) => ({
      PROBECTL_NOTIFY_CONNECTORS: [
        // Site A takes warnings and up, site B critical only: a warning is mirrored to site A alone.
        `${ids.acme}|jira|${siteA.url}/rest/api/3/issue?project=SEC&resolve_transition=31&min_severity=warning&connector_name=site-a|${siteA.user.user}:${siteA.user.secret}`,
        `${ids.acme}|jira|${siteB.url}/rest/api/3/issue?project=SEC&resolve_transition=31&min_severity=critical&connector_name=site-b|${siteB.user.user}:${siteB.user.secret}`,
      ].join(','),
      PROBECTL_NOTIFY_INBOUND: `ja:${ids.acme}:jira@site-a:${SITE_A_SECRET},jb:${ids.acme}:jira@site-b:${SITE_B_SECRET}`,
      PROBECTL_NOTIFY_CA_FILE: pemFile(dir, siteA.server.caPem),
    }));
    const tenant = n.tenants.acme as string;
    const token = await n.token(tenant);
    const status = async (incident: string) => (await n.app.request('GET', `/v1/incidents/${incident}`, { token })).json.status as string;
    const linkRows = async () => n.rows<{ connector: string; incident_id: string; status: string; ref_id: string }>(tenant, 'SELECT connector, incident_id, status, ref_id FROM notify_links ORDER BY incident_id, connector');
    const post = async (id: string, secret: string, body: unknown) => {
      const res = await n.app.request('POST', `/ingest/itsm/jira/${id}`, { rawBody: JSON.stringify(body), headers: { 'content-type': 'application/json', 'x-probectl-token': secret } });
      return { status: res.status, json: res.json };
    };

    // Y (a warning) opens SEC-1 on site A only; X (critical) then opens SEC-2 on site A and SEC-1 on site B.
    const y = await n.signal(tenant, { severity: 'warning', target: 'edge-1:ge-0/0/1', title: 'Y' });
    await until(() => siteA.withLabel(`probectl-${y}`).length === 1, 'Y on site A');
    const x = await n.signal(tenant, { severity: 'critical', target: 'edge-2:ge-0/0/2', title: 'X' });
    await until(() => siteA.withLabel(`probectl-${x}`).length === 1 && siteB.withLabel(`probectl-${x}`).length === 1, 'X on both sites');
    await until(async () => (await n.rows(tenant, "SELECT 1 FROM notify_links WHERE state = 'open'")).length === 3, 'the three links open');
    assert.equal(siteA.withLabel(`probectl-${y}`)[0]?.key, 'SEC-1');
    assert.equal(siteA.withLabel(`probectl-${x}`)[0]?.key, 'SEC-2');
    assert.equal(siteB.withLabel(`probectl-${x}`)[0]?.key, 'SEC-1', 'site B\'s SEC-1 is X, site A\'s SEC-1 is Y');
    assert.equal(siteB.withLabel(`probectl-${y}`).length, 0);
    const linksBefore = await linkRows();

    // SEC-2 exists on site A only: site B's credential finds nothing — a no-op, audited as an unknown ref.
    const miss = await post('jb', SITE_B_SECRET, { external_ref: 'SEC-2', status: 'acknowledged' });
    assert.deepEqual([miss.status, miss.json], [200, { result: 'unknown_ref' }]);
    assert.deepEqual([await status(x), await status(y)], ['open', 'open']);
    assert.deepEqual(await linkRows(), linksBefore, 'no link changed');
    const audit = (await n.app.request('GET', '/v1/audit?limit=1000', { token })).json.events as Array<{ action: string; actor: string; outcome: string; data: Record<string, unknown> }>;
    const noop = audit.find((e) => e.action === 'notify.inbound.noop' && e.actor === 'inbound:jb');
    assert.deepEqual([noop?.outcome, noop?.data.result, noop?.data.ref], ['failure', 'unknown_ref', 'SEC-2']);
    assert.ok(!audit.some((e) => e.action.startsWith('incident.') && e.actor === 'inbound:jb'), 'no incident changed by jb');

    // SEC-1 through site B's credential is X (site B's SEC-1), never Y (site A's SEC-1).
    const hit = await post('jb', SITE_B_SECRET, { external_ref: 'SEC-1', status: 'resolved' });
    assert.deepEqual([hit.status, hit.json], [200, { result: 'applied', incident: x, status: 'resolved' }]);
    assert.deepEqual([await status(x), await status(y)], ['resolved', 'open']);
    // X's other link (site A's SEC-2) is resolved by its connector; nothing goes back to site B's SEC-1.
    await until(() => siteA.issue('SEC-2')?.status.category.key === 'done', 'site A\'s SEC-2 resolved through its connector');
    assert.equal(siteA.issue('SEC-1')?.status.category.key, 'new', 'site A\'s SEC-1 (Y) untouched');
    await sleep(300);
    assert.deepEqual(siteB.apiTransitions('SEC-1'), [], 'nothing sent back to site B');

    // And site A's credential naming SEC-1 is Y.
    const a = await post('ja', SITE_A_SECRET, { external_ref: 'SEC-1', status: 'acknowledged' });
    assert.deepEqual([a.status, a.json], [200, { result: 'applied', incident: y, status: 'acknowledged' }]);
    assert.deepEqual([await status(x), await status(y)], ['resolved', 'acknowledged']);
  });

  it('two Jira connectors of one tenant and an inbound entry naming neither: startup is refused, naming the entry by id, never its secret', async (t) => {
    const { dataDir, tenants, env } = await prepareDataDir(t, ['acme']);
    const acme = tenants.acme as string;
    const err = await startTestApp({
      PROBECTL_DATA_DIR: dataDir, ...env,
      PROBECTL_NOTIFY_CONNECTORS: [
        `${acme}|jira|https://a.atlassian.net/rest/api/3/issue?project=SEC&connector_name=site-a|bot@acme.example:cnry-jira-token-a`,
        `${acme}|jira|https://b.atlassian.net/rest/api/3/issue?project=SEC&connector_name=site-b|bot@acme.example:cnry-jira-token-b`,
      ].join(','),
      PROBECTL_NOTIFY_INBOUND: `jira1:${acme}:jira:cnry-inbound-secret-5e`,
    }).then((app) => app.close().then(() => assert.fail('startup was not refused')), (e: unknown) => e);
    assert.ok(isProbectlError(err, 'PROBECTL_ERR_CONFIG_INVALID'), String(err));
    assert.match(err.message, new RegExp(`PROBECTL_NOTIFY_INBOUND: entry 1 "jira1" \\(jira\\): tenant ${acme} has 2 jira connectors \\(jira-[0-9a-f]{10} "site-[ab]", jira-[0-9a-f]{10} "site-[ab]"\\): name the one\\(s\\) this credential speaks for`));
    assert.ok(!/cnry-/.test(err.message), `no secret in the message: ${err.message}`);
  });
});
