import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { cliAsync } from '../helpers/process.ts';
import { caFile, until } from '../siem/helpers/forwarder.ts';
import { startTestSiem, type TestSiem } from '../siem/servers/test-siem.ts';

/**
 * Operating SIEM export on a running server: status, parked events and their
 * retry, replay — over the API and through the CLI (which reaches the running
 * server over its control socket) — and the ingest token never showing up in
 * any output.
 */
describe('SIEM export operations on a running server', () => {
  let siem: TestSiem;
  let app: TestApp;
  let tenant: string;
  let token: string;
  const SIEM_TOKEN = 'canary-siem-token-7Qx9wZ';

  before(async () => {
    siem = await startTestSiem({ token: SIEM_TOKEN });
    app = await startTestApp({
      PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_PRESET: 'generic', PROBECTL_SIEM_FORMAT: 'cef',
      PROBECTL_SIEM_ENDPOINT: `${siem.url}/ingest`, PROBECTL_SIEM_TOKEN: 'env:SIEM_TOKEN_FOR_TEST', PROBECTL_SIEM_CA_FILE: caFile(siem.caPem),
      PROBECTL_SIEM_POLL_INTERVAL: '100ms', PROBECTL_SIEM_RETRY_BASE: '20ms', PROBECTL_SIEM_RETRY_MAX: '200ms',
      SIEM_TOKEN_FOR_TEST: SIEM_TOKEN,
    });
    tenant = (await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name: 'ops' } })).json.id;
    token = (await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant, permissions: ['admin'], name: 'ops' } })).json.token;
  });
  after(async () => {
    await app?.close();
    await siem?.close();
  });

  const env = () => ({ PROBECTL_DATA_DIR: app.dataDir });

  it('a refused event is parked and visible in status, the API and the CLI', async () => {
    await app.request('POST', '/v1/signals', { token, body: { kind: 'ioc.match', severity: 'warning', confidence: 60, target: '198.51.100.9', title: 'POISON title the SIEM refuses' } });
    await app.request('POST', '/v1/signals', { token, body: { kind: 'ioc.match', severity: 'info', confidence: 10, target: '198.51.100.10', title: 'fine' } });
    await until('parked', async () => (await app.request('GET', '/v1/siem/parked', { token })).json.parked.length === 1);
    const status = await app.request('GET', '/v1/siem/status', { token });
    assert.equal(status.json.endpoint, new URL(siem.url).origin, 'scheme and host only');
    const threat = status.json.streams.find((s: { stream: string }) => s.stream === 'threat');
    assert.deepEqual([threat.cursor, threat.head, threat.parked, threat.delivered_total], [2, 2, 1, 1]);
    const list = await cliAsync(['siem', 'parked', 'list', '--tenant', tenant, '--json'], env());
    assert.equal(list.status, 0, list.stderr);
    const parked = JSON.parse(list.stdout).parked;
    assert.deepEqual(parked.map((p: { stream: string; seq: number; status: number }) => [p.stream, p.seq, p.status]), [['threat', 1, 422]]);
  });

  it('parked retry delivers once the SIEM accepts, and the table empties', async () => {
    siem.rejectPoison = false;
    const retry = await cliAsync(['siem', 'parked', 'retry', '--tenant', tenant], env());
    assert.equal(retry.status, 0, retry.stderr);
    assert.deepEqual(JSON.parse(retry.stdout), { retried: 1, delivered: 1, still_parked: 0 });
    assert.equal((await app.request('GET', '/v1/siem/parked', { token })).json.parked.length, 0);
    assert.ok(siem.accepted.some((r) => r.raw.includes('POISON title')));
  });

  it('replay re-sends a range with the same ids and leaves the cursor alone', async () => {
    const before = siem.accepted.filter((r) => r.tenant === tenant).length;
    const cursorBefore = (await app.request('GET', '/v1/siem/status', { token })).json.streams.find((s: { stream: string }) => s.stream === 'audit').cursor;
    const replay = await cliAsync(['siem', 'replay', '--tenant', tenant, '--from', '1', '--to', '3'], env());
    assert.equal(replay.status, 0, replay.stderr);
    assert.deepEqual(JSON.parse(replay.stdout), { sent: 3, total: 3, rejected: 0 });
    assert.match(replay.stderr, /replay \[.*\] 100% \| 3\/3 events/);
    const auditSeq = (raw: string) => (/cat=audit/.test(raw) ? Number(/cn1=(\d+)/.exec(raw)?.[1]) : undefined);
    const ofTenant = siem.accepted.filter((r) => r.tenant === tenant);
    const firstIds = new Map(ofTenant.slice(0, before).filter((r) => (auditSeq(r.raw) ?? 99) <= 3).map((r) => [auditSeq(r.raw), r.id]));
    const replayed = ofTenant.slice(before).filter((r) => (auditSeq(r.raw) ?? 99) <= 3);
    assert.deepEqual(replayed.map((r) => auditSeq(r.raw)), [1, 2, 3], 'audit seq 1 to 3 were sent again, in order');
    assert.deepEqual(replayed.map((r) => r.id), [1, 2, 3].map((s) => firstIds.get(s)), 'with the ids they had the first time');
    const after = (await app.request('GET', '/v1/siem/status', { token })).json.streams.find((s: { stream: string }) => s.stream === 'audit');
    assert.ok(after.cursor >= cursorBefore, 'the cursor did not move back');
    const bad = await cliAsync(['siem', 'replay', '--tenant', tenant, '--from', '5', '--to', '2'], env());
    assert.equal(bad.status, 2);
  });

  it('the ingest token never appears in logs, API answers, metrics or CLI output', async () => {
    const outputs = [
      app.logs.join('\n'),
      (await app.request('GET', '/v1/siem/status', { token })).text,
      (await app.request('GET', '/metrics', { token: app.adminToken })).text,
      (await app.request('GET', '/v1/secrets/health', { token: app.adminToken })).text,
      (await cliAsync(['siem', 'status', '--tenant', tenant, '--json'], env())).stdout,
      (await cliAsync(['config', 'check'], { ...env(), PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_ENDPOINT: 'https://siem.example/in', PROBECTL_SIEM_TOKEN: SIEM_TOKEN })).stdout,
    ];
    for (const out of outputs) assert.ok(!out.includes(SIEM_TOKEN), 'token leaked');
    assert.ok(siem.requests.every((r) => !r.path.includes(SIEM_TOKEN)), 'never in a URL');
    assert.ok(siem.requests.some((r) => r.authorization === `Bearer ${SIEM_TOKEN}`), 'it is the Authorization header, and only there');
  });
});
