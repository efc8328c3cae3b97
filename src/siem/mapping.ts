import type { AuditEvent } from '../audit/chain.ts';
import { ProbectlError } from '../core/errors.ts';
import type { Signal } from '../incidents/model.ts';
import { type AuditSiemEvent, normalizeTime, siemEventId, type ThreatSiemEvent } from './event.ts';
import type { Redactor } from './redact.ts';

export interface MappingOptions {
  readonly redactor: Redactor;
}

function stampTime(time: string, what: string): string {
  const t = normalizeTime(time);
  if (t === undefined) throw new ProbectlError('PROBECTL_ERR_SIEM_ENCODING', `${what} has a time that is not RFC 3339`);
  return t;
}

function refuseForeign(kind: string, seq: number, scopeTenant: string): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_TENANT_SCOPE', `${kind} seq ${seq} does not belong to tenant ${scopeTenant}, whose stream was drained; it is not exported`);
}

/**
 * An audit record → category `audit`, severity `info`, or `warning` when the
 * outcome is a failure or a denial. `scopeTenant` is the tenant whose scope
 * was drained and is the only tenant stamped; a record whose own tenant column
 * differs is refused rather than exported under either id. Anything in the
 * record's data (a `tenant` key included) is ordinary, redacted data.
 */
export function auditToEvent(record: AuditEvent, scopeTenant: string, opts: MappingOptions): AuditSiemEvent {
  if (record.tenant_id !== scopeTenant) throw refuseForeign('audit record', record.seq, scopeTenant);
  return {
    id: siemEventId(scopeTenant, 'audit', record.seq),
    time: stampTime(record.time, `audit record ${record.seq}`),
    tenant: scopeTenant,
    category: 'audit',
    action: record.action,
    severity: record.outcome === 'success' ? 'info' : 'warning',
    actor: record.actor,
    target: record.target,
    outcome: record.outcome,
    message: `${record.action} by ${record.actor} on ${record.target}: ${record.outcome}`,
    attributes: opts.redactor.redact(record.data),
    seq: record.seq,
    hash: record.hash,
    prevHash: record.prev_hash,
  };
}

/**
 * A threat signal → category `threat`, severity from the signal, kind and
 * confidence kept. The actor is the producing subsystem (`system:<family>`),
 * the outcome `unknown`: a detection is a signal, not an action that succeeded.
 */
export function signalToEvent(signal: Signal, scopeTenant: string, opts: MappingOptions): ThreatSiemEvent {
  if (signal.tenant !== scopeTenant) throw refuseForeign('signal', signal.seq, scopeTenant);
  const family = signal.kind.split('.')[0] || signal.kind;
  return {
    id: siemEventId(scopeTenant, 'threat', signal.seq),
    time: stampTime(signal.received_at, `signal ${signal.seq}`),
    tenant: scopeTenant,
    category: 'threat',
    action: signal.kind,
    severity: signal.severity,
    actor: `system:${family}`,
    target: signal.target,
    outcome: 'unknown',
    message: signal.title,
    attributes: opts.redactor.redact(signal.attributes),
    seq: signal.seq,
    kind: signal.kind,
    confidence: signal.confidence,
    signalId: signal.id,
    incidentId: signal.incident_id,
  };
}
