import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { AuditEvent } from '../../src/audit/chain.ts';
import type { Signal } from '../../src/incidents/model.ts';
import { FORMATTERS } from '../../src/siem/formatters/index.ts';
import { udmConfidence, udmEventType, udmObject } from '../../src/siem/formatters/udm.ts';
import { auditToEvent, signalToEvent } from '../../src/siem/mapping.ts';
import { sampleEvents } from '../../src/siem/preview.ts';
import { siemEvent } from './helpers/arb.ts';
import { udmEnum, udmProblems } from './helpers/udm-schema.ts';
import { OPTS, REDACTOR, STRESS_AUDIT, STRESS_SIGNALS, stressEvents, TENANT } from './fixtures.ts';
import { parseJson } from '../../src/core/json.ts';

type Udm = {
  metadata: Record<string, unknown>;
  principal: Record<string, unknown>;
  target: Record<string, unknown>;
  observer?: Record<string, unknown>;
  extensions?: { auth: Record<string, unknown> };
  security_result: Record<string, unknown>[];
  additional: Record<string, unknown>;
};

const audit = (fields: Partial<AuditEvent>) => auditToEvent({ ...(STRESS_AUDIT[0] as AuditEvent), data: {}, ...fields }, TENANT, { redactor: REDACTOR });
const signal = (fields: Partial<Signal>) => signalToEvent({ ...(STRESS_SIGNALS[0] as Signal), attributes: {}, ...fields }, TENANT, { redactor: REDACTOR });
const udm = (e: ReturnType<typeof audit> | ReturnType<typeof signal>): Udm => parseJson(FORMATTERS.udm.record(e, OPTS)) as Udm;

describe('UDM', () => {
  const events = [...stressEvents(), ...sampleEvents()];

  it('frames a batch as NDJSON, one UDM event per line, each the record alone', () => {
    const lines = FORMATTERS.udm.batch(events, OPTS).toString('utf8').split('\n');
    assert.equal(lines.pop(), '');
    assert.deepEqual(lines, events.map((e) => FORMATTERS.udm.record(e, OPTS)));
    assert.equal(FORMATTERS.udm.contentType, 'application/x-ndjson');
  });

  it('every event is a valid backstory.UDM: only fields of udm.proto, their types, enum values that exist', () => {
    assert.ok(udmEnum('Metadata.EventType').size > 100, 'the schema was loaded');
    for (const e of events) assert.deepEqual(udmProblems(udm(e)), [], e.action);
  });

  it('the schema check itself catches an invented field, a wrong enum value, a scalar where a list belongs', () => {
    const bad = { ...udm(events[0]!), tenant: 'x', metadata: { event_type: 'LOGIN' }, principal: { ip: '10.0.0.1' } };
    assert.deepEqual(udmProblems(bad).sort(), ['udm.metadata.event_type: "LOGIN" is not a Metadata.EventType value', 'udm.principal.ip: repeated field is not an array', 'udm.tenant: UDM has no such field']);
  });

  it('any event at all — arbitrary text, times, attributes — still renders a valid UDM event', () => {
    fc.assert(fc.property(siemEvent, (e) => {
      const line = FORMATTERS.udm.record(e, OPTS);
      assert.ok(!line.includes('\n'));
      assert.deepEqual(udmProblems(parseJson(line)), []);
    }), { numRuns: 300 });
  });

  it('metadata: ids, time with every fraction digit, vendor/product, event type from the action', () => {
    const e = audit({ action: 'tenant.create', time: '2025-03-01T13:00:00.123456789Z' });
    const m = udm(e).metadata;
    assert.deepEqual(m, {
      product_log_id: e.id, event_timestamp: '2025-03-01T13:00:00.123456789Z', event_type: 'USER_RESOURCE_CREATION', vendor_name: 'probectl',
      product_name: 'probectl', product_version: OPTS.version, product_event_type: 'tenant.create', description: e.message,
    });
    const types: Array<[string, string]> = [
      ['auth.login', 'USER_LOGIN'], ['auth.logout', 'USER_LOGOUT'], ['token.revoke', 'USER_RESOURCE_DELETION'], ['indicators.upsert', 'USER_RESOURCE_UPDATE_CONTENT'],
      ['role.grant', 'USER_RESOURCE_UPDATE_PERMISSIONS'], ['audit.verify', 'USER_RESOURCE_ACCESS'], ['access.denied', 'USER_RESOURCE_ACCESS'], ['siem.parked', 'USER_UNCATEGORIZED'], ['', 'USER_UNCATEGORIZED'],
    ];
    for (const [action, type] of types) assert.equal(udmEventType(audit({ action })), type, action);
    assert.equal(udmEventType(signal({ kind: 'tls.expired' })), 'SCAN_HOST');
    assert.equal(udmEventType(signal({ kind: 'ioc.match' })), 'SCAN_NETWORK');
    assert.equal(udmEventType(signal({ kind: 'dns.anomaly' })), 'SCAN_UNCATEGORIZED');
    for (const t of ['USER_LOGIN', 'USER_RESOURCE_CREATION', 'SCAN_HOST', 'SCAN_NETWORK', 'SCAN_UNCATEGORIZED', 'USER_UNCATEGORIZED']) assert.ok(udmEnum('Metadata.EventType').has(t), t);
  });

  it('audit: the actor is the principal user, the target a probectl resource; probectl observed it', () => {
    const u = udm(audit({ action: 'token.create', actor: 'user:alice', target: 'token:42', outcome: 'success' }));
    assert.deepEqual(u.principal, { user: { userid: 'user:alice' } });
    assert.deepEqual(u.target, { hostname: OPTS.hostname, application: 'probectl', resource: { name: 'token:42' } });
    assert.deepEqual(u.observer, { hostname: OPTS.hostname, application: 'probectl' });
    assert.equal(u.extensions, undefined);
    const nobody = udm(audit({ actor: '', target: '', action: 'config.update' }));
    assert.deepEqual(nobody.principal, { hostname: OPTS.hostname, application: 'probectl' }, 'an event always names a principal');
    assert.deepEqual(nobody.target, { hostname: OPTS.hostname, application: 'probectl' });
  });

  it('logins: the user is the target, with the auth extension and its outcome', () => {
    const ok = udm(audit({ action: 'auth.login', actor: 'token:ops', outcome: 'success' }));
    assert.deepEqual(ok.target, { user: { userid: 'token:ops' }, hostname: OPTS.hostname, application: 'probectl' });
    assert.deepEqual(ok.extensions, { auth: { type: 'MACHINE', mechanism: ['NETWORK'], auth_details: 'probectl API token', outcome: 'SUCCESS' } });
    const bad = udm(audit({ action: 'auth.login', actor: 'anonymous', outcome: 'failure' }));
    assert.equal(bad.extensions?.auth.outcome, 'FAILURE');
    assert.deepEqual(bad.security_result[0]?.category, ['AUTH_VIOLATION']);
    assert.deepEqual(bad.security_result[0]?.action, ['FAIL']);
  });

  it('security_result: severity, action from the outcome, categories; a detection is never an enforcement', () => {
    const results = (['success', 'failure', 'denied'] as const).map((outcome) => udm(audit({ action: 'config.update', outcome })).security_result[0]!);
    assert.deepEqual(results.map((r) => [r.severity, r.action, r.action_details, r.category]), [
      ['INFORMATIONAL', ['ALLOW'], 'success', undefined], ['MEDIUM', ['FAIL'], 'failure', undefined], ['MEDIUM', ['BLOCK'], 'denied', ['ACL_VIOLATION']],
    ]);
    const crit = udm(signal({ kind: 'tls.expired', severity: 'critical', confidence: 100 })).security_result[0]!;
    assert.deepEqual([crit.severity, crit.severity_details, crit.action, crit.category, crit.confidence, crit.confidence_score, crit.rule_name], ['CRITICAL', 'critical', ['UNKNOWN_ACTION'], undefined, 'HIGH_CONFIDENCE', 100, 'tls.expired']);
    const ioc = udm(signal({ kind: 'ioc.match', confidence: 50, id: '00000000-0000-4000-8000-00000000abcd' })).security_result[0]!;
    assert.deepEqual([ioc.category, ioc.confidence, ioc.confidence_details, ioc.threat_id], [['NETWORK_SUSPICIOUS'], 'MEDIUM_CONFIDENCE', '50/100', '00000000-0000-4000-8000-00000000abcd']);
    assert.deepEqual([0, 33, 34, 66, 67, 100].map(udmConfidence), ['LOW_CONFIDENCE', 'LOW_CONFIDENCE', 'MEDIUM_CONFIDENCE', 'MEDIUM_CONFIDENCE', 'HIGH_CONFIDENCE', 'HIGH_CONFIDENCE']);
  });

  it('threat targets become the right UDM noun: host, address and port; anything else a resource name', () => {
    const target = (t: string) => udm(signal({ target: t })).target;
    assert.deepEqual(target('portal.example.com:443'), { hostname: 'portal.example.com', port: 443 });
    assert.deepEqual(target('203.0.113.9'), { ip: ['203.0.113.9'] });
    assert.deepEqual(target('[2001:db8::1]:8443'), { ip: ['2001:db8::1'], port: 8443 });
    assert.deepEqual(target('fe80::1%eth0'), { ip: ['fe80::1'] });
    assert.equal(udm(signal({ target: 'fe80::1%eth0' })).additional.probectl_target, 'fe80::1%eth0', 'the zone is kept');
    assert.deepEqual(target('not a host'), { resource: { name: 'not a host' } });
    assert.deepEqual(udm(signal({})).principal, { hostname: OPTS.hostname, application: 'probectl' });
  });

  it('keeps probectl\'s tenant, seq, id, chain and attributes in additional; the tenant is the drained one', () => {
    const e = audit({ seq: 9, data: { tenant: 'ffffffff-ffff-4fff-bfff-ffffffffffff', password: 'hunter2' } });
    const a = udm(e).additional;
    assert.deepEqual(a, {
      probectl_tenant: TENANT, probectl_event_id: e.id, probectl_seq: '9', probectl_category: 'audit', probectl_outcome: e.outcome,
      probectl_actor: e.actor, probectl_target: e.target, probectl_hash: e.hash, probectl_prev_hash: e.prevHash,
      probectl_attributes: { tenant: 'ffffffff-ffff-4fff-bfff-ffffffffffff', password: '[redacted]' },
    });
    const s = signal({});
    assert.deepEqual(Object.keys(udm(s).additional), ['probectl_tenant', 'probectl_event_id', 'probectl_seq', 'probectl_category', 'probectl_outcome', 'probectl_actor', 'probectl_target', 'probectl_signal_id', 'probectl_incident_id', 'probectl_confidence', 'probectl_attributes']);
  });

  it('is a pure function of the event and the options', () => {
    const e = events[3]!;
    assert.deepEqual(udmObject(e, OPTS), udmObject(e, OPTS));
    assert.notDeepEqual(udmObject(e, OPTS), udmObject(e, { ...OPTS, hostname: 'other.example' }));
  });
});
