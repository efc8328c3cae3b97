import type { SiemEvent } from '../event.ts';
import { timeParts } from '../event.ts';
import type { FormatOptions } from './options.ts';

/**
 * Azure Monitor Logs Ingestion API records: the columns of the
 * `Custom-ProbectlEvents` stream a data collection rule declares (the table
 * and DCR to create are in docs/siem.md). Column names follow the API's rules
 * — a letter first, then letters, digits, `_` or `-`, at most 45 characters —
 * and avoid its reserved names (`Type`, `TenantId`, `resource*`, …): the
 * tenant column is `Tenant`.
 */
export const DCR_COLUMNS = Object.freeze([
  { name: 'TimeGenerated', type: 'datetime', from: '`time`, UTC, fraction cut (not rounded) to 6 digits' },
  { name: 'EventId', type: 'string', from: '`id`' },
  { name: 'Tenant', type: 'string', from: '`tenant` (the drained tenant)' },
  { name: 'Category', type: 'string', from: '`category`' },
  { name: 'Action', type: 'string', from: '`action`' },
  { name: 'Severity', type: 'string', from: '`severity`' },
  { name: 'Actor', type: 'string', from: '`actor`' },
  { name: 'Target', type: 'string', from: '`target`' },
  { name: 'Outcome', type: 'string', from: '`outcome`' },
  { name: 'Message', type: 'string', from: '`message`' },
  { name: 'Attributes', type: 'dynamic', from: '`attributes` (redacted), as a JSON object' },
  { name: 'Seq', type: 'long', from: '`seq`' },
  { name: 'Hash', type: 'string', from: 'audit: `hash` (absent for threat events)' },
  { name: 'PrevHash', type: 'string', from: 'audit: `prevHash`' },
  { name: 'Kind', type: 'string', from: 'threat: `kind` (absent for audit events)' },
  { name: 'Confidence', type: 'int', from: 'threat: `confidence` 0–100' },
  { name: 'SignalId', type: 'string', from: 'threat: `signalId`' },
  { name: 'IncidentId', type: 'string', from: 'threat: `incidentId`' },
  { name: 'Host', type: 'string', from: 'the host name option (the sending probectl)' },
  { name: 'ProbectlVersion', type: 'string', from: 'the probectl version option' },
] as const);

/** The Logs Ingestion API truncates a column value above 64 KB; probectl parks such an event instead (see dcrOversizedColumn). */
export const DCR_MAX_FIELD_BYTES = 64 * 1024;

const q = JSON.stringify;

/** `TimeGenerated`: the canonical time with at most 6 fraction digits (cut, never rounded across a second). */
export function dcrTime(time: string): string {
  const t = timeParts(time);
  return t.fraction === '' ? `${t.wholeSeconds}Z` : `${t.wholeSeconds}.${t.fraction.slice(0, 6)}Z`;
}

/**
 * One record as JSON text: `TimeGenerated` plus the canonical event's fields
 * as the columns of DCR_COLUMNS, in that order; audit-only and threat-only
 * columns are left out where they do not apply (the table shows them empty).
 */
export function dcrRecord(event: SiemEvent, opts: FormatOptions): string {
  const detail = event.category === 'audit'
    ? `,"Hash":${q(event.hash)},"PrevHash":${q(event.prevHash)}`
    : `,"Kind":${q(event.kind)},"Confidence":${event.confidence},"SignalId":${q(event.signalId)},"IncidentId":${q(event.incidentId)}`;
  return `{"TimeGenerated":"${dcrTime(event.time)}","EventId":${q(event.id)},"Tenant":${q(event.tenant)},"Category":"${event.category}"`
    + `,"Action":${q(event.action)},"Severity":"${event.severity}","Actor":${q(event.actor)},"Target":${q(event.target)}`
    + `,"Outcome":"${event.outcome}","Message":${q(event.message)},"Attributes":${q(event.attributes)},"Seq":${event.seq}${detail}`
    + `,"Host":${q(opts.hostname)},"ProbectlVersion":${q(opts.version)}}`;
}

/** A batch: the JSON array the Logs Ingestion API takes (one call's body). */
export function dcrBatch(events: readonly SiemEvent[], opts: FormatOptions): Buffer {
  let out = '[';
  for (let i = 0; i < events.length; i++) out += i === 0 ? dcrRecord(events[i] as SiemEvent, opts) : `,${dcrRecord(events[i] as SiemEvent, opts)}`;
  return Buffer.from(`${out}]`, 'utf8');
}

/**
 * The first column whose value is larger than the API keeps whole
 * (DCR_MAX_FIELD_BYTES of UTF-8, strings counted without quotes, Attributes
 * as its JSON text), or undefined. Only the free-text columns can be that large.
 */
export function dcrOversizedColumn(event: SiemEvent, limit = DCR_MAX_FIELD_BYTES): { column: string; bytes: number } | undefined {
  const columns: [string, string][] = [['Message', event.message], ['Actor', event.actor], ['Target', event.target], ['Action', event.action], ['Attributes', q(event.attributes)]];
  for (const [column, value] of columns) {
    // A UTF-8 character is at most 3 bytes per UTF-16 unit, so short values need no counting.
    if (value.length * 3 <= limit) continue;
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > limit) return { column, bytes };
  }
  return undefined;
}
