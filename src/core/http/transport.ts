import { getCACertificates, rootCertificates } from 'node:tls';
import { isLoopbackHost } from '../net.ts';

/** `https://host:port` of a URL: the only part of an address errors and logs may show. */
export function safeOrigin(url: URL | string): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Why an address may not be used, or undefined when it may: https anywhere,
 * http only to a loopback host, nothing else. Never echoes the address.
 */
export function transportProblem(url: URL | string): string | undefined {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return 'not a valid URL';
  }
  if (u.username !== '' || u.password !== '') return 'credentials in the URL are refused; configure them separately';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:') return isLoopbackHost(u.hostname) ? undefined : 'plain http:// is refused except to a loopback host; use https://';
  return 'scheme must be https:// (or http:// to a loopback host)';
}

/**
 * The trust store for outbound TLS: the default roots (the bundled Mozilla
 * store, plus the system store when Node runs with --use-system-ca) and any
 * extra PEM bundles. Node's `ca` option replaces the roots, so they are listed.
 */
export function trustStore(extra: readonly string[]): string[] | undefined {
  const bundles = extra.filter((pem) => pem.trim() !== '');
  if (bundles.length === 0) return undefined;
  const defaults = typeof getCACertificates === 'function' ? getCACertificates('default') : [...rootCertificates];
  return [...defaults, ...bundles];
}
