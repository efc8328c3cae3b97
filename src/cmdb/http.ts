import { HttpClient, HttpClientError } from '../core/http/client.ts';
import { CmdbUnavailable, type CmdbGet } from './providers/types.ts';

/** Retry-After (seconds or an HTTP date) in ms, capped at 10 minutes. */
function retryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const seconds = /^\d+$/.test(text.trim()) ? Number(text.trim()) * 1000 : Date.parse(text) - now;
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 600_000) : undefined;
}

/** `work`, or a CmdbUnavailable as soon as `signal` aborts (the lookup's deadline covers resolving the secret too). */
async function beforeDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new CmdbUnavailable('the CMDB credential (PROBECTL_CMDB_SECRET) was not resolved before the lookup deadline'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/**
 * GETs JSON from the CMDB on the hardened client (core/http: certificate
 * validation on, plaintext only to loopback, no redirects, a deadline, a size
 * cap) with the Authorization header `authorization()` gives (resolved at use
 * time). Every failure is a CmdbUnavailable naming scheme and host and the
 * status, never the path, query, credential or body: 401/403 (credential
 * refused), 404, 429 and 5xx (with Retry-After), redirects, a body that is not
 * JSON, timeouts and network errors.
 */
export function cmdbGet(client: HttpClient, userAgent: string, authorization: () => Promise<string>): CmdbGet {
  return async (url, signal) => {
    const at = `${url.protocol}//${url.host}`;
    let res;
    try {
      res = await client.request(url, { method: 'GET', headers: { accept: 'application/json', authorization: await beforeDeadline(authorization(), signal), 'user-agent': userAgent }, signal });
    } catch (err) {
      if (err instanceof HttpClientError) throw new CmdbUnavailable(err.message);
      throw err;
    }
    if (res.status === 401 || res.status === 403) throw new CmdbUnavailable(`${at} refused probectl's credential (${res.status}); check PROBECTL_CMDB_SECRET and its read-only role`);
    if (res.status === 429 || res.status >= 500) throw new CmdbUnavailable(`${at} answered ${res.status}`, retryAfter(res.headers['retry-after'], Date.now()));
    if (res.status !== 200) throw new CmdbUnavailable(`${at} answered ${res.status}${res.status >= 300 && res.status < 400 ? ' (a redirect, never followed: check PROBECTL_CMDB_URL)' : ''}`);
    try {
      return res.json();
    } catch {
      throw new CmdbUnavailable(`${at} answered 200 with a body that is not JSON`);
    }
  };
}
