import { isIP } from 'node:net';
import { parseHostPort } from '../../core/net.ts';
import type { SiemEvent, SiemSeverity } from '../event.ts';
import { timeParts } from '../event.ts';
import type { FormatOptions } from './options.ts';

/** CEF severity 0–10: Low, Medium, Very-High. */
export const CEF_SEVERITY: Readonly<Record<SiemSeverity, number>> = Object.freeze({ info: 3, warning: 6, critical: 10 });

const HEADER_SPECIAL = /[\\|\r\n]/;
const HEADER_SPECIAL_ALL = /[\\|\r\n]/g;
const EXT_SPECIAL = /[\\=\r\n]/;
const EXT_BACKSLASH_EQUALS = /[\\=]/g;

/** Header fields escape `|` and `\`; a header cannot carry a line break, so CR and LF become spaces. */
export function cefHeaderEscape(value: string): string {
  if (!HEADER_SPECIAL.test(value)) return value;
  return value.replace(HEADER_SPECIAL_ALL, (ch) => (ch === '\r' || ch === '\n' ? ' ' : `\\${ch}`));
}

/** Extension values escape `\`, `=`, and CR and LF as `\r` and `\n`. */
export function cefExtensionEscape(value: string): string {
  if (!EXT_SPECIAL.test(value)) return value;
  const escaped = value.replace(EXT_BACKSLASH_EQUALS, '\\$&');
  return escaped.includes('\r') || escaped.includes('\n') ? escaped.replaceAll('\r', '\\r').replaceAll('\n', '\\n') : escaped;
}

/**
 * A threat target names a network endpoint (`host:port`, an address or a
 * domain); its CEF destination keys: `dst` only for an IPv4 address, `c6a3`
 * for IPv6, `dhost` for a name. Audit targets are resource names, never these.
 */
function destination(event: SiemEvent): string {
  if (event.category !== 'threat') return '';
  const target = event.target;
  const hp = parseHostPort(target);
  const host = hp ? hp.host : target;
  const port = hp ? ` dpt=${hp.port}` : '';
  switch (isIP(host)) {
    case 4: return ` dst=${host}${port}`;
    case 6: return ` c6a3=${cefExtensionEscape(host)} c6a3Label=target address${port}`;
    default: return /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host) ? ` dhost=${host}${port}` : '';
  }
}

/**
 * One CEF line: `CEF:0|probectl|probectl|<version>|<action>|<message>|<0-10>|<extension>`.
 * Extension keys are CEF dictionary keys or labelled custom fields:
 * rt, externalId, cat, act, outcome, suser, msg, dvchost, dst/dhost/dpt,
 * cs1 tenant, cs2 target, cs3 attributes (JSON), cn1 seq, then cs4/cs5 hash
 * and prev_hash (audit) or signal id and incident id (threat) and cn2 confidence.
 */
export function cefRecord(event: SiemEvent, opts: FormatOptions): string {
  const t = timeParts(event.time);
  const rt = t.epochSeconds * 1000 + Number(t.fraction.slice(0, 3).padEnd(3, '0'));
  let ext = `rt=${rt} externalId=${event.id} cat=${event.category} act=${cefExtensionEscape(event.action)} outcome=${event.outcome}`
    + ` suser=${cefExtensionEscape(event.actor)} msg=${cefExtensionEscape(event.message)} dvchost=${cefExtensionEscape(opts.hostname)}`
    + destination(event)
    + ` cs1=${cefExtensionEscape(event.tenant)} cs1Label=tenant cs2=${cefExtensionEscape(event.target)} cs2Label=target`
    + ` cs3=${cefExtensionEscape(JSON.stringify(event.attributes))} cs3Label=attributes cn1=${event.seq} cn1Label=seq`;
  if (event.category === 'audit') {
    ext += ` cs4=${cefExtensionEscape(event.hash)} cs4Label=hash cs5=${cefExtensionEscape(event.prevHash)} cs5Label=prev_hash`;
  } else {
    ext += ` cs4=${cefExtensionEscape(event.signalId)} cs4Label=signal_id cs5=${cefExtensionEscape(event.incidentId)} cs5Label=incident_id cn2=${event.confidence} cn2Label=confidence`;
  }
  return `CEF:0|probectl|probectl|${cefHeaderEscape(opts.version)}|${cefHeaderEscape(event.action)}|${cefHeaderEscape(event.message)}|${CEF_SEVERITY[event.severity]}|${ext}`;
}
