/**
 * The connection to the metrics engine in upstream mode: probectl's hardened HTTPS client
 * (core/http/client.ts: certificate validation always on, http:// only to loopback, a deadline
 * on every call, bounded answers) with PROBECTL_METRICS_UPSTREAM_CA_FILE and the client
 * certificate, the credentials of PROBECTL_METRICS_UPSTREAM_TOKEN resolved at each call
 * (`user:password` → Basic, otherwise Bearer), and, with header tenancy, `X-Scope-OrgID:
 * <tenant>` on every call (Mimir/Cortex `X-Scope-OrgID`, Thanos Receive's default tenant header).
 *
 * `classify` turns the engine's answer into probectl's: 2xx passes; 401/403 (probectl's own
 * credentials), 429, 5xx, unreachable → PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE (503);
 * past the deadline → PROBECTL_ERR_METRICS_UPSTREAM_TIMEOUT (503, the call cancelled); any other
 * 4xx → PROBECTL_ERR_METRICS_UPSTREAM_REFUSED with the engine's status. Messages never carry the
 * engine's address path, the credentials (anything the request sent is cut out) or a label set
 * (each `{…}`, `metric[…=…]` and `name="value"` / `name=value` pair of the engine's message is
 * elided, so no series is named).
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { ProbectlError } from '../../core/errors.ts';
import { withoutSentCredentials } from '../../core/http/credentials.ts';
import { HttpClient, HttpClientError, type HttpResponse } from '../../core/http/client.ts';
import type { SecretResolver } from '../../secrets/resolver.ts';
import type { UpstreamSettings } from './config.ts';
import { REMOTE_WRITE_REQUEST_HEADERS } from './encode.ts';
import { parseJson } from '../../core/json.ts';

/** Largest engine answer passed through (a query_range over 10,000 series × 240 points is about 80 MB). */
export const MAX_UPSTREAM_RESPONSE_BYTES = 256 * 1_048_576;
const MAX_MESSAGE = 400;

export type Params = ReadonlyArray<readonly [string, string]>;

export interface UpstreamAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export class UpstreamClient {
  readonly settings: UpstreamSettings;
  private readonly http: HttpClient;
  private readonly secrets: Pick<SecretResolver, 'use'>;
  private readonly log: Logger | undefined;

  constructor(settings: UpstreamSettings, secrets: Pick<SecretResolver, 'use'>, log?: Logger) {
    this.settings = settings;
    this.secrets = secrets;
    this.log = log;
    const ca = settings.caFile ? [readFileSync(settings.caFile, 'utf8')] : undefined;
    const cert = settings.clientCertFile ? readFileSync(settings.clientCertFile, 'utf8') : undefined;
    const key = settings.clientKeyFile ? readFileSync(settings.clientKeyFile, 'utf8') : undefined;
    this.http = new HttpClient({
      tls: { ...(ca ? { ca } : {}), ...(cert !== undefined && key !== undefined ? { cert, key } : {}) },
      timeoutMs: settings.timeoutMs, maxResponseBytes: MAX_UPSTREAM_RESPONSE_BYTES, connections: 32,
    });
  }

  /** The headers of a call for `tenant`: credentials (resolved now) and, with header tenancy, X-Scope-OrgID. */
  private async headers(tenant: string, extra: Record<string, string>): Promise<Record<string, string>> {
    const h: Record<string, string> = { 'user-agent': 'probectl', ...extra };
    if (this.settings.tenancy === 'header') h['x-scope-orgid'] = tenant;
    const token = this.settings.token;
    if (token !== undefined) {
      h.authorization = await this.secrets.use(token, (plain) => {
        const text = plain.toString('utf8');
        return text.includes(':') ? `Basic ${Buffer.from(text, 'utf8').toString('base64')}` : `Bearer ${text}`;
      });
    }
    return h;
  }

  private async call(url: URL, tenant: string, init: { method: 'GET' | 'POST'; body?: Buffer | string; headers: Record<string, string>; signal?: AbortSignal | undefined; what?: string }): Promise<UpstreamAnswer> {
    const headers = await this.headers(tenant, init.headers);
    let res: HttpResponse;
    try {
      res = await this.http.request(url, { method: init.method, headers, ...(init.body !== undefined ? { body: init.body } : {}), ...(init.signal ? { signal: init.signal } : {}) });
    } catch (err) {
      throw this.transportError(err, init.what ?? 'query');
    }
    const body = res.status >= 300 ? withoutSentCredentials(res.body, headers) : res.body;
    return { status: res.status, headers: res.headers, body };
  }

  private transportError(err: unknown, what: string): ProbectlError {
    if (err instanceof HttpClientError) {
      this.log?.warn({ origin: err.origin, kind: err.kind, cause: err.causeCode }, 'metrics upstream call failed');
      if (err.kind === 'timeout') return new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_TIMEOUT', `${what} timed out: the metrics engine did not answer within ${this.settings.timeoutMs / 1000}s (PROBECTL_METRICS_UPSTREAM_TIMEOUT); the call was cancelled`);
      if (err.kind === 'aborted') return new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', 'the request was cancelled: the client went away');
      if (err.kind === 'too-large') return new ProbectlError('PROBECTL_ERR_METRICS_TOO_MANY_SAMPLES', `the metrics engine's answer is larger than ${MAX_UPSTREAM_RESPONSE_BYTES} bytes; narrow the query or the time range`);
      return new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine is unavailable (${err.kind === 'tls' ? 'TLS verification failed' : err.kind === 'insecure' ? 'refused address' : 'unreachable'}); retry`);
    }
    throw err;
  }

  /** A Prometheus HTTP API call: `POST <url><path>` with a form body (every engine accepts the form). */
  api(tenant: string, path: string, params: Params, signal?: AbortSignal): Promise<UpstreamAnswer> {
    return this.call(this.apiUrl(path), tenant, { method: 'POST', body: new URLSearchParams(params as Array<[string, string]>).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, signal });
  }

  /** `GET <url><path>?params` (federate, which only takes GET). */
  get(tenant: string, path: string, params: Params, signal?: AbortSignal): Promise<UpstreamAnswer> {
    const url = this.apiUrl(path);
    url.search = new URLSearchParams(params as Array<[string, string]>).toString();
    return this.call(url, tenant, { method: 'GET', headers: {}, signal });
  }

  /** A remote-write 1.0 request (snappy protobuf) to the write URL. */
  write(tenant: string, body: Buffer, signal?: AbortSignal): Promise<UpstreamAnswer> {
    return this.call(new URL(this.settings.writeUrl.href), tenant, { method: 'POST', body, headers: { ...REMOTE_WRITE_REQUEST_HEADERS }, signal, what: 'remote-write' });
  }

  private apiUrl(path: string): URL {
    const url = new URL(this.settings.url.href);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
    return url;
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

/** The engine's error message, bounded, without label sets (`{…}`) or control characters. */
export function engineMessage(body: Buffer): string {
  let text = body.subarray(0, 16_384).toString('utf8');
  try {
    const parsed = parseJson(body.toString('utf8')) as { error?: unknown };
    if (typeof parsed.error === 'string') text = parsed.error;
  } catch {
    // not JSON: the text itself
  }
  let prev = '';
  while (prev !== text) {
    prev = text;
    text = text.replace(/\{[^{}]*\}/g, '{…}').replace(/\[[^[\]]*=[^[\]]*\]/g, '[…]');
  }
  // `name="value"`, `name=value` (and `!=`, `=~`, `!~`) outside braces: a label pair of some series.
  text = text.replace(/([A-Za-z_][A-Za-z0-9_.]*\s*(?:=~|!~|!=|==?))\s*(?:"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|`[^`]*`?|[^\s,;)\]}]+)/g, '$1…');
  // eslint-disable-next-line no-control-regex
  text = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

/** Seconds of the engine's Retry-After (delay-seconds only), if it sent one within an hour. */
export function retryAfterSeconds(headers: UpstreamAnswer['headers']): number | undefined {
  const raw = headers['retry-after'];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (v === undefined || !/^\d{1,4}$/.test(v.trim())) return undefined;
  const n = Number(v.trim());
  return n <= 3600 ? n : undefined;
}

/**
 * The engine's non-2xx answer as probectl's error (see the module comment). `what` names the
 * call in messages ("query", "remote-write").
 */
export function answerError(answer: UpstreamAnswer, what: string, log?: Logger): ProbectlError {
  const { status } = answer;
  if (status === 401 || status === 403) {
    log?.error({ status }, 'metrics upstream refused probectl\'s credentials (PROBECTL_METRICS_UPSTREAM_TOKEN / client certificate)');
    return new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine refused probectl's credentials (HTTP ${status}); the operator must check PROBECTL_METRICS_UPSTREAM_TOKEN; retry later`);
  }
  if (status === 429 || status >= 500 || status < 400) {
    log?.warn({ status }, `metrics upstream ${what} failed`);
    return new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine answered HTTP ${status} to the ${what}; retry`, { details: { retryAfterSeconds: retryAfterSeconds(answer.headers) } });
  }
  return new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_REFUSED', `the metrics engine refused the ${what}: ${engineMessage(answer.body)}`, { status });
}
