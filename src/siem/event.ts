import { hash as oneShotHash } from 'node:crypto';
import { ProbectlError } from '../core/errors.ts';

/**
 * The canonical SIEM event: every wire format renders exactly these facts.
 * An audit record and a threat signal both map onto it (src/siem/mapping.ts);
 * a formatter never adds facts of its own beyond its options (host name,
 * version, enterprise number).
 */
export const SIEM_CATEGORIES = ['audit', 'threat'] as const;
export type SiemCategory = (typeof SIEM_CATEGORIES)[number];

export const SIEM_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type SiemSeverity = (typeof SIEM_SEVERITIES)[number];

/** Audit outcomes as recorded, plus `unknown` for threat signals (a detection has no outcome). */
export const SIEM_OUTCOMES = ['success', 'failure', 'denied', 'unknown'] as const;
export type SiemOutcome = (typeof SIEM_OUTCOMES)[number];

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

interface SiemEventBase {
  /** Stable id: UUIDv5 of tenant, stream and seq (see siemEventId). A re-send carries the same id. */
  readonly id: string;
  /** RFC 3339 in UTC: `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`. */
  readonly time: string;
  /** The tenant whose scope was drained; never a value from the record's data. */
  readonly tenant: string;
  readonly action: string;
  readonly severity: SiemSeverity;
  readonly actor: string;
  readonly target: string;
  readonly outcome: SiemOutcome;
  readonly message: string;
  /** The record's data (audit) or attributes (signal), already redacted. */
  readonly attributes: JsonObject;
  /** Position in the tenant's stream (audit chain seq or signal seq), so a SIEM can see a gap. */
  readonly seq: number;
}

export interface AuditSiemEvent extends SiemEventBase {
  readonly category: 'audit';
  /** The audit chain hash of this record and of the one before it. */
  readonly hash: string;
  readonly prevHash: string;
}

export interface ThreatSiemEvent extends SiemEventBase {
  readonly category: 'threat';
  /** The signal kind, e.g. `tls.expired`, `ioc.match` (also the action). */
  readonly kind: string;
  /** Confidence 0–100 as the producer scored it. */
  readonly confidence: number;
  readonly signalId: string;
  readonly incidentId: string;
}

export type SiemEvent = AuditSiemEvent | ThreatSiemEvent;

// A fixed namespace for probectl's SIEM event ids (UUIDv5, RFC 9562 §5.5).
const ID_NAMESPACE = Buffer.from('6f1d8a52c4e04b7c9a3e5d2b7c1f0e94', 'hex');

/**
 * The event id: a UUIDv5 over `tenant/stream/seq` in probectl's namespace, so
 * the same record always has the same id (a SIEM can deduplicate re-sends)
 * and two tenants or two streams never share one.
 */
export function siemEventId(tenant: string, stream: SiemCategory, seq: number): string {
  // One-shot hashing: every exported event pays for this.
  const hash = oneShotHash('sha1', Buffer.concat([ID_NAMESPACE, Buffer.from(`${tenant}/${stream}/${seq}`)]), 'buffer');
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

export interface TimeParts {
  /** Whole seconds since the Unix epoch (never negative). */
  readonly epochSeconds: number;
  /** The fraction digits as given, 0 to 9 of them. */
  readonly fraction: string;
  /** `YYYY-MM-DDTHH:MM:SS` in UTC. */
  readonly wholeSeconds: string;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function digits(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * Splits a canonical time; throws PROBECTL_ERR_SIEM_ENCODING when it is not
 * one. Parsed by position rather than by a regular expression: every
 * formatter calls this once per event.
 */
export function timeParts(time: string): TimeParts {
  const len = time.length;
  if (len >= 20 && time.charCodeAt(len - 1) === 90 /* Z */ && time[4] === '-' && time[7] === '-' && time[10] === 'T' && time[13] === ':' && time[16] === ':') {
    const y = digits(time, 0, 4); const mo = digits(time, 5, 7); const d = digits(time, 8, 10);
    const h = digits(time, 11, 13); const mi = digits(time, 14, 16); const sec = digits(time, 17, 19);
    const fraction = len === 20 ? '' : time.slice(20, len - 1);
    const fractionOk = len === 20 || (time[19] === '.' && fraction.length >= 1 && fraction.length <= 9 && digits(fraction, 0, fraction.length) >= 0);
    if (fractionOk && y >= 1970 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo) && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && sec >= 0 && sec <= 59) {
      return { epochSeconds: Date.UTC(y, mo - 1, d, h, mi, sec) / 1000, fraction, wholeSeconds: time.slice(0, 19) };
    }
  }
  throw new ProbectlError('PROBECTL_ERR_SIEM_ENCODING', 'event time is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SS[.fraction]Z) from 1970 on');
}

/**
 * Normalises an RFC 3339 time (any offset) or a Date to the canonical UTC
 * form, keeping every fraction digit given (up to nanoseconds). Returns
 * undefined when the text is not a valid time from 1970 to 9999.
 */
export function normalizeTime(input: string | Date): string | undefined {
  if (input instanceof Date) {
    const ms = input.getTime();
    return Number.isFinite(ms) && ms >= 0 ? input.toISOString() : undefined;
  }
  // Fast path: the stores hand over canonical UTC times already (every exported event passes here).
  if (input.length >= 20 && input.charCodeAt(input.length - 1) === 90 /* Z */) {
    try {
      timeParts(input);
      return input;
    } catch {
      // not canonical after all: the general parser below decides
    }
  }
  const m = RFC3339.exec(input);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  const local = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(local);
  if (check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1) return undefined;
  const offsetMin = m[8] ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  if (!m[8] && (Number(m[10]) > 23 || Number(m[11]) > 59)) return undefined;
  const utc = local - offsetMin * 60_000;
  if (utc < 0 || utc > Date.UTC(9999, 11, 31, 23, 59, 59)) return undefined;
  const whole = new Date(utc).toISOString().slice(0, 19);
  return m[7] ? `${whole}.${m[7]}Z` : `${whole}Z`;
}
