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

/**
 * A provider's HTTP on the hardened client (core/http: certificate validation
 * always on, plain http only to loopback, no redirects, a deadline per
 * request, a response cap): JSON bodies encoded, a User-Agent added, every
 * credential the request carried redacted from the answer's body, and every
 * failure below HTTP turned into a `failed` answer naming scheme and host only
 * (a TLS verification failure raises the alarm).
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
        // A vendor echoing the credential it was sent (Basic user:token, a bearer token, the sig) never puts it in a reason.
        return { kind: 'answered', status: res.status, headers: res.headers, body: withoutSentCredentials(res.body, headers, [fromSecret]) };
      } catch (err) {
        if (err instanceof HttpClientError) return { kind: 'failed', reason: err.message, ...(err.kind === 'tls' || err.kind === 'insecure' ? { alarm: true } : {}) };
        throw err;
      }
    },
  };
}
