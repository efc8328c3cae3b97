import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { appendAudit, pageAudit } from '../../src/audit/log.ts';
import { systemClock } from '../../src/core/clock.ts';
import { cursorRows, listParked } from '../../src/delivery/ledger.ts';
import { inTenant } from '../../src/store/scope.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';
import { makeTenants } from '../helpers/tenants.ts';
import { caFile, startForwarder, until, type TestForwarder } from './helpers/forwarder.ts';
import { startTestSiem, type TestSiem } from './servers/test-siem.ts';

async function audit(t: TestDb, tenant: string, n: number): Promise<void> {
  await inTenant(t.db, tenant, async (tx) => {
    for (let i = 0; i < n; i++) await appendAudit(tx, systemClock, { actor: 'token:t', action: 'config.change', target: `obj:${i}`, outcome: 'success', data: { i } });
  });
}

/** Receivers that misbehave as a whole rather than refusing one event. */
describe(`SIEM delivery against hostile or misconfigured receivers (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  let siem: TestSiem;
  let fwd: TestForwarder | undefined;
  const token = 'hec-token-0f3b9d2e7a41c8';

  beforeEach(async () => {
    t = await openTestDb();
  });
  afterEach(async () => {
    await fwd?.engine.stop();
    fwd = undefined;
    await siem?.close();
    await t.close();
  });

  it('a receiver that echoes the token it refused: the token is in no parked answer, reason, log line or audit record', async () => {
    siem = await startTestSiem({ token });
    const [tenant] = await makeTenants(t.db, 'echo');
    await audit(t, tenant!, 3);
    const echo = { kind: 'status' as const, status: 400, body: JSON.stringify({ text: `Invalid data format for Splunk ${token}`, code: 6, 'invalid-event-number': 0 }) };
    siem.faults.push(echo, echo, echo);
    fwd = startForwarder(t.db, { PROBECTL_SIEM_CA_FILE: caFile(siem.caPem), PROBECTL_SIEM_TOKEN: token, PROBECTL_SIEM_PRESET: 'splunk', PROBECTL_SIEM_FORMAT: 'ecs', PROBECTL_SIEM_ENDPOINT: `${siem.url}/services/collector/event`, PROBECTL_SIEM_STREAMS: 'audit' }, { token });
    await until('parked', async () => (await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 10))).length > 0);
    await until('the rest delivered', () => siem.faults.length === 0 && siem.accepted.length > 0);
    const parked = await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 10));
    const auditText = JSON.stringify(await inTenant(t.db, tenant!, (tx) => pageAudit(tx, 0, 100)));
    for (const [where, text] of [['parked rows', JSON.stringify(parked)], ['audit log', auditText], ['log', fwd.logs.join('\n')]] as const) {
      assert.ok(!text.includes(token), `${where} holds the token`);
    }
    assert.match(parked[0]!.response, /Invalid data format for \[redacted\]/, 'the rest of the answer is kept for the operator');
  });

  it('an endpoint answering 404, 405 or a redirect pauses the stream with an alarm; no event is parked or skipped', async () => {
    for (const fault of [undefined, { kind: 'status' as const, status: 405, body: 'Method Not Allowed' }, { kind: 'status' as const, status: 301, body: '' }]) {
      siem = await startTestSiem({ token });
      const [tenant] = await makeTenants(t.db, `wrong-${fault?.status ?? 404}`);
      await audit(t, tenant!, 20);
      for (let i = 0; i < 1000 && fault; i++) siem.faults.push(fault);
      // Without a fault the test SIEM answers 404 to a path it does not serve.
      fwd = startForwarder(t.db, { PROBECTL_SIEM_CA_FILE: caFile(siem.caPem), PROBECTL_SIEM_TOKEN: token, PROBECTL_SIEM_ENDPOINT: `${siem.url}${fault ? '/ingest' : '/wrong-path'}`, PROBECTL_SIEM_STREAMS: 'audit', PROBECTL_SIEM_BATCH_SIZE: '5' }, { token });
      await until('paused', () => fwd!.engine.liveStates().some((s) => s.tenant === tenant && s.paused));
      await new Promise((r) => setTimeout(r, 500));
      const what = `HTTP ${fault?.status ?? 404}`;
      assert.deepEqual(await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 100)), [], `${what}: nothing parked`);
      assert.equal((await inTenant(t.db, tenant!, (tx) => cursorRows(tx, 'siem')))[0]?.cursor ?? 0, 0, `${what}: the cursor did not move`);
      assert.match(fwd.engine.liveStates().find((s) => s.tenant === tenant)!.pausedReason ?? '', new RegExp(what));
      await fwd.engine.stop();
      fwd = undefined;
      await siem.close();
    }
  });

  it('a receiver refusing every event: parked, but the parking alarms do not feed on themselves', async () => {
    siem = await startTestSiem({ token });
    const [tenant] = await makeTenants(t.db, 'refuse-all');
    await audit(t, tenant!, 3);
    // Every request is refused as a bad event (a schema the receiver no longer accepts, say): each event is parked,
    // and each parking appends a siem.parked audit record to the same stream, which is refused and parked in turn.
    for (let i = 0; i < 5000; i++) siem.faults.push({ kind: 'status', status: 400, body: '{"error":"schema mismatch"}' });
    fwd = startForwarder(t.db, { PROBECTL_SIEM_CA_FILE: caFile(siem.caPem), PROBECTL_SIEM_TOKEN: token, PROBECTL_SIEM_ENDPOINT: `${siem.url}/ingest`, PROBECTL_SIEM_STREAMS: 'audit' }, { token });
    await until('the seeded events parked', async () => (await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 100))).length >= 3);
    await new Promise((r) => setTimeout(r, 3000));
    const log = await inTenant(t.db, tenant!, (tx) => pageAudit(tx, 0, 1000));
    const alarms = log.filter((e) => e.action === 'siem.parked');
    assert.ok(alarms.length >= 1, 'parking is audited');
    assert.ok(alarms.length <= 2, `${alarms.length} siem.parked records in 3 s: each alarm was parked and raised another`);
    assert.ok(siem.requests.length < 100, `${siem.requests.length} requests in 3 s for 3 refused events`);
  });

  it('Elastic _bulk answering 200 with every item refused 403 (an API key without create_doc): paused, retried, nothing parked', async () => {
    siem = await startTestSiem({ token });
    const [tenant] = await makeTenants(t.db, 'bulk-403');
    await audit(t, tenant!, 10);
    for (let i = 0; i < 10; i++) siem.faults.push({ kind: 'bulk-unauthorized' });
    fwd = startForwarder(t.db, { PROBECTL_SIEM_CA_FILE: caFile(siem.caPem), PROBECTL_SIEM_TOKEN: token, PROBECTL_SIEM_PRESET: 'elastic', PROBECTL_SIEM_ENDPOINT: `${siem.url}/logs-probectl-default/_bulk`, PROBECTL_SIEM_STREAMS: 'audit' }, { token });
    const paused: string[] = [];
    await until('every event indexed once the key is fixed', async () => {
      const s = fwd!.engine.liveStates().find((x) => x.tenant === tenant);
      if (s?.paused) paused.push(s.pausedReason ?? '');
      return siem.counts().size >= 10;
    });
    assert.equal(siem.faults.length, 0, 'the refusals were met');
    assert.match(paused[0] ?? '', /403 security_exception/, 'the stream paused with the reason while the key was refused');
    assert.deepEqual(await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 100)), [], 'nothing parked');
  });

  it('Elastic _bulk storing some items and answering one 403: the stream pauses with the reason while that one is retried; each event indexed once', async () => {
    siem = await startTestSiem({ token });
    const [tenant] = await makeTenants(t.db, 'bulk-item-403');
    await audit(t, tenant!, 10);
    siem.faults.push({ kind: 'bulk-item-403' });
    fwd = startForwarder(t.db, { PROBECTL_SIEM_CA_FILE: caFile(siem.caPem), PROBECTL_SIEM_TOKEN: token, PROBECTL_SIEM_PRESET: 'elastic', PROBECTL_SIEM_ENDPOINT: `${siem.url}/logs-probectl-default/_bulk`, PROBECTL_SIEM_STREAMS: 'audit' }, { token });
    await until('every event indexed once the privilege is back', async () => siem.counts().size >= 10 && siem.faults.length === 0);
    // The pause lasts until the retry of the one item gets through (tens of ms): its alarm, the log line, is what stays.
    await until('the pause logged', () => fwd!.logs.some((l) => l.includes('SIEM export paused')), 5_000);
    const paused = fwd.logs.filter((l) => l.includes('SIEM export paused'));
    assert.match(paused[0] ?? '', /403 security_exception/, 'the stream paused with the reason while an item was refused');
    assert.ok([...siem.counts().values()].every((n) => n === 1), 'each event indexed once');
    assert.deepEqual(await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 100)), [], 'nothing parked');
  });
});
