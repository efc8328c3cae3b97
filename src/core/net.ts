import { isIP } from 'node:net';

/**
 * True for names and addresses that can only reach this host: `localhost`, 127.0.0.0/8, ::1
 * (plain, IPv4-mapped or written out). Not `*.localhost` (RFC 6761 asks resolvers to keep it on
 * loopback, but a plain resolver may send it to DNS, and plaintext would then leave the host).
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h) || h === '0:0:0:0:0:0:0:1';
  return false;
}

export interface HostPort { host: string; port: number }

/** Parses `host:port`, `[v6]:port`; returns undefined when malformed. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 0 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2]) as string, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
