import { Type } from 'typebox';
import { IncidentStatus, Severity, Timestamp, Uuid } from '../integrations/schemas.ts';

export { ErrorBody, IdParams, IncidentStatus, Name, Permission, Seq, Severity, TenantQuery, Timestamp, UUID_PATTERN, Uuid } from '../integrations/schemas.ts';

export const Attributes = Type.Record(Type.String({ maxLength: 128 }), Type.Unknown(), { maxProperties: 64 });

export const SignalIn = Type.Object({
  kind: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9_-]+(\\.[a-z0-9_-]+)*$', description: 'Dotted kind; the first segment is the correlation family (tls.expired → tls)' }),
  severity: Severity,
  confidence: Type.Integer({ minimum: 0, maximum: 100 }),
  target: Type.String({ minLength: 1, maxLength: 512 }),
  title: Type.String({ minLength: 1, maxLength: 512 }),
  attributes: Type.Optional(Attributes),
}, { additionalProperties: false });

export const SignalOut = Type.Object({
  id: Uuid, seq: Type.Integer(), tenant: Uuid, kind: Type.String(), severity: Severity, confidence: Type.Integer(),
  target: Type.String(), title: Type.String(), attributes: Type.Record(Type.String(), Type.Unknown()), received_at: Timestamp, incident_id: Uuid,
});

export const IncidentOut = Type.Object({
  id: Uuid, tenant: Uuid, correlation_key: Type.String(), kind_family: Type.String(), target: Type.String(), title: Type.String(),
  status: IncidentStatus, severity: Severity, signal_count: Type.Integer(), opened_at: Timestamp, updated_at: Timestamp,
  last_signal_at: Timestamp, acknowledged_at: Type.Union([Timestamp, Type.Null()]), resolved_at: Type.Union([Timestamp, Type.Null()]),
});

export const AuditEventOut = Type.Object({
  tenant_id: Uuid, seq: Type.Integer(), time: Timestamp, actor: Type.String(), action: Type.String(), target: Type.String(),
  outcome: Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')]),
  data: Type.Record(Type.String(), Type.Unknown()), prev_hash: Type.String(), hash: Type.String(),
});
