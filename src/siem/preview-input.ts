import type { AuditEvent } from '../audit/chain.ts';
import { OUTCOMES } from '../audit/chain.ts';
import { ProbectlError } from '../core/errors.ts';
import { SEVERITIES, type Signal } from '../incidents/model.ts';
import {
  normalizeTime, SIEM_CATEGORIES, SIEM_OUTCOMES, SIEM_SEVERITIES, siemEventId,
  type SiemCategory, type SiemEvent, type SiemOutcome, type SiemSeverity,
} from './event.ts';
import { auditToEvent, signalToEvent } from './mapping.ts';
import type { Redactor } from './redact.ts';
import { parseJson } from '../core/json.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function bad(where: string, why: string): ProbectlError {
  // The value is never echoed: it may hold the very secret redaction exists for.
  return new ProbectlError('PROBECTL_ERR_SIEM_EVENT_INVALID', `${where}: ${why}`);
}

class Fields {
  readonly obj: Record<string, unknown>;
  readonly where: string;

  constructor(obj: Record<string, unknown>, where: string) {
    this.obj = obj;
    this.where = where;
  }

  str(key: string, opts: { nonEmpty?: boolean; fallback?: string } = {}): string {
    const v = this.obj[key];
    if (v === undefined && opts.fallback !== undefined) return opts.fallback;
    if (typeof v !== 'string') throw bad(`${this.where}.${key}`, 'must be a string');
    if (opts.nonEmpty && v.trim() === '') throw bad(`${this.where}.${key}`, 'must not be empty');
    return v;
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T {
    const v = this.obj[key];
    if (typeof v !== 'string' || !values.includes(v as T)) throw bad(`${this.where}.${key}`, `must be one of ${values.join(', ')}`);
    return v as T;
  }

  int(key: string, min: number, max: number): number {
    const v = this.obj[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw bad(`${this.where}.${key}`, `must be an integer from ${min} to ${max}`);
    return v;
  }

  time(key: string): string {
    const v = this.obj[key];
    const t = typeof v === 'string' ? normalizeTime(v) : undefined;
    if (t === undefined) throw bad(`${this.where}.${key}`, 'must be an RFC 3339 time from 1970 on, e.g. 2025-01-15T09:30:00.123Z');
    return t;
  }

  object(key: string, fallback?: Record<string, unknown>): Record<string, unknown> {
    const v = this.obj[key];
    if (v === undefined && fallback) return fallback;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(`${this.where}.${key}`, 'must be a JSON object');
    return v as Record<string, unknown>;
  }

  onlyKnown(known: readonly string[]): void {
    const unknown = Object.keys(this.obj).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw bad(this.where, `unknown field(s) ${unknown.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}`);
  }
}

const CANONICAL_FIELDS = ['id', 'time', 'tenant', 'category', 'action', 'severity', 'actor', 'target', 'outcome', 'message', 'attributes', 'seq',
  'hash', 'prevHash', 'kind', 'confidence', 'signalId', 'incidentId'];

function canonical(f: Fields, redactor: Redactor): SiemEvent {
  f.onlyKnown(CANONICAL_FIELDS);
  const category = f.oneOf<SiemCategory>('category', SIEM_CATEGORIES);
  const tenant = f.str('tenant', { nonEmpty: true });
  const seq = f.int('seq', 0, Number.MAX_SAFE_INTEGER);
  const id = f.obj.id === undefined ? siemEventId(tenant, category, seq) : f.str('id');
  if (!UUID.test(id)) throw bad(`${f.where}.id`, 'must be a UUID (or be left out to derive it from tenant, category and seq)');
  const base = {
    id, tenant, seq,
    time: f.time('time'),
    action: f.str('action'),
    severity: f.oneOf<SiemSeverity>('severity', SIEM_SEVERITIES),
    actor: f.str('actor'),
    target: f.str('target'),
    outcome: f.oneOf<SiemOutcome>('outcome', SIEM_OUTCOMES),
    message: f.str('message', { fallback: '' }),
    attributes: redactor.redact(f.object('attributes', {})),
  };
  if (category === 'audit') {
    return { ...base, category, hash: f.str('hash', { fallback: '' }), prevHash: f.str('prevHash', { fallback: '' }) };
  }
  return {
    ...base, category,
    kind: f.str('kind', { fallback: base.action }),
    confidence: f.int('confidence', 0, 100),
    signalId: f.str('signalId', { fallback: '' }),
    incidentId: f.str('incidentId', { fallback: '' }),
  };
}

function auditRecord(f: Fields): AuditEvent {
  return {
    tenant_id: f.str('tenant_id', { nonEmpty: true }), seq: f.int('seq', 1, Number.MAX_SAFE_INTEGER), time: f.time('time'),
    actor: f.str('actor'), action: f.str('action'), target: f.str('target'), outcome: f.oneOf('outcome', OUTCOMES),
    data: f.object('data', {}), prev_hash: f.str('prev_hash'), hash: f.str('hash'),
  };
}

function signal(f: Fields): Signal {
  return {
    id: f.str('id', { fallback: '' }), seq: f.int('seq', 1, Number.MAX_SAFE_INTEGER), tenant: f.str('tenant', { nonEmpty: true }),
    kind: f.str('kind', { nonEmpty: true }), severity: f.oneOf('severity', SEVERITIES), confidence: f.int('confidence', 0, 100),
    target: f.str('target'), title: f.str('title', { fallback: '' }), attributes: f.object('attributes', {}),
    received_at: f.time('received_at'), incident_id: f.str('incident_id', { fallback: '' }),
  };
}

/**
 * Reads one event as an operator would paste it: a canonical event (has
 * `category`), an audit record as `GET /v1/audit` returns it (has
 * `tenant_id` and `prev_hash`), or a signal (has `kind` and `received_at`).
 * Records go through the same mapping as export, stamped with their own
 * tenant; attributes are redacted. A bad field is named, its value never shown.
 */
export function parseSiemEvent(value: unknown, redactor: Redactor, where = 'event'): SiemEvent {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(where, 'must be a JSON object');
  const f = new Fields(value as Record<string, unknown>, where);
  if ('category' in f.obj) return canonical(f, redactor);
  if ('tenant_id' in f.obj && 'prev_hash' in f.obj) {
    const r = auditRecord(f);
    return auditToEvent(r, r.tenant_id, { redactor });
  }
  if ('kind' in f.obj && 'received_at' in f.obj) {
    const s = signal(f);
    return signalToEvent(s, s.tenant, { redactor });
  }
  throw bad(where, 'is neither a canonical event (category), an audit record (tenant_id, prev_hash) nor a signal (kind, received_at)');
}

/** Parses stdin text: one JSON object, a JSON array of them, or one object per line. */
export function parseSiemEventsText(text: string, redactor: Redactor): SiemEvent[] {
  const trimmed = text.trim();
  if (trimmed === '') throw bad('input', 'is empty; give a JSON event on stdin');
  let parsed: unknown;
  try {
    parsed = parseJson(trimmed);
  } catch {
    const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length < 2) throw bad('input', 'is not valid JSON');
    return lines.map((line, i) => {
      let v: unknown;
      try {
        v = parseJson(line);
      } catch {
        throw bad(`line ${i + 1}`, 'is not valid JSON');
      }
      return parseSiemEvent(v, redactor, `line ${i + 1}`);
    });
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) throw bad('input', 'is an empty array');
    return parsed.map((v, i) => parseSiemEvent(v, redactor, `event[${i}]`));
  }
  return [parseSiemEvent(parsed, redactor)];
}
