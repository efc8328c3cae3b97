import { isIP } from 'node:net';
import type { ConfigurationItem } from '../../incidents/configuration-items.ts';
import { cmdbKey } from '../keys.ts';

/** Most characters of any text field of a CI (name, class, role, owner, location, status). */
export const CI_TEXT_MAX = 256;
/** Most IP addresses a CI keeps. */
export const CI_IPS_MAX = 8;

/**
 * Control characters (C0, DEL and C1: NEL, CSI…), line and paragraph
 * separators, and the bidirectional marks, embeddings, overrides and isolates
 * (which reorder what a pager or chat shows: `\u202egnp.exe` displays as
 * `exe.png`) become one space.
 */
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]+/g;

/** Text without INVISIBLE characters, at most CI_TEXT_MAX code points. */
function bounded(text: string): string {
  const chars = [...text.replace(INVISIBLE, ' ')];
  return chars.length <= CI_TEXT_MAX ? chars.join('') : `${chars.slice(0, CI_TEXT_MAX - 1).join('')}…`;
}
const boundedOrNull = (text: string | null): string | null => (text === null ? null : bounded(text));

/**
 * A CI as a CMDB answered it, bounded before it is cached or shown: the CMDB
 * is untrusted input that flows into vendor payloads (a 600 KB field must
 * never push a PagerDuty event over its 512 KB limit). IPs are kept only when
 * node:net isIP accepts them, normalised as keys are (keys.ts), deduplicated,
 * at most CI_IPS_MAX; the FQDN only when it is a valid DNS name of at most 253
 * characters (case-folded); every text field is cut to CI_TEXT_MAX characters
 * without control characters or bidirectional formatting (INVISIBLE).
 */
export function boundedItem(item: ConfigurationItem): ConfigurationItem {
  const ips = [...new Set(item.ips.flatMap((ip) => {
    const key = ip.length <= 64 && !ip.includes('%') && isIP(ip) !== 0 ? cmdbKey(ip) : undefined;
    return key?.kind === 'ip' ? [key.value] : [];
  }))].slice(0, CI_IPS_MAX);
  const fqdnKey = item.fqdn !== null && item.fqdn.length <= 254 && !/[/:@[\]]/.test(item.fqdn) ? cmdbKey(item.fqdn) : undefined;
  return {
    ...item,
    name: bounded(item.name),
    class: bounded(item.class),
    role: boundedOrNull(item.role),
    ips,
    fqdn: fqdnKey?.kind === 'host' ? fqdnKey.value : null,
    owner: boundedOrNull(item.owner),
    location: boundedOrNull(item.location),
    status: boundedOrNull(item.status),
  };
}
