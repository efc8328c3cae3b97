import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { appendAudit, pageAudit } from '../../src/audit/log.ts';
import { systemClock } from '../../src/core/clock.ts';
import { ingestSignals } from '../../src/incidents/correlator.ts';
import { pageSignals } from '../../src/incidents/incidents.ts';
import { inTenant } from '../../src/store/scope.ts';
import { listParked } from '../../src/delivery/ledger.ts';
import { auditToEvent, signalToEvent } from '../../src/siem/mapping.ts';
import { createRedactor } from '../../src/siem/redact.ts';
import type { SiemEvent } from '../../src/siem/event.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';
import { makeTenants } from '../helpers/tenants.ts';
import { caFile, startForwarder, until, type TestForwarder } from '../siem/helpers/forwarder.ts';
import { probectlUnescape } from '../siem/helpers/rfc5424.ts';
import { startRsyslog, type RsyslogPeer } from './rsyslog.ts';

/** The SD parameters probectl sends for an event, as rsyslog should hand them back (escapes resolved). */
function expectedParams(e: SiemEvent): Record<string, string> {
  const common: Record<string, string> = { tenant: e.tenant, id: e.id, category: e.category, action: e.action, severity: e.severity, actor: e.actor, target: e.target, outcome: e.outcome, seq: String(e.seq) };
  const specific: Record<string, string> = e.category === 'audit'
    ? { hash: e.hash, prev_hash: e.prevHash }
    : { kind: e.kind, confidence: String(e.confidence), signal_id: e.signalId, incident_id: e.incidentId };
  return { ...common, ...specific, attributes: JSON.stringify(e.attributes) };
}

/**
 * A real rsyslog receives probectl's syslog stream over TLS with RFC 5425
 * octet-counting framing; the structured data rsyslog parses equals what was
 * sent, value for value.
 */
describe('SIEM export to a real rsyslog over TLS', () => {
  let peer: RsyslogPeer;
  let t: TestDb;
  let fwd: TestForwarder;
  let tenant: string;

  before(async () => {
    peer = await startRsyslog();
    t = await openTestDb();
    [tenant] = (await makeTenants(t.db, 'syslog-tenant')) as [string];
    await inTenant(t.db, tenant, async (tx) => {
      await appendAudit(tx, systemClock, { actor: 'token:"quoted" \\back\\slash', action: 'token.create', target: 'token:]bracket] [x]', outcome: 'success', data: { note: 'ünïcödé ✓ 日本', api_key: 'k3y', nested: { password: 'pw', ok: 'a=b|c' } } });
      await appendAudit(tx, systemClock, { actor: 'anonymous', action: 'auth.login', target: 'token:unknown', outcome: 'failure', data: { source: '10.0.0.1' } });
      await appendAudit(tx, systemClock, { actor: 'token:x', action: 'config.change', target: 'big', outcome: 'success', data: { blob: 'x'.repeat(9000) } });
      for (let i = 0; i < 20; i++) await appendAudit(tx, systemClock, { actor: `token:${i}`, action: 'config.change', target: `obj:${i}`, outcome: 'success', data: { i } });
    });
    await inTenant(t.db, tenant, (tx) => ingestSignals(tx, systemClock, 60_000, [
      { kind: 'tls.expired', severity: 'critical', confidence: 100, target: 'db.example:5432', title: 'expired "cert" \\ ]', attributes: { token: 'secret-ish', days: -3 } },
      { kind: 'ioc.match', severity: 'warning', confidence: 70, target: '203.0.113.7', title: 'hit', attributes: { source: 'feed' } },
    ]));
    fwd = startForwarder(t.db, { PROBECTL_SIEM_PRESET: 'generic', PROBECTL_SIEM_ENDPOINT: `syslog+tls://127.0.0.1:${peer.port}`, PROBECTL_SIEM_CA_FILE: caFile(peer.caPem) });
  });
  after(async () => {
    await fwd?.engine.stop();
    await t?.close();
    await peer?.stop();
  });

  it('every event arrives as one RFC 5424 message whose parsed structured data equals what was sent', async () => {
    const messages = await peer.waitFor(24, 30_000);
    const redactor = createRedactor();
    const sent = await inTenant(t.db, tenant, async (tx) => [
      ...(await pageAudit(tx, 0, 23)).map((r) => auditToEvent(r, tenant, { redactor })),
      ...(await pageSignals(tx, 0, 100)).map((s) => signalToEvent(s, tenant, { redactor })),
    ]);
    const byId = new Map(messages.map((m) => [m.structuredData['probectl@32473']?.id, m]));
    assert.ok(messages.every((m) => m.structuredData['probectl@32473'] !== undefined), 'every message parsed as RFC 5424 with probectl structured data');
    const oversized = sent.find((e) => e.target === 'big');
    for (const e of sent) {
      if (e === oversized) continue;
      const m = byId.get(e.id);
      assert.ok(m, `event ${e.category} ${e.seq} arrived`);
      assert.deepEqual(m.structuredData['probectl@32473'], expectedParams(e), `structured data of ${e.category} ${e.seq}`);
      assert.equal(m.appName, 'probectl');
      assert.equal(m.hostname, hostname());
      assert.equal(m.msgId, e.action);
      assert.equal(m.pri, 13 * 8 + ({ info: 6, warning: 4, critical: 2 } as const)[e.severity]);
      assert.equal(m.bom, true, 'MSG carries the UTF-8 BOM');
      // probectl escapes backslashes and control characters in MSG to keep one record per line; rsyslog hands MSG back verbatim.
      assert.equal(probectlUnescape(m.msg), e.message);
    }
    const sentIds = new Set(sent.map((e) => e.id));
    const others = (await peer.messages()).filter((m) => !sentIds.has(m.structuredData['probectl@32473']?.id ?? ''));
    assert.ok(others.every((m) => m.msgId === 'siem.parked'), 'nothing else arrived but the parking alarm: no garbage fragment from an oversized message');
    const first = byId.get(sent[0]!.id)!;
    assert.match(first.structuredData['probectl@32473']!.attributes!, /"api_key":"\[redacted\]"/);
    assert.match(first.structuredData['probectl@32473']!.attributes!, /"password":"\[redacted\]"/);
  });

  it('an event larger than the receiver accepts is parked, not truncated', async () => {
    await until('parked', async () => (await inTenant(t.db, tenant, (tx) => listParked(tx, 'siem', 10))).length === 1);
    const [parked] = await inTenant(t.db, tenant, (tx) => listParked(tx, 'siem', 10));
    assert.equal(parked?.seq, 3);
    assert.match(parked!.reason, /exceeds PROBECTL_SIEM_SYSLOG_MAX_MESSAGE/);
  });
});
