import { HttpClient, HttpClientError } from '../core/http/client.ts';
import { withoutSentCredentials } from '../core/http/credentials.ts';
import type { VendorAnswer, VendorHttp } from './providers/types.ts';

/** The connector's URL credential (Teams `sig`): set from the secret on requests to the endpoint itself when the URL omits it. */
export interface UrlSecret {
  readonly param: string;
  readonly endpoint: URL;
  value(): Promise<string | undefined>;
}

function sameResource(a: URL, b: URL): boolean {
  return a.origin === b.origin && a.pathname === b.pathname;
}

/** Scheme and host of a Location header, or undefined (never its path or query, which may hold a token). */
function originOf(location: string | string[] | undefined, base: URL): string | undefined {
  const text = Array.isArray(location) ? location[0] : location;
  if (text === undefined) return undefined;
  try {
    const u = new URL(text, base);
    return `${u.protocol}//${u.host}`;
  } catch {
    return undefined;
  }
}

/**
 * An answer that says the endpoint itself is wrong, whatever the request: a
 * redirect (never followed: a moved API, a proxy's login page) or 405. Not
 * one incident's refusal — every operation would be marked failed — but the
 * connector's: paused with an alarm until the endpoint is fixed.
 */
function wrongEndpoint(url: URL, status: number, location: string | string[] | undefined): string | undefined {
  const at = `${url.protocol}//${url.host}`;
  if (status >= 300 && status < 400) {
    const to = originOf(location, url);
    return `${at} answered ${status}, a redirect${to ? ` to ${to}` : ''}, which is never followed: set the connector's endpoint to the vendor's API URL`;
  }
  if (status === 405) return `${at} answered 405 Method Not Allowed: the endpoint is not the vendor's API URL`;
  return undefined;
}

/**
 * A provider's HTTP on the hardened client (core/http: certificate validation
 * always on, plain http only to loopback, no redirects, a deadline per
 * request, a response cap): JSON bodies encoded, a User-Agent added, every
 * credential the request carried redacted from the answer's body, and every
 * failure below HTTP turned into a `failed` answer naming scheme and host only
 * (a TLS verification failure raises the alarm, and so does an answer saying
 * the endpoint is wrong: a redirect or 405).
 */
export function vendorHttp(client: HttpClient, userAgent: string, urlSecret?: UrlSecret): VendorHttp {
  return {
    async request(method, url, opts): Promise<VendorAnswer> {
      let target = url;
      let fromSecret: string | undefined;
      if (urlSecret && !url.searchParams.has(urlSecret.param) && sameResource(url, urlSecret.endpoint)) {
        const value = await urlSecret.value();
        if (value !== undefined && value !== '') {
          fromSecret = value;
          target = new URL(url);
          target.searchParams.set(urlSecret.param, value);
        }
      }
      const headers: Record<string, string> = { 'user-agent': userAgent, ...(opts.headers ?? {}) };
      let body: Buffer | undefined = opts.body;
      if (opts.json !== undefined) {
        body = Buffer.from(JSON.stringify(opts.json), 'utf8');
        headers['content-type'] ??= 'application/json';
      }
      try {
        const res = await client.request(target, { method, headers, ...(body !== undefined ? { body } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
        const wrong = wrongEndpoint(target, res.status, res.headers.location);
        if (wrong) return { kind: 'failed', reason: wrong, alarm: true };
        // A vendor echoing the credential it was sent (Basic user:token, a bearer token, the sig) never puts it in a reason.
        return { kind: 'answered', status: res.status, headers: res.headers, body: withoutSentCredentials(res.body, headers, [fromSecret]) };
      } catch (err) {
        if (err instanceof HttpClientError) {
          // A vendor behind a private CA: say where to give it (validation is never turned off).
          const hint = err.untrustedIssuer ? ' (a private CA: PROBECTL_NOTIFY_CA_FILE)' : '';
          return { kind: 'failed', reason: `${err.message}${hint}`, ...(err.kind === 'tls' || err.kind === 'insecure' ? { alarm: true } : {}) };
        }
        throw err;
      }
    },
  };
}
