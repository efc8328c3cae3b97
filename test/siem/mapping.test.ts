import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from '../../src/audit/chain.ts';
import type { Signal } from '../../src/incidents/model.ts';
import { siemEventId } from '../../src/siem/event.ts';
import { auditToEvent, signalToEvent } from '../../src/siem/mapping.ts';
import { createRedactor, REDACTED } from '../../src/siem/redact.ts';
import { FORGED_TENANT, STRESS_AUDIT, STRESS_SIGNALS, TENANT } from './fixtures.ts';

const redactor = createRedactor();

describe('mapping onto the canonical event', () => {
  it('an audit record becomes category audit, info on success, warning on failure or denial, with chain seq and hashes', () => {
    const base = STRESS_AUDIT[0] as AuditEvent;
    const ok = auditToEvent(base, TENANT, { redactor });
    assert.equal(ok.category, 'audit');
    assert.equal(ok.severity, 'info');
    assert.equal(ok.outcome, 'success');
    assert.equal(ok.seq, base.seq);
    assert.equal(ok.hash, base.hash);
    assert.equal(ok.prevHash, base.prev_hash);
    assert.equal(ok.action, base.action);
    assert.equal(ok.actor, base.actor);
    assert.equal(ok.target, base.target);
    assert.equal(ok.time, base.time);
    assert.equal(auditToEvent({ ...base, outcome: 'failure' }, TENANT, { redactor }).severity, 'warning');
    assert.equal(auditToEvent({ ...base, outcome: 'denied' }, TENANT, { redactor }).severity, 'warning');
  });

  it('a signal becomes category threat with its severity, kind and confidence kept', () => {
    for (const s of STRESS_SIGNALS) {
      const e = signalToEvent(s, TENANT, { redactor });
      assert.equal(e.category, 'threat');
      assert.equal(e.severity, s.severity);
      assert.equal(e.kind, s.kind);
      assert.equal(e.action, s.kind);
      assert.equal(e.confidence, s.confidence);
      assert.equal(e.signalId, s.id);
      assert.equal(e.incidentId, s.incident_id);
      assert.equal(e.message, s.title);
      assert.equal(e.outcome, 'unknown');
      assert.equal(e.actor, `system:${s.kind.split('.')[0]}`);
    }
  });

  it('the id is stable per tenant, stream and seq: a re-send carries the same id, another stream or tenant never does', () => {
    const r = STRESS_AUDIT[1] as AuditEvent;
    const a1 = auditToEvent(r, TENANT, { redactor });
    const a2 = auditToEvent(structuredClone(r), TENANT, { redactor: createRedactor(['route']) });
    assert.equal(a1.id, a2.id);
    assert.equal(a1.id, siemEventId(TENANT, 'audit', r.seq));
    const s = signalToEvent({ ...(STRESS_SIGNALS[0] as Signal), seq: r.seq }, TENANT, { redactor });
    assert.notEqual(s.id, a1.id, 'the threat stream seq 2 differs from the audit stream seq 2');
    assert.notEqual(siemEventId('other', 'audit', r.seq), a1.id);
    assert.match(a1.id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a UUIDv5');
  });

  it('stamps the drained tenant; tenant, tenant_id and organization inside the data stay ordinary data', () => {
    const forged = STRESS_AUDIT[1] as AuditEvent;
    const e = auditToEvent(forged, TENANT, { redactor });
    assert.equal(e.tenant, TENANT);
    assert.deepEqual(e.attributes, { route: '/v1/audit', tenant: FORGED_TENANT, tenant_id: FORGED_TENANT, organization: { id: FORGED_TENANT } });
    const s = signalToEvent(STRESS_SIGNALS[1] as Signal, TENANT, { redactor });
    assert.equal(s.tenant, TENANT);
  });

  it('refuses a record whose own tenant is not the drained one, rather than export it under either id', () => {
    assert.throws(() => auditToEvent(STRESS_AUDIT[0] as AuditEvent, FORGED_TENANT, { redactor }), { code: 'PROBECTL_ERR_TENANT_SCOPE' });
    assert.throws(() => signalToEvent(STRESS_SIGNALS[0] as Signal, FORGED_TENANT, { redactor }), { code: 'PROBECTL_ERR_TENANT_SCOPE' });
  });

  it('redacts the audit data and the signal attributes, at any depth', () => {
    const a = auditToEvent(STRESS_AUDIT[2] as AuditEvent, TENANT, { redactor });
    assert.deepEqual(a.attributes.nested, { deeper: [{ api_key: REDACTED }, { Authorization: REDACTED }] });
    assert.deepEqual(a.attributes.headers, { Cookie: REDACTED });
    const s = signalToEvent(STRESS_SIGNALS[3] as Signal, TENANT, { redactor });
    assert.deepEqual(s.attributes, { list: [{ secret: REDACTED }] });
    assert.equal((STRESS_SIGNALS[3] as Signal).attributes.list instanceof Array, true, 'the signal itself is untouched');
  });

  it('normalises the record time to UTC, keeping its precision', () => {
    const e = auditToEvent({ ...(STRESS_AUDIT[0] as AuditEvent), time: '2025-03-01T14:00:00.123456+02:00' }, TENANT, { redactor });
    assert.equal(e.time, '2025-03-01T12:00:00.123456Z');
    assert.throws(() => auditToEvent({ ...(STRESS_AUDIT[0] as AuditEvent), time: 'yesterday' }, TENANT, { redactor }), { code: 'PROBECTL_ERR_SIEM_ENCODING' });
  });
});
