import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { appendAudit, pageAudit } from '../../src/audit/log.ts';
import { systemClock } from '../../src/core/clock.ts';
import { ingestSignals } from '../../src/incidents/correlator.ts';
import { pageSignals } from '../../src/incidents/incidents.ts';
import { inTenant } from '../../src/store/scope.ts';
import { cefRecord } from '../../src/siem/formatters/cef.ts';
import { auditToEvent, signalToEvent } from '../../src/siem/mapping.ts';
import { createRedactor } from '../../src/siem/redact.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';
import { makeTenants } from '../helpers/tenants.ts';
import { caFile, startForwarder, type TestForwarder } from '../siem/helpers/forwarder.ts';
import { parseCef } from '../siem/helpers/cef.ts';
import { startRsyslog, type RsyslogPeer } from './rsyslog.ts';

/**
 * The Sentinel "CEF via AMA" path: probectl (preset sentinel, syslog+tls) to
 * a real rsyslog, as on an Azure Monitor Agent log forwarder. rsyslog must
 * parse each frame as RFC 5424 with no structured data and hand back a MSG
 * that is exactly the CEF line, starting with `CEF:` (what the agent looks for).
 */
describe('CEF over syslog to a real rsyslog (an AMA forwarder)', () => {
  let peer: RsyslogPeer;
  let t: TestDb;
  let fwd: TestForwarder;
  let tenant: string;

  before(async () => {
    peer = await startRsyslog();
    t = await openTestDb();
    [tenant] = (await makeTenants(t.db, 'cef-syslog')) as [string];
    await inTenant(t.db, tenant, async (tx) => {
      await appendAudit(tx, systemClock, { actor: 'token:"quoted" \\back\\slash', action: 'token.create', target: 'token:|pipe=eq', outcome: 'success', data: { note: 'ünïcödé ✓', api_key: 'k3y' } });
      await appendAudit(tx, systemClock, { actor: 'anonymous', action: 'auth.login', target: 'token:unknown', outcome: 'failure', data: { source: '10.0.0.1' } });
    });
    await inTenant(t.db, tenant, (tx) => ingestSignals(tx, systemClock, 60_000, [
      { kind: 'ioc.match', severity: 'warning', confidence: 70, target: '203.0.113.7:443', title: 'hit "x" \\ y', attributes: { source: 'feed' } },
    ]));
    fwd = startForwarder(t.db, { PROBECTL_SIEM_PRESET: 'sentinel', PROBECTL_SIEM_ENDPOINT: `syslog+tls://127.0.0.1:${peer.port}`, PROBECTL_SIEM_CA_FILE: caFile(peer.caPem), PROBECTL_SIEM_SYSLOG_FACILITY: '16' });
  });
  after(async () => {
    await fwd?.engine.stop();
    await t?.close();
    await peer?.stop();
  });

  it('rsyslog parses every frame as RFC 5424 without structured data; its MSG is the CEF line', async () => {
    const redactor = createRedactor();
    const sent = await inTenant(t.db, tenant, async (tx) => [
      ...(await pageAudit(tx, 0, 100)).map((r) => auditToEvent(r, tenant, { redactor })),
      ...(await pageSignals(tx, 0, 100)).map((s) => signalToEvent(s, tenant, { redactor })),
    ]);
    assert.equal(sent.length, 3);
    const messages = await peer.waitFor(sent.length, 30_000);
    const opts = { hostname: hostname(), version: '0.0.0-test', syslogPen: 32473, syslogFacility: 16 };
    for (const e of sent) {
      const m = messages.find((x) => x.msg.includes(`externalId=${e.id}`));
      assert.ok(m, `${e.category} ${e.seq} arrived`);
      assert.deepEqual([m.structuredDataRaw, m.bom, m.appName, m.procId, m.msgId], ['-', false, 'probectl', '-', e.action]);
      assert.equal(m.pri, 16 * 8 + ({ info: 6, warning: 4, critical: 2 } as const)[e.severity]);
      assert.ok(m.msg.startsWith('CEF:0|probectl|probectl|'));
      assert.equal(m.msg, cefRecord(e, opts));
      assert.equal(parseCef(m.msg).extension.get('cs1'), tenant);
    }
  });
});
