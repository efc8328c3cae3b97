import { isIP } from 'node:net';
import { parseHostPort } from '../../core/net.ts';
import type { SiemEvent, SiemSeverity } from '../event.ts';
import { timeParts } from '../event.ts';
import { CEF_HEADER_LIMITS, CEF_STRING_LIMITS, cefCuts, cefHeaderText, cefPair as pair } from './cef-text.ts';
import type { FormatOptions } from './options.ts';

/** CEF severity 0–10: Low, Medium, Very-High. */
export const CEF_SEVERITY: Readonly<Record<SiemSeverity, number>> = Object.freeze({ info: 3, warning: 6, critical: 10 });

/** A DNS host name whose last label is not all digits (RFC 3696 §2), so `01.2.3.4` is no name either. */
const HOST_NAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;

/** The host part of a threat target: `[v6(%zone)]:port`, `host:port`, or the target itself. */
function targetHost(target: string): { host: string; port: number | undefined } {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(target);
  const port = bracketed?.[2] === undefined ? undefined : Number(bracketed[2]);
  if (bracketed && (port === undefined || port <= 65535)) return { host: bracketed[1] as string, port };
  const hp = parseHostPort(target);
  return hp ? hp : { host: target, port: undefined };
}

/**
 * A threat target names a network endpoint (`host:port`, an address or a
 * domain); its CEF destination keys carry only values of their dictionary
 * type: `dst` a bare IPv4 address, `c6a3` an IPv6 address — without a zone
 * (`fe80::1%eth0` gives `fe80::1`; the zone-qualified text stays in cs2) —
 * `dhost` a host name of at most 1023 characters, `dpt` the port. Audit
 * targets are resource names, never these.
 */
function destination(event: SiemEvent): string {
  if (event.category !== 'threat') return '';
  const { host, port: p } = targetHost(event.target);
  const port = p === undefined ? '' : ` dpt=${p}`;
  const zone = host.indexOf('%');
  const address = zone < 0 ? host : host.slice(0, zone);
  if (zone < 0 && isIP(address) === 4) return ` dst=${address}${port}`;
  if (isIP(address) === 6 && isIP(host) === 6) return ` c6a3=${address} c6a3Label=target address${port}`;
  if (zone < 0 && HOST_NAME.test(host) && host.length <= (CEF_STRING_LIMITS.dhost as number)) return ` dhost=${host}${port}`;
  return '';
}

/**
 * One CEF line: `CEF:0|probectl|probectl|<version>|<action>|<message>|<0-10>|<extension>`.
 * Extension keys are CEF dictionary keys or labelled custom fields:
 * rt, externalId, cat, act, outcome, suser, msg, dvchost, dst/c6a3/dhost/dpt,
 * cs1 tenant, cs2 target, cs3 attributes (JSON), cn1 seq, then cs4/cs5 hash
 * and prev_hash (audit) or signal id and incident id (threat) and cn2
 * confidence, and cs6 the whole message when msg had to be cut. No control
 * character is ever written; every value fits its key's dictionary length
 * (CEF_HEADER_LIMITS, CEF_STRING_LIMITS), cut with TRUNCATED when longer.
 */
export function cefRecord(event: SiemEvent, opts: FormatOptions): string {
  const t = timeParts(event.time);
  const rt = t.epochSeconds * 1000 + Number(t.fraction.slice(0, 3).padEnd(3, '0'));
  let ext = `rt=${rt} ${pair('externalId', event.id)} cat=${event.category} ${pair('act', event.action)} outcome=${event.outcome}`
    + ` ${pair('suser', event.actor)} ${pair('msg', event.message)} ${pair('dvchost', opts.hostname)}`
    + destination(event)
    + ` ${pair('cs1', event.tenant)} cs1Label=tenant ${pair('cs2', event.target)} cs2Label=target`
    + ` ${pair('cs3', JSON.stringify(event.attributes))} cs3Label=attributes cn1=${event.seq} cn1Label=seq`;
  if (event.category === 'audit') {
    ext += ` ${pair('cs4', event.hash)} cs4Label=hash ${pair('cs5', event.prevHash)} cs5Label=prev_hash`;
  } else {
    ext += ` ${pair('cs4', event.signalId)} cs4Label=signal_id ${pair('cs5', event.incidentId)} cs5Label=incident_id cn2=${event.confidence} cn2Label=confidence`;
  }
  // A message longer than msg allows is sent whole (up to cs6's 4000 characters) in cs6 as well.
  if (cefCuts('msg', event.message)) ext += ` ${pair('cs6', event.message)} cs6Label=message`;
  const h = CEF_HEADER_LIMITS;
  return `CEF:0|probectl|probectl|${cefHeaderText(opts.version, h.deviceVersion)}|${cefHeaderText(event.action, h.signatureId)}|${cefHeaderText(event.message, h.name)}|${CEF_SEVERITY[event.severity]}|${ext}`;
}
