import { checkDepth } from '../../core/depth.ts';
import { ProbectlError } from '../../core/errors.ts';
import type { JsonValue, SiemEvent, SiemSeverity } from '../event.ts';
import { timeParts } from '../event.ts';
import type { FormatOptions } from './options.ts';

/** SeverityNumber and its short name from the OpenTelemetry logs data model table. */
export const OTLP_SEVERITY: Readonly<Record<SiemSeverity, { number: number; text: string }>> = Object.freeze({
  info: { number: 9, text: 'INFO' },
  warning: { number: 13, text: 'WARN' },
  critical: { number: 17, text: 'ERROR' },
});

export const OTLP_SCOPE_NAME = 'probectl.siem';

const q = JSON.stringify;

/**
 * A JSON value as OTLP/JSON AnyValue text: safe integers as int64 decimal
 * strings, other numbers as doubles, null as an empty AnyValue, arrays as
 * arrayValue, objects as kvlistValue (keys in their order).
 */
export function anyValueJson(value: JsonValue, depth = 0): string {
  switch (typeof value) {
    case 'string': return `{"stringValue":${q(value)}}`;
    case 'boolean': return value ? '{"boolValue":true}' : '{"boolValue":false}';
    case 'number':
      if (Number.isSafeInteger(value)) return `{"intValue":"${value}"}`;
      if (!Number.isFinite(value)) throw new ProbectlError('PROBECTL_ERR_SIEM_ENCODING', 'an attribute holds a non-finite number, which OTLP cannot carry');
      return `{"doubleValue":${q(value)}}`;
    default: {
      if (value === null) return '{}';
      checkDepth(depth, 'PROBECTL_ERR_SIEM_ENCODING', 'an OTLP attribute value');
      if (Array.isArray(value)) {
        let out = '';
        for (const v of value as readonly JsonValue[]) out += out === '' ? anyValueJson(v, depth + 1) : `,${anyValueJson(v, depth + 1)}`;
        return `{"arrayValue":{"values":[${out}]}}`;
      }
      return `{"kvlistValue":{"values":[${keyValuesJson(value as { readonly [k: string]: JsonValue }, depth + 1)}]}}`;
    }
  }
}

function keyValuesJson(obj: { readonly [k: string]: JsonValue }, depth = 0): string {
  const keys = Object.keys(obj);
  const parts = new Array<string>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    parts[i] = `{"key":${q(key)},"value":${anyValueJson(obj[key] as JsonValue, depth)}}`;
  }
  return parts.join(',');
}

const str = (key: string, value: string): string => `{"key":"${key}","value":{"stringValue":${q(value)}}}`;
const int = (key: string, value: number): string => `{"key":"${key}","value":{"intValue":"${value}"}}`;

// Attributes whose values come from small enums, rendered once.
const CATEGORY_ATTR: Readonly<Record<SiemEvent['category'], string>> = { audit: str('probectl.category', 'audit'), threat: str('probectl.category', 'threat') };
const OUTCOME_ATTR: Readonly<Record<SiemEvent['outcome'], string>> = {
  success: str('probectl.outcome', 'success'), failure: str('probectl.outcome', 'failure'),
  denied: str('probectl.outcome', 'denied'), unknown: str('probectl.outcome', 'unknown'),
};
const SEVERITY_JSON: Readonly<Record<SiemSeverity, string>> = {
  info: `"severityNumber":${OTLP_SEVERITY.info.number},"severityText":"${OTLP_SEVERITY.info.text}"`,
  warning: `"severityNumber":${OTLP_SEVERITY.warning.number},"severityText":"${OTLP_SEVERITY.warning.text}"`,
  critical: `"severityNumber":${OTLP_SEVERITY.critical.number},"severityText":"${OTLP_SEVERITY.critical.text}"`,
};

/** `timeUnixNano` as a decimal string: whole seconds followed by nine fraction digits. */
export function unixNanos(time: string): string {
  const t = timeParts(time);
  if (t.epochSeconds === 0) return String(Number(t.fraction.padEnd(9, '0')));
  return `${t.epochSeconds}${t.fraction.padEnd(9, '0')}`;
}

/**
 * One OTLP LogRecord as JSON text. observedTimeUnixNano is the event time:
 * probectl observed the event as it recorded it.
 */
export function otlpLogRecordJson(event: SiemEvent): string {
  const nanos = unixNanos(event.time);
  const detail = event.category === 'audit'
    ? `${str('probectl.audit.hash', event.hash)},${str('probectl.audit.prev_hash', event.prevHash)}`
    : `${str('probectl.signal.kind', event.kind)},${int('probectl.signal.confidence', event.confidence)},${str('probectl.signal.id', event.signalId)},${str('probectl.incident.id', event.incidentId)}`;
  return `{"timeUnixNano":"${nanos}","observedTimeUnixNano":"${nanos}",${SEVERITY_JSON[event.severity]}`
    + `,"body":{"stringValue":${q(event.message)}},"attributes":[${str('probectl.event.id', event.id)},${CATEGORY_ATTR[event.category]}`
    + `,${str('probectl.action', event.action)},${str('probectl.actor', event.actor)},${str('probectl.target', event.target)}`
    + `,${OUTCOME_ATTR[event.outcome]},${int('probectl.seq', event.seq)},${detail}`
    + `,{"key":"probectl.attributes","value":{"kvlistValue":{"values":[${keyValuesJson(event.attributes)}]}}}],"eventName":${q(event.action)}}`;
}

function resourceJson(tenant: string, opts: FormatOptions): string {
  return `{"attributes":[${str('service.name', 'probectl')},${str('service.version', opts.version)},${str('host.name', opts.hostname)},${str('probectl.tenant_id', tenant)}]}`;
}

function requestParts(events: readonly SiemEvent[], opts: FormatOptions): string[] {
  const byTenant = new Map<string, string[]>();
  for (const e of events) {
    let list = byTenant.get(e.tenant);
    if (!list) byTenant.set(e.tenant, (list = []));
    list.push(otlpLogRecordJson(e));
  }
  const scope = `{"name":"${OTLP_SCOPE_NAME}","version":${q(opts.version)}}`;
  const parts = ['{"resourceLogs":['];
  let first = true;
  for (const [tenant, records] of byTenant) {
    parts.push(`${first ? '' : ','}{"resource":${resourceJson(tenant, opts)},"scopeLogs":[{"scope":${scope},"logRecords":[`, records.join(','), ']}]}');
    first = false;
  }
  parts.push(']}');
  return parts;
}

/**
 * One ExportLogsServiceRequest (OTLP/HTTP JSON) for many events: one
 * ResourceLogs per tenant (resource attribute probectl.tenant_id), in order
 * of first appearance, each with one ScopeLogs holding the records in order.
 */
export function otlpRequest(events: readonly SiemEvent[], opts: FormatOptions): string {
  return requestParts(events, opts).join('');
}

/**
 * The same request as UTF-8 bytes, written part by part into one buffer: the
 * records are joined once and never copied into a second, larger string.
 */
export function otlpRequestBytes(events: readonly SiemEvent[], opts: FormatOptions): Buffer {
  const parts = requestParts(events, opts);
  let length = 0;
  for (const p of parts) length += Buffer.byteLength(p, 'utf8');
  const out = Buffer.allocUnsafe(length);
  let offset = 0;
  for (const p of parts) offset += out.write(p, offset, 'utf8');
  return out;
}
