import { Type } from 'typebox';
import { PERMISSIONS } from '../identity/permissions.ts';
import { INCIDENT_STATUSES, SEVERITIES } from '../incidents/model.ts';

/** Schema building blocks shared by every API route, core and integration (TypeBox: validation and the OpenAPI document). */

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

export const Uuid = Type.String({ pattern: UUID_PATTERN });
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
/** `?tenant=<uuid>`: another tenant than the token's (provider-admin only), as integrations' admin routes take it. */
export const TenantQuery = Type.Object({ tenant: Type.Optional(Uuid) }, { additionalProperties: false });

export const ErrorBody = Type.Object({
  code: Type.String({ description: 'Stable PROBECTL_ERR_* code (docs/errors.md)' }),
  message: Type.String(),
}, { additionalProperties: true });

export const Permission = Type.Enum(PERMISSIONS);
export const Severity = Type.Enum(SEVERITIES);
export const IncidentStatus = Type.Enum(INCIDENT_STATUSES);

/** A printable name: no control characters. */
export const Name = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });

/** A stream position (seq, cursor): an integer within JavaScript's exact range, so it never reaches the database as an out-of-range bigint. */
export function Seq(minimum: number, options: { default?: number; description?: string } = {}) {
  return Type.Integer({ minimum, maximum: Number.MAX_SAFE_INTEGER, ...options });
}

export const Timestamp = Type.String({ format: 'date-time' });

