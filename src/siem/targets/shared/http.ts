import { HttpsSender } from '../../senders/https.ts';
import type { SiemSettings } from '../../config.ts';
import type { SinkOutcome } from '../../../delivery/outcome.ts';
import type { Sender, TransportResult } from '../../senders/types.ts';
import type { BuildContext } from '../provider.ts';

export function snippet(body: Buffer | string, max = 512): string {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * The status-code rules every HTTP receiver shares: 2xx ok; 408, 429 and 5xx
 * retry (honouring Retry-After); 401/403 pause; 413 split; 400, 409 and 422
 * permanent (split down to the refused event); any other status (3xx, 404,
 * 405, 415, …) pauses: it is about the endpoint, and parking would move the
 * whole stream to the parked table. A transport without answers
 * (`sent`) is ok; a failure below HTTP retries, or pauses when it needs the
 * operator (TLS verification, an unavailable credential).
 */
export function classifyHttp(result: TransportResult, now: number, parseRetryAfter: (v: string | string[] | undefined, now: number) => number | undefined): SinkOutcome {
  if (result.kind === 'failed') return result.alarm ? { kind: 'paused', reason: result.reason } : { kind: 'retryable', reason: result.reason };
  if (result.kind === 'sent') return { kind: 'ok' };
  const { status } = result;
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 408 || status === 429 || status >= 500) {
    return { kind: 'retryable', reason: `HTTP ${status}`, retryAfterMs: parseRetryAfter(result.headers['retry-after'], now) };
  }
  if (status === 401 || status === 403) return { kind: 'paused', reason: `HTTP ${status}: the SIEM refused the credentials` };
  if (status === 413) return { kind: 'permanent', tooLarge: true, status, reason: `HTTP ${status}: request too large`, response: snippet(result.body) };
  // 409 stays an event's refusal, as before (a receiver deduplicating re-sends may answer it for one event).
  if (status === 400 || status === 409 || status === 422) return { kind: 'permanent', status, reason: `HTTP ${status}`, response: snippet(result.body) };
  // Anything else says the endpoint, not an event, is wrong (404 a wrong path, 405/415 a wrong kind of
  // endpoint, a redirect that is never followed): refusing event after event would park the whole stream.
  return { kind: 'paused', reason: `HTTP ${status}: the endpoint refuses this request as a whole (check PROBECTL_SIEM_ENDPOINT)${status >= 300 && status < 400 ? '; redirects are not followed' : ''}` };
}

/**
 * The hardened HTTPS sender to the endpoint, with PROBECTL_SIEM_CA_FILE, the
 * client certificate and gzip as configured; `authorization` gives the
 * Authorization header of each request (undefined: none — targets that put
 * their own credentials on each request).
 */
export function httpsSender(settings: SiemSettings, ctx: BuildContext, authorization: () => Promise<string | undefined>): Sender {
  const { ca, cert, key } = ctx.tls;
  return ctx.overrides.sender ?? new HttpsSender({
    endpoint: settings.endpoint,
    tls: { ...(ca ? { ca } : {}), ...(cert ? { cert, key } : {}) },
    gzip: settings.gzip,
    authorization,
  });
}

/** `Authorization: <scheme> <token>` from PROBECTL_SIEM_TOKEN, resolved at each request; none when no token is set. */
export function tokenAuthorization(settings: SiemSettings, ctx: BuildContext): () => Promise<string | undefined> {
  const token = settings.token;
  return async () => (token ? `${settings.authScheme} ${await ctx.resolveToken(token)}` : undefined);
}
