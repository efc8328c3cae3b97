import type { AuditEvent } from '../../src/audit/chain.ts';
import type { Signal } from '../../src/incidents/model.ts';
import type { SiemEvent } from '../../src/siem/event.ts';
import { formatOptions } from '../../src/siem/formatters/options.ts';
import { auditToEvent, signalToEvent } from '../../src/siem/mapping.ts';
import { createRedactor } from '../../src/siem/redact.ts';

export const TENANT = '3b8e1f2a-4c5d-4e6f-8a9b-0c1d2e3f4a5b';
export const FORGED_TENANT = 'ffffffff-ffff-4fff-bfff-ffffffffffff';
/** Secret values planted in the fixtures' data; none may appear in any output. */
export const PLANTED_SECRETS = ['hunter2-top-secret', 'sk_live_NESTED_51', 'Bearer abc.def.ghi', 'ck=session-cookie-99', 'ssn-123-45-6789', 'private-key-material-PEM'];

export const OPTS = formatOptions({ hostname: 'probectl-01.example.net', version: '1.2.3-test', syslogPen: 32473, syslogFacility: 13 });

const LONG = 'x'.repeat(3000) + 'ü'.repeat(1000) + ']"\\|=';
const HASH = (n: number): string => n.toString(16).padStart(64, '0');

function audit(seq: number, fields: Partial<AuditEvent>): AuditEvent {
  return {
    tenant_id: TENANT, seq, time: '2025-03-01T12:00:00.000Z', actor: 'token:alice', action: 'config.update', target: 'settings',
    outcome: 'success', data: {}, prev_hash: HASH(seq - 1), hash: HASH(seq), ...fields,
  };
}

function signal(seq: number, fields: Partial<Signal>): Signal {
  return {
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`, seq, tenant: TENANT, kind: 'ioc.match', severity: 'warning', confidence: 75,
    target: '203.0.113.9', title: 'match', attributes: {}, received_at: '2025-03-01T12:30:00.000Z',
    incident_id: `11111111-1111-4111-8111-${String(seq).padStart(12, '0')}`, ...fields,
  };
}

/** Audit records that stress every escaping rule of every format. */
export const STRESS_AUDIT: readonly AuditEvent[] = [
  audit(1, { action: 'auth.login', actor: 'token:"quoted" \\back\\slash', target: 'token:]bracket]', data: { source: 'api', password: 'hunter2-top-secret' } }),
  audit(2, {
    action: 'access.denied', outcome: 'denied', actor: 'user:pipe|and=equals', target: 'GET /v1/audit?a=b|c',
    data: { route: '/v1/audit', tenant: FORGED_TENANT, tenant_id: FORGED_TENANT, organization: { id: FORGED_TENANT } },
  }),
  audit(3, {
    action: 'token.create', actor: 'user:line\r\nbreak', target: 'tab\there', time: '2025-03-01T12:00:01.123Z',
    data: { nested: { deeper: [{ api_key: 'sk_live_NESTED_51' }, { Authorization: 'Bearer abc.def.ghi' }] }, headers: { Cookie: 'ck=session-cookie-99' }, note: 'CR\rLF\nCRLF\r\nend' },
  }),
  audit(4, {
    action: 'indicators.upsert', outcome: 'failure', actor: 'user:Zoë Ünïcødé 日本語 👩‍💻 مرحبا', target: 'indicator:ñ',
    data: { count: 3, ratio: 0.25, negative: -7, flag: true, nothing: null, list: [1, 'two', [3], { four: 4 }], ssn: 'ssn-123-45-6789' },
  }),
  audit(5, { action: '', actor: '', target: '', data: {}, time: '2025-03-01T14:00:00.5+02:00' }),
  audit(6, { action: 'x'.repeat(40) + ' spaced action ü', actor: LONG, target: LONG, data: { long: LONG, private_key: 'private-key-material-PEM' } }),
  audit(7, { action: 'tenant.create', time: '2025-03-01T13:00:00.123456789Z', data: { control: '\u0000\u0001\u001f\u007f bell\u0007', bs: '\\n is not a newline' } }),
];

export const STRESS_SIGNALS: readonly Signal[] = [
  signal(1, { kind: 'tls.expired', severity: 'critical', confidence: 100, target: 'portal.example.com:443', title: 'TLS certificate of portal.example.com:443 expired', attributes: { subject: 'portal.example.com' } }),
  signal(2, { target: '2001:db8::7', title: 'v6 "match" ] | = \\ done', attributes: { indicator: '2001:db8::7', token: 'sk_live_NESTED_51', observation: { tenant: FORGED_TENANT } } }),
  signal(3, { target: '[2001:db8::1]:8443', kind: 'tls.weak_protocol', severity: 'info', confidence: 0, title: 'line1\nline2\r\nline3', attributes: {} }),
  signal(4, { target: '198.51.100.20:25', title: '', attributes: { list: [{ secret: 'hunter2-top-secret' }] }, received_at: '2025-03-01T12:30:00.5Z' }),
  signal(5, { target: 'not a host', title: LONG, attributes: { long: LONG } }),
];

export const REDACTOR = createRedactor(['x-custom-secret']);

export function stressEvents(): SiemEvent[] {
  return [
    ...STRESS_AUDIT.map((r) => auditToEvent(r, TENANT, { redactor: REDACTOR })),
    ...STRESS_SIGNALS.map((s) => signalToEvent(s, TENANT, { redactor: REDACTOR })),
  ];
}
