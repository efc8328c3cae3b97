import type { SiemEvent, SiemSeverity } from '../event.ts';
import { timeParts } from '../event.ts';
import type { FormatOptions } from './options.ts';
import { controlEscape } from './text.ts';

/** RFC 5424 severity codes: informational, warning, critical. */
export const SYSLOG_SEVERITY: Readonly<Record<SiemSeverity, number>> = Object.freeze({ info: 6, warning: 4, critical: 2 });

export const SYSLOG_APP_NAME = 'probectl';
const BOM = '\uFEFF';
const NIL = '-';

const SD_SPECIAL = /[\\"\]\x00-\x1f\x7f]/;
const SD_ESCAPED = /[\\"\]]/g;
const CONTROL = /[\x00-\x1f\x7f]/;
const CONTROL_ALL = /[\x00-\x1f\x7f]/g;
const MSG_SPECIAL = /[\\\x00-\x1f\x7f]/;

/**
 * PARAM-VALUE escaping: `"`, `\` and `]` as RFC 5424 §6.3.3 requires, and
 * control characters as `\n`, `\r`, `\t`, `\u00XX` so that a record stays on
 * one line (RFC-conforming receivers show those as written).
 */
export function sdEscape(value: string): string {
  if (!SD_SPECIAL.test(value)) return value;
  // The three RFC escapes first (a plain replacement pattern, no callback), then control characters.
  const escaped = value.replace(SD_ESCAPED, '\\$&');
  return CONTROL.test(escaped) ? escaped.replace(CONTROL_ALL, controlEscape) : escaped;
}

/** MSG escaping: only the backslash and control characters, so the message stays one line and reversible. */
export function msgEscape(value: string): string {
  if (!MSG_SPECIAL.test(value)) return value;
  const escaped = value.replaceAll('\\', '\\\\');
  return CONTROL.test(escaped) ? escaped.replace(CONTROL_ALL, controlEscape) : escaped;
}

/** MSGID: the action in at most 32 printable US-ASCII characters (others become `_`), or NILVALUE. */
export function syslogMsgId(action: string): string {
  if (action === '') return NIL;
  const clean = action.replace(/[^\x21-\x7e]/g, '_');
  return clean.length > 32 ? clean.slice(0, 32) : clean;
}

/** TIMESTAMP: UTC with at most 6 fraction digits (extra digits are cut, never rounded up across a second). */
export function syslogTimestamp(time: string): string {
  const t = timeParts(time);
  return t.fraction === '' ? `${t.wholeSeconds}Z` : `${t.wholeSeconds}.${t.fraction.slice(0, 6)}Z`;
}

/**
 * One RFC 5424 message, without framing:
 * `<PRI>1 TIMESTAMP HOSTNAME probectl - MSGID [probectl@PEN tenant="…" …] BOM MSG`.
 */
export function syslogRecord(event: SiemEvent, opts: FormatOptions): string {
  const pri = opts.syslogFacility * 8 + SYSLOG_SEVERITY[event.severity];
  let sd = `[probectl@${opts.syslogPen} tenant="${sdEscape(event.tenant)}" id="${event.id}" category="${event.category}"`
    + ` action="${sdEscape(event.action)}" severity="${event.severity}" actor="${sdEscape(event.actor)}"`
    + ` target="${sdEscape(event.target)}" outcome="${event.outcome}" seq="${event.seq}"`;
  if (event.category === 'audit') {
    sd += ` hash="${sdEscape(event.hash)}" prev_hash="${sdEscape(event.prevHash)}"`;
  } else {
    sd += ` kind="${sdEscape(event.kind)}" confidence="${event.confidence}" signal_id="${sdEscape(event.signalId)}" incident_id="${sdEscape(event.incidentId)}"`;
  }
  sd += ` attributes="${sdEscape(JSON.stringify(event.attributes))}"]`;
  const msg = event.message === '' ? '' : ` ${BOM}${msgEscape(event.message)}`;
  return `<${pri}>1 ${syslogTimestamp(event.time)} ${opts.hostname} ${SYSLOG_APP_NAME} ${NIL} ${syslogMsgId(event.action)} ${sd}${msg}`;
}
