import { isIP } from 'node:net';

/** A lookup key a CMDB may be asked about: an IP address or a host name, normalised. */
export interface CmdbKey {
  readonly kind: 'ip' | 'host';
  /** IPv4 dotted quad, IPv6 in RFC 5952 form (lower case, compressed), or a lower-case ASCII host name without trailing dot. */
  readonly value: string;
}

/** Host names: ASCII letters, digits, hyphen and underscore in dot-separated labels of 1 to 63 characters, 253 at most. */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const MAX_INPUT = 512;

/** RFC 5952 text of an IPv6 address (WHATWG URL serialises it so), an IPv4-mapped one as its IPv4 address. */
function normaliseIpv6(text: string): string | undefined {
  let host: string;
  try {
    host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const hi = Number.parseInt(mapped[1] as string, 16);
    const lo = Number.parseInt(mapped[2] as string, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return host;
}

function ipKey(text: string): CmdbKey | undefined {
  const version = isIP(text);
  if (version === 4) return { kind: 'ip', value: text.split('.').map((o) => String(Number(o))).join('.') };
  if (version === 6) {
    const value = normaliseIpv6(text);
    return value === undefined ? undefined : { kind: 'ip', value };
  }
  return undefined;
}

function hostKey(text: string): CmdbKey | undefined {
  const host = text.toLowerCase().replace(/\.$/, '');
  if (host.length === 0 || host.length > 253) return undefined;
  const labels = host.split('.');
  if (!labels.every((l) => LABEL.test(l))) return undefined;
  // An all-numeric last label is an IP address spelled some other way (0x7f.1, 10.1), never a host name.
  if (/^[0-9]+$/.test(labels[labels.length - 1] as string)) return undefined;
  return { kind: 'host', value: host };
}

/** Splits `host:port` / `[v6]:port` / `v6` / `host`; undefined when a port is not a port. */
function withoutPort(text: string): string | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed) return bracketed[1];
  if (isIP(text) === 6) return text;
  const m = /^([^:]+):(\d{1,5})$/.exec(text);
  if (m) return Number(m[2]) <= 65_535 ? m[1] : undefined;
  return text.includes(':') ? undefined : text;
}

/**
 * The CMDB key of a target, or undefined when the target is not one: an IPv4
 * or IPv6 address (normalised: RFC 5952 for IPv6, IPv4-mapped IPv6 as IPv4,
 * no zone), a host name or FQDN (case-folded, trailing dot removed), or a
 * URL-shaped target (`https://Host:8443/path`, `tcp://10.0.0.1:22`) reduced
 * to its host. Everything else — a CIDR prefix, free text, a non-ASCII name
 * (IDNs go in their `xn--` form), anything carrying a query operator
 * character (`^`, `=`, `%`, whitespace, control characters) — is dropped
 * before any request: the result only ever holds `[a-z0-9._:-]`, so a key can
 * never add a clause to a CMDB query.
 */
export function cmdbKey(target: string): CmdbKey | undefined {
  if (typeof target !== 'string' || target.length === 0 || target.length > MAX_INPUT) return undefined;
  if (!/^[\x21-\x7e]+$/.test(target)) return undefined;
  let hostPart = target;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return undefined;
    }
    if (url.username || url.password) return undefined;
    hostPart = url.hostname;
    if (hostPart.startsWith('[')) hostPart = hostPart.slice(1, -1);
  } else {
    if (target.includes('/')) return undefined;
    const stripped = withoutPort(target);
    if (stripped === undefined) return undefined;
    hostPart = stripped;
  }
  const key = ipKey(hostPart) ?? hostKey(hostPart);
  if (!key || !/^[a-z0-9._:-]+$/.test(key.value)) return undefined;
  return key;
}
