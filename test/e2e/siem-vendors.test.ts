import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DCR_COLUMNS } from '../../src/siem/formatters/dcr.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { testCa } from '../helpers/tls.ts';
import { startEntra, type EntraServer } from '../secrets/servers/entra.ts';
import { startGoogleOAuth, type GoogleOAuthServer } from '../secrets/servers/google-oauth.ts';
import { caFile, until } from '../siem/helpers/forwarder.ts';
import { startChronicle, type ChronicleServer } from '../siem/servers/chronicle.ts';
import { startDcr, type DcrServer } from '../siem/servers/azure-dcr.ts';

type Stream = { stream: string; cursor: number; head: number; paused: boolean; paused_reason: string | null; last_error: string | null };

async function tenantAndToken(app: TestApp, name: string): Promise<{ tenant: string; token: string }> {
  const tenant = (await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name } })).json.id as string;
  const token = (await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant, permissions: ['admin'], name } })).json.token as string;
  return { tenant, token };
}

/**
 * A running server exporting to the vendors' APIs, configured only through
 * PROBECTL_SIEM_* variables with the credentials as secret references: what a
 * tenant does through the API arrives, the status shows a pause and its end,
 * and no credential (client secret, tokens, key material) appears in the
 * logs, the status or the metrics.
 */
describe('SIEM export to Sentinel through a running server', () => {
  let entra: EntraServer;
  let dcr: DcrServer;
  let app: TestApp;

  before(async () => {
    entra = await startEntra();
    dcr = await startDcr({ entra, columns: DCR_COLUMNS.map((c) => ({ name: c.name, type: c.type })) });
    app = await startTestApp({
      PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_PRESET: 'sentinel', PROBECTL_SIEM_ENDPOINT: dcr.streamUrl,
      PROBECTL_SIEM_AZURE_TENANT_ID: entra.tenantId, PROBECTL_SIEM_AZURE_CLIENT_ID: entra.clientId, PROBECTL_SIEM_AZURE_AUTHORITY_HOST: entra.authorityHost,
      PROBECTL_SIEM_TOKEN: 'env:SENTINEL_CLIENT_SECRET_FOR_TEST', SENTINEL_CLIENT_SECRET_FOR_TEST: entra.secret,
      PROBECTL_SIEM_CA_FILE: caFile((await testCa()).certPem),
      PROBECTL_SIEM_POLL_INTERVAL: '100ms', PROBECTL_SIEM_RETRY_BASE: '20ms', PROBECTL_SIEM_RETRY_MAX: '200ms',
    });
  });
  after(async () => {
    await app?.close();
    await dcr?.close();
    await entra?.close();
  });

  it('signals and audit records arrive as DCR records; a 401 pauses the stream visibly, and it resumes; no secret anywhere', async () => {
    const { tenant, token } = await tenantAndToken(app, 'sentinel-e2e');
    // A 401 to a cached token sends the request again with a fresh one (sendWithBearer); a 401 to that fresh
    // token pauses. Two streams (audit, threat) may each meet a first 401 at once: four make sure a fresh token meets one.
    dcr.faults.push({ status: 401 }, { status: 401 }, { status: 401 }, { status: 401 });
    await app.request('POST', '/v1/signals', { token, body: { kind: 'ioc.match', severity: 'warning', confidence: 80, target: '198.51.100.7', title: 'matches a feed' } });
    await until('the signal arrived', () => dcr.accepted.some((r) => r.Tenant === tenant && r.Category === 'threat'), 30_000);
    const threat = dcr.accepted.find((r) => r.Tenant === tenant && r.Category === 'threat')!;
    assert.deepEqual([threat.Kind, threat.Target, threat.Confidence, threat.Severity], ['ioc.match', '198.51.100.7', 80, 'warning']);
    await until('audit records arrived', () => dcr.accepted.some((r) => r.Tenant === tenant && r.Category === 'audit'), 30_000);
    const status = (await app.request('GET', '/v1/siem/status', { token })).json as { preset: string; format: string; endpoint: string; streams: Stream[] };
    assert.deepEqual([status.preset, status.format, status.endpoint], ['sentinel', 'dcr', dcr.origin]);
    await until('caught up', async () => ((await app.request('GET', '/v1/siem/status', { token })).json.streams as Stream[]).every((s) => s.cursor === s.head && !s.paused), 30_000);
    const paused = app.logs.filter((l) => l.includes('SIEM export paused'));
    assert.ok(paused.some((l) => l.includes('HTTP 401')), 'the pause was logged');
    assert.ok(app.logs.some((l) => l.includes('SIEM export resumed')));
    const metrics = (await app.request('GET', '/metrics', { token: app.adminToken })).text;
    const everything = [app.logs.join('\n'), JSON.stringify(status), metrics].join('\n');
    for (const secret of [entra.secret, ...entra.issued]) assert.ok(!everything.includes(secret), 'a credential leaked into logs, status or metrics');
  });
});

describe('SIEM export to Google SecOps through a running server', () => {
  let oauth: GoogleOAuthServer;
  let chronicle: ChronicleServer;
  let app: TestApp;
  const API_KEY = 'AIzaSy-e2e-PLANTED-api-key';
  const WEBHOOK_SECRET = 'e2e-PLANTED-webhook-secret';

  before(async () => {
    oauth = await startGoogleOAuth();
    chronicle = await startChronicle({ oauth, apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET });
    app = await startTestApp({
      PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_PRESET: 'chronicle', PROBECTL_SIEM_ENDPOINT: chronicle.eventsUrl,
      PROBECTL_SIEM_GCP_CREDENTIALS_FILE: oauth.keyFile(), PROBECTL_SIEM_CA_FILE: caFile((await testCa()).certPem),
      PROBECTL_SIEM_POLL_INTERVAL: '100ms', PROBECTL_SIEM_RETRY_BASE: '20ms', PROBECTL_SIEM_RETRY_MAX: '200ms',
    });
  });
  after(async () => {
    await app?.close();
    await chronicle?.close();
    await oauth?.close();
  });

  it('events:import receives valid UDM events of the tenant through 429 and 5xx; no token or key material in logs', async () => {
    const { tenant, token } = await tenantAndToken(app, 'secops-e2e');
    chronicle.faults.push({ status: 429, retryAfter: '1' }, { status: 503 });
    await app.request('POST', '/v1/signals', { token, body: { kind: 'tls.expired', severity: 'critical', confidence: 100, target: 'portal.example.com:443', title: 'certificate expired' } });
    const mine = () => (chronicle.events as Array<{ metadata: { event_type: string }; target: Record<string, unknown>; additional: { probectl_tenant: string; probectl_category: string } }>).filter((u) => u.additional.probectl_tenant === tenant);
    await until('the signal arrived', () => mine().some((u) => u.additional.probectl_category === 'threat'), 30_000);
    const scan = mine().find((u) => u.additional.probectl_category === 'threat')!;
    assert.deepEqual([scan.metadata.event_type, scan.target], ['SCAN_HOST', { hostname: 'portal.example.com', port: 443 }]);
    assert.equal(chronicle.faults.length, 0, 'the faults were met and retried');
    const status = (await app.request('GET', '/v1/siem/status', { token })).json as { format: string };
    assert.equal(status.format, 'udm');
    const logs = app.logs.join('\n');
    for (const secret of [...oauth.issued, oauth.privateKeyPem.split('\n')[1]!]) assert.ok(!logs.includes(secret));
  });
});
