/**
 * `npm run demo -- --oncall`: probectl on the embedded database with on-call
 * mirroring to local PagerDuty and Jira Cloud stand-ins (the strict vendor
 * test servers of test/notify/servers): a new incident pages and opens a
 * ticket, follow-ups are coalesced into one comment and never re-page, and
 * resolving the issue in Jira (its signed webhook) resolves the incident and
 * the page — nothing is sent back to Jira. Well under a minute; everything
 * lives in a temporary directory, removed on every way out.
 */
import { appendAudit } from '../src/audit/log.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../src/core/clock.ts';
import { bootstrap } from '../src/identity/bootstrap.ts';
import { insertTenant } from '../src/identity/tenants.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPglite } from '../src/store/pglite.ts';
import { inSystem } from '../src/store/scope.ts';
import { startVendors } from '../test/notify/servers/vendors.ts';
import { bold, dim, runInTempDir, startDemoService } from './demo-run.ts';

const USAGE = 'usage: npm run demo -- --oncall';
const extra = process.argv.slice(2).filter((a) => a !== '--oncall');
if (extra.length > 0) {
  process.stderr.write(`probectl demo: ${JSON.stringify(extra[0])} is not an option of the on-call demo [PROBECTL_ERR_CLI_USAGE]\n${USAGE}\n`);
  process.exit(2);
}

const JIRA_WEBHOOK_SECRET = 'demo-jira-webhook-secret';
const INTERVAL = '3s';

const say = (s: string) => process.stdout.write(`\n${dim('probectl ▸')} ${s}\n`);
const show = (who: string, s: string) => process.stdout.write(`  ${bold(who)} ${s}\n`);

/** Waits (polling every 50 ms, at most 20 s) until `done` holds. */
async function until(done: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 20_000;
  while (!done()) {
    if (Date.now() > end) throw new Error(`${what}: not seen within 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

await runInTempDir('probectl-demo-oncall-', runDemo);

async function runDemo(dir: string, onClose: (close: () => unknown) => void): Promise<void> {
  const started = Date.now();
  const v = await startVendors();
  onClose(() => v.close());
  const { pagerduty: pd, jira } = v;
  writeFileSync(join(dir, 'vendors-ca.pem'), v.caPem);

  // Connectors name existing tenants: create "acme" in the embedded database before the server starts.
  const db = await openPglite(join(dir, 'pglite'));
  let acme: string;
  try {
    await migrate(db);
    await bootstrap(db, systemClock, { tenantName: 'default', adminTokenPath: join(dir, 'admin-token'), audit: appendAudit });
    acme = await inSystem(db, async (tx) => (await insertTenant(tx, 'acme')).id);
  } finally {
    await db.close();
  }

  process.stdout.write(`${bold('probectl demo')}: on-call mirroring for tenant acme to PagerDuty (${pd.enqueueUrl}) and Jira Cloud (${jira.url}/rest/api/3)\n${dim(`local vendor stand-ins; data directory ${dir}`)}\n`);
  const env = {
    PROBECTL_DATA_DIR: dir, PROBECTL_LISTEN: '127.0.0.1:0', PROBECTL_LOG_LEVEL: 'warn',
    PROBECTL_NOTIFY_CONNECTORS: `${acme}|pagerduty|${pd.enqueueUrl}|${pd.routingKey},${acme}|jira|${jira.url}/rest/api/3/issue?project=OPS&resolve_transition=31|${jira.user.user}:${jira.user.secret}`,
    PROBECTL_NOTIFY_INBOUND: `jira1:${acme}:jira:${JIRA_WEBHOOK_SECRET}`,
    PROBECTL_NOTIFY_CA_FILE: join(dir, 'vendors-ca.pem'),
    PROBECTL_NOTIFY_UPDATE_INTERVAL: INTERVAL,
  };
  const { url, serverCa, api } = await startDemoService(dir, env, onClose);
  const sensor = (await api('POST', '/v1/tokens', { tenant: acme, permissions: ['signals-write', 'incidents-read', 'admin'], name: 'sensor' })).json.token as string;
  const link = { kind: 'link.down', confidence: 95, target: 'core-sw-1:ge-0/0/7', title: 'uplink ge-0/0/7 down on core-sw-1' };

  say('a sensor reports a critical link failure: a new incident');
  const incident = (await api('POST', '/v1/signals', { ...link, severity: 'critical' }, sensor)).json.signals[0].incident_id as string;
  const key = `probectl-${incident}`;
  await until(() => pd.incident(key) !== undefined, 'the page');
  const page = pd.incident(key)!;
  show('PagerDuty ←', `trigger, dedup_key ${key}: "${page.summary}" (${page.severity}) — incident ${page.id} paged`);
  await until(() => jira.withLabel(key).length === 1, 'the ticket');
  const issue = jira.withLabel(key)[0]!;
  show('Jira ←', `issue ${issue.key} created in OPS: "${issue.summary}", labelled ${key}`);

  say(`two follow-up signals on the same link (correlated into the incident; updates coalesced per ${INTERVAL})`);
  await api('POST', '/v1/signals', { ...link, severity: 'critical', title: 'uplink ge-0/0/7 flapping' }, sensor);
  await api('POST', '/v1/signals', { ...link, severity: 'critical', title: 'uplink ge-0/0/7 still down' }, sensor);
  await until(() => issue.comments.length === 1, 'the coalesced comment');
  const comment = (issue.comments[0]!.body as { content: Array<{ content: Array<{ text: string }> }> }).content.map((p) => p.content.map((t) => t.text).join('')).join(' ');
  show('Jira ←', `comment on ${issue.key}: "${comment}"`);
  show('PagerDuty', `no re-page: ${pd.triggers(key)} trigger for ${key}`);

  say(`the engineer fixes the link and moves ${issue.key} to Done in Jira; Jira's webhook (signed X-Hub-Signature) reaches probectl`);
  const commentsBefore = issue.comments.length;
  const before = jira.transitionFromUi(issue.key, 'Done');
  const delivery = await jira.emitIssueUpdated(`${url}/ingest/itsm/jira/jira1`, { key: issue.key, from: before, secret: JIRA_WEBHOOK_SECRET, ca: serverCa });
  show('probectl ←', `Jira webhook: ${delivery.status} ${delivery.text}`);
  const now = (await api('GET', `/v1/incidents/${incident}`, undefined, sensor)).json as { status: string; signal_count: number };
  show('probectl', `incident ${incident}: ${now.status} (${now.signal_count} signals), audited as actor inbound:jira1`);
  await until(() => pd.incident(key)?.status === 'resolved', 'the page resolved');
  show('PagerDuty ←', `resolve, dedup_key ${key} — incident ${page.id} ${pd.incident(key)!.status}`);
  await new Promise((r) => setTimeout(r, 500));
  show('Jira', `no echo: ${jira.apiTransitions(issue.key).length} transitions and ${issue.comments.length - commentsBefore} comments sent to ${issue.key} after its webhook`);

  const status = (await api('GET', `/v1/notify/status?tenant=${acme}`)).json as { connectors: Array<{ id: string; provider: string; state: string; delivered_total: number; failed: number }> };
  say('probectl notify status');
  for (const c of status.connectors) process.stdout.write(`  ${c.id.padEnd(22)} ${c.provider.padEnd(9)} ${c.state}  ${c.delivered_total} operations delivered, ${c.failed} failed\n`);
  process.stdout.write(`\n${dim(`done in ${((Date.now() - started) / 1000).toFixed(1)} s — docs/oncall.md has the setup for each vendor`)}\n`);
}
