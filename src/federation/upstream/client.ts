/**
 * The connection to the metrics engine in upstream mode: probectl's hardened HTTPS client
 * (core/http/client.ts: certificate validation always on, http:// only to loopback, a deadline
 * on every call, bounded answers) with PROBECTL_METRICS_UPSTREAM_CA_FILE and the client
 * certificate, the credentials of PROBECTL_METRICS_UPSTREAM_TOKEN resolved at each call
 * (`user:password` → Basic, otherwise Bearer), and, with header tenancy, `X-Scope-OrgID:
 * <tenant>` on every call (Mimir/Cortex `X-Scope-OrgID`, Thanos Receive's default tenant header).
 *
 * `classify` turns the engine's answer into probectl's: 2xx passes; 401/403 (probectl's own
 * credentials), 408, 429, 5xx, unreachable → PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE (503);
 * past the deadline → PROBECTL_ERR_METRICS_UPSTREAM_TIMEOUT (503, the call cancelled); any other
 * 4xx → PROBECTL_ERR_METRICS_UPSTREAM_REFUSED with the engine's status. A read reset at once, before
 * any answer (a kept-alive connection the engine or a proxy closed as the request came), is sent
 * again, at most RESET_RETRIES times, within its deadline. Messages never carry the
 * engine's address path, the credentials (anything the request sent is cut out) or a label set
 * (each `{…}`, `metric[…=…]` and `name="value"` / `name=value` pair of the engine's message is
 * elided, so no series is named).
 */
import { readFileSync } from 'node:fs';
import { constants as zlibConstants, createGunzip } from 'node:zlib';
import type { Logger } from 'pino';
import { ProbectlError } from '../../core/errors.ts';
import { withoutSentCredentials } from '../../core/http/credentials.ts';
import { HttpClient, HttpClientError, type HttpStreamResponse } from '../../core/http/client.ts';
import type { SecretResolver } from '../../secrets/resolver.ts';
import type { UpstreamSettings } from './config.ts';
import { REMOTE_WRITE_REQUEST_HEADERS } from './encode.ts';
import { parseJson } from '../../core/json.ts';
import { OncePerInterval } from '../../core/once-per-interval.ts';
import { stoppedWith } from './stoppable.ts';

/** Largest engine answer passed through (a query_range over 10,000 series × 240 points is about 80 MB). */
export const MAX_UPSTREAM_RESPONSE_BYTES = 256 * 1_048_576;
const MAX_MESSAGE = 400;
/** A remote-write's transport failure (unreachable, timed out, TLS) is logged once per origin, kind and cause in this long (ms). */
const WRITE_TRANSPORT_LOG_MS = 10_000;
/** Fewest connections kept for the engine's Prometheus API (queries, series, labels, federate). */
export const UPSTREAM_READ_CONNECTIONS = 32;
/**
 * Connections to the remote-write receiver, apart from the queries' ones: a sender's writes
 * (Prometheus runs up to 50 shards at once) never make a query wait for a connection.
 */
export const UPSTREAM_WRITE_CONNECTIONS = 32;
/** Times a read reset before any answer (a kept-alive connection closed under it) is sent again. */
const RESET_RETRIES = 3;
/** A reset this soon after a read was sent (ms) is a kept-alive connection closed as it came, not the engine failing on it. */
const RESET_AT_ONCE_MS = 1000;
/** Longest a remote-write's 2xx body (read only to keep its connection) is waited for before it is dropped with the connection. */
const IGNORED_BODY_MS = 1000;
/** Most of an error answer kept (its message is cut to MAX_MESSAGE anyway): the rest is dropped unread with its connection. */
export const MAX_UPSTREAM_ERROR_BYTES = 1_048_576;

export type Params = ReadonlyArray<readonly [string, string]>;

interface CallInit {
  readonly method: 'GET' | 'POST';
  readonly body?: Buffer | string;
  readonly headers: Record<string, string>;
  readonly signal?: AbortSignal | undefined;
  readonly what?: string;
  /** The deadline ends with the headers (a 2xx body passed on at its reader's pace: HttpRequestOptions.deadline). */
  readonly streamed?: boolean;
  /** A 2xx body nobody reads (remote-write): its encoding does not matter. */
  readonly bodyIgnored?: boolean;
  /** Remote-write: on its own connections (UPSTREAM_WRITE_CONNECTIONS). */
  readonly write?: boolean;
  /** The call's deadline when shorter than PROBECTL_METRICS_UPSTREAM_TIMEOUT (what is left of it after a wait). */
  readonly timeoutMs?: number;
  /** What a 2xx answer must be (its Content-Type; mediaTypeOf): the API's JSON unless told. */
  readonly expects?: Expected;
}

/** A 2xx answer's kind: the Prometheus HTTP API's JSON, or federate's text exposition format. */
export type Expected = 'json' | 'exposition';

/** How a streamed answer may come: `gzip` asks the engine for a gzip body (the caller's client accepts one). */
export interface StreamOptions {
  readonly gzip?: boolean;
  /**
   * The first bytes of a 2xx body (its first chunk) read before the answer is given, so that what is no answer is an error the
   * caller can still hear as one: `bytes`, a body breaking off before them; `json` (a Prometheus API answer) also an
   * empty body, and a Prometheus error body under 2xx (identity only) — the class of its errorType (bad_data 400,
   * execution 422, not_found 404, not_acceptable 406) as the answer's status, anything else 503 unavailable.
   */
  readonly peek?: 'bytes' | 'json';
}

/** Bytes of the first bytes of a 2xx body that StreamOptions.peek looks at. */
const PEEK_BYTES = 64;
/** The HTTP status of each Prometheus errorType that is the caller's to fix (web/api/v1/api.go). */
const ERROR_TYPE_STATUS: Readonly<Record<string, number>> = { bad_data: 400, execution: 422, not_found: 404, not_acceptable: 406 };

/** A 2xx answer passed on as it arrives (UpstreamClient.apiStream, getStream). */
export interface UpstreamStream {
  readonly status: number;
  /** The body; iterate once. An engine failing mid-body ends it with a ProbectlError (transport errors as for a buffered call). */
  readonly chunks: AsyncIterable<Buffer>;
  /** `gzip` when the engine compressed the body (asked with StreamOptions.gzip): the chunks are the gzip stream, passed on as is. */
  readonly contentEncoding?: 'gzip';
}

export interface UpstreamAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** A Prometheus API call as a form POST (every engine accepts the form). */
function formCall(params: Params, signal: AbortSignal | undefined): CallInit {
  return { method: 'POST', body: new URLSearchParams(params as Array<[string, string]>).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, signal };
}

export class UpstreamClient {
  readonly settings: UpstreamSettings;
  private readonly http: HttpClient;
  /** Remote-write's own connections: writes waiting on a slow engine never hold the ones queries need, nor queries theirs. */
  private readonly writeHttp: HttpClient;
  private readonly secrets: Pick<SecretResolver, 'use'>;
  private readonly log: Logger | undefined;
  /** Remote-write's transport failures logged (transportError): at most one line per origin, kind and cause per WRITE_TRANSPORT_LOG_MS. */
  private readonly writeTransportFailures = new OncePerInterval(WRITE_TRANSPORT_LOG_MS, 100);
  /** 2xx answers of a type the call did not expect (checkMediaType), logged at most once per origin, call and type per WRITE_TRANSPORT_LOG_MS. */
  private readonly wrongTypes = new OncePerInterval(WRITE_TRANSPORT_LOG_MS, 100);

  /**
   * `readConnections`: the most reads that call the engine at once (PROBECTL_METRICS_MAX_CONCURRENT_QUERIES;
   * each holds one connection at a time), so a tenant holding its share of them at a hanging engine
   * leaves another tenant's read a connection; at least UPSTREAM_READ_CONNECTIONS.
   */
  constructor(settings: UpstreamSettings, secrets: Pick<SecretResolver, 'use'>, log?: Logger, readConnections = UPSTREAM_READ_CONNECTIONS) {
    this.settings = settings;
    this.secrets = secrets;
    this.log = log;
    const ca = settings.caFile ? [readFileSync(settings.caFile, 'utf8')] : undefined;
    const cert = settings.clientCertFile ? readFileSync(settings.clientCertFile, 'utf8') : undefined;
    const key = settings.clientKeyFile ? readFileSync(settings.clientKeyFile, 'utf8') : undefined;
    const tls = { ...(ca ? { ca } : {}), ...(cert !== undefined && key !== undefined ? { cert, key } : {}) };
    this.http = new HttpClient({ tls, timeoutMs: settings.timeoutMs, maxResponseBytes: MAX_UPSTREAM_RESPONSE_BYTES, connections: Math.max(UPSTREAM_READ_CONNECTIONS, readConnections) });
    this.writeHttp = new HttpClient({ tls, timeoutMs: settings.timeoutMs, maxResponseBytes: MAX_UPSTREAM_RESPONSE_BYTES, connections: UPSTREAM_WRITE_CONNECTIONS });
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

  private async open(url: URL, tenant: string, init: CallInit): Promise<{ res: HttpStreamResponse; headers: Record<string, string> }> {
    const headers = await this.headers(tenant, init.headers);
    const http = init.write === true ? this.writeHttp : this.http;
    const timeoutMs = init.timeoutMs ?? this.settings.timeoutMs;
    const started = performance.now();
    const send = (ms: number) => http.stream(url, { method: init.method, headers, ...(init.body !== undefined ? { body: init.body } : {}), ...(init.signal ? { signal: init.signal } : {}), ...(init.streamed ? { deadline: 'headers' as const } : {}), timeoutMs: ms });
    try {
      for (let attempt = 0; ; attempt++) {
        const sent = performance.now();
        try {
          return { res: await send(Math.max(1, Math.floor(timeoutMs - (sent - started)))), headers };
        } catch (err) {
          // A read (safe to send again) reset at once, before any answer: a kept-alive connection the engine or a proxy
          // closed as the request came (an idle timeout meeting it). Sent again, on what is left of the deadline: the
          // next kept connection may have been closed alike, so a few times. A reset after the engine worked on it a
          // while is the engine dying under it (a query exhausting its memory): never sent again.
          const now = performance.now();
          if (init.write === true || !resetBeforeAnswer(err) || init.signal?.aborted === true || now - sent > RESET_AT_ONCE_MS || timeoutMs - (now - started) < 1 || attempt >= RESET_RETRIES) throw err;
        }
      }
    } catch (err) {
      throw this.transportError(err, init.what ?? 'query', init.write === true);
    }
  }

  /**
   * The rest of an answer read whole; an error answer (at most its first MAX_UPSTREAM_ERROR_BYTES,
   * decoded when gzip) without anything the request sent. `leftMs`: what is left of the call's
   * deadline, for an error answer of a call whose deadline ended with the headers (streamed) —
   * an engine trickling its error message must not hold the read for ever.
   */
  private async finish(res: HttpStreamResponse, headers: Record<string, string>, what: string, encoding: 'identity' | 'gzip' | 'unreadable', leftMs?: number, bodyIgnored = false): Promise<UpstreamAnswer> {
    if (res.status < 300 && bodyIgnored) {
      // A body nobody reads (remote-write's 2xx): the status is the answer (the engine took the batch). Read no further
      // than an error's and for at most IGNORED_BODY_MS (so the connection may be kept); one that trickles, or breaks
      // off, is dropped with its connection — never a 503 at the deadline for a batch the engine stored.
      const timer = setTimeout(() => res.cancel(), IGNORED_BODY_MS);
      try {
        await head(res, MAX_UPSTREAM_ERROR_BYTES);
      } catch {
        res.cancel();
      } finally {
        clearTimeout(timer);
      }
      return { status: res.status, headers: res.headers, body: Buffer.alloc(0) };
    }
    if (res.status < 300) {
      try {
        return { status: res.status, headers: res.headers, body: await res.read() };
      } catch (err) {
        throw this.transportError(err, what, bodyIgnored);
      }
    }
    if (encoding === 'unreadable') {
      // Its status is the answer (a refused remote-write must stay refused, or its sender retries it for ever); its text is not read.
      res.cancel();
      return { status: res.status, headers: res.headers, body: Buffer.from(`(an answer in content encoding ${contentEncoding(res.headers).replace(/[^a-z0-9._-]/g, '').slice(0, 32)}, not read)`) };
    }
    let body = await this.errorRest(res, res.chunks(), [], leftMs, what, bodyIgnored);
    // Announced gzip but not gzip (no 1f 8b): the text as it came, which is the message.
    if (encoding === 'gzip' && body[0] === 0x1f && body[1] === 0x8b) body = await gunzipHead(body, MAX_UPSTREAM_ERROR_BYTES);
    return { status: res.status, headers: res.headers, body: withoutSentCredentials(body, headers) };
  }

  /**
   * An error body, of which `firstChunks` were read already: the rest of `source` to its end or
   * MAX_UPSTREAM_ERROR_BYTES in all, within `leftMs` when given (the deadline of a streamed call
   * ended with its headers: an engine trickling its error must not hold the read for ever; past
   * it, PROBECTL_ERR_METRICS_UPSTREAM_TIMEOUT). The connection is dropped after. `write`: a
   * remote-write's (transportError's log throttling).
   */
  private async errorRest(res: HttpStreamResponse, source: AsyncIterator<Buffer>, firstChunks: readonly Buffer[], leftMs: number | undefined, what: string, write = false): Promise<Buffer> {
    const parts = [...firstChunks];
    let size = parts.reduce((n, b) => n + b.length, 0);
    let late = false;
    const timer = leftMs === undefined ? undefined : setTimeout(() => {
      late = true;
      res.cancel();
    }, Math.max(1, leftMs));
    const tooLate = () => this.transportError(new HttpClientError('timeout', res.origin, 'the error answer did not end in time'), what, write);
    try {
      while (size < MAX_UPSTREAM_ERROR_BYTES) {
        const r = await source.next();
        if (r.done === true) break;
        parts.push(r.value);
        size += r.value.length;
      }
    } catch (err) {
      throw late ? tooLate() : this.transportError(err, what, write);
    } finally {
      clearTimeout(timer);
      res.cancel();
    }
    // Cancelled at the deadline, the body may have ended quietly: cut, not whole.
    if (late) throw tooLate();
    return Buffer.concat(parts, size).subarray(0, MAX_UPSTREAM_ERROR_BYTES);
  }

  /**
   * The answer's content encoding when probectl can take it: identity, or gzip for an error
   * answer (decoded by finish) or a 2xx asked compressed (`gzip2xx`, passed on as is); an error
   * answer in any other is `unreadable` (its status still the answer: finish reads none of it).
   * @throws ProbectlError PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE for a 2xx in another (the answer dropped)
   */
  private encodingOf(res: HttpStreamResponse, gzip2xx: boolean, what: string): 'identity' | 'gzip' | 'unreadable' {
    const encoding = contentEncoding(res.headers);
    if (encoding === 'identity') return 'identity';
    const error = res.status < 200 || res.status >= 300;
    if (encoding === 'gzip' && (gzip2xx || error)) return 'gzip';
    // A lasting misconfiguration (a proxy compressing on its own): the operator learns which call and what came.
    this.log?.warn({ origin: res.origin, call: what, status: res.status, content_encoding: encoding.slice(0, 64), asked: gzip2xx ? 'gzip' : 'identity' }, 'metrics upstream answered in a content encoding probectl did not ask for');
    if (error) return 'unreadable';
    res.cancel();
    throw new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine answered the ${what} with a content encoding probectl did not ask for; retry`);
  }

  /**
   * Refuses a 2xx answer whose Content-Type is not what the call expects (`init.expects`): a
   * proxy's HTML page (a login or maintenance page answered 200), or a URL that is not the
   * engine's API, would otherwise be passed to the caller as the engine's JSON or exposition.
   * An answer without a Content-Type passes (the body decides). A remote-write's 2xx body is
   * never read: anything passes.
   * @throws ProbectlError PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE (the answer dropped, the operator told once per call and type)
   */
  private checkMediaType(res: HttpStreamResponse, init: CallInit): void {
    if (res.status < 200 || res.status >= 300 || init.bodyIgnored === true) return;
    const expects = init.expects ?? 'json';
    const type = mediaTypeOf(res.headers);
    if (type === '' || (expects === 'json' ? isJsonType(type) : EXPOSITION_TYPES.has(type))) return;
    res.cancel();
    const what = init.what ?? 'query';
    const shown = type.slice(0, 64);
    if (this.wrongTypes.check(`${res.origin} ${what} ${shown}`, Date.now()).due) this.log?.warn({ origin: res.origin, call: what, status: res.status, content_type: shown, expected: expects === 'json' ? 'application/json' : 'text/plain' }, 'metrics upstream answered 2xx with a content type that is not the engine API\'s (a proxy page? check PROBECTL_METRICS_UPSTREAM_URL)');
    throw new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine answered the ${what} with ${shown}, not ${expects === 'json' ? 'the Prometheus API\'s JSON' : 'the text exposition format'} (a proxy's page in front of it?); retry`);
  }

  private async call(url: URL, tenant: string, init: CallInit): Promise<UpstreamAnswer> {
    const { res, headers } = await this.open(url, tenant, { ...init, headers: { ...init.headers, 'accept-encoding': 'identity' } });
    const what = init.what ?? 'query';
    // A 2xx body nobody reads (remote-write): its encoding, whatever it is, does not matter — the status is the answer.
    const ignored = init.bodyIgnored === true && res.status >= 200 && res.status < 300;
    const encoding = ignored ? 'identity' : this.encodingOf(res, init.bodyIgnored === true, what);
    this.checkMediaType(res, init);
    return this.finish(res, headers, what, encoding, undefined, init.bodyIgnored === true);
  }

  /** As call, but a 2xx body is passed on as it arrives instead of held whole. */
  private async callStreaming(url: URL, tenant: string, init: CallInit, opts: StreamOptions, deadline: 'headers' | 'whole' = 'headers'): Promise<UpstreamAnswer | UpstreamStream> {
    const started = performance.now();
    const { res, headers } = await this.open(url, tenant, { ...init, headers: { ...init.headers, 'accept-encoding': opts.gzip === true ? 'gzip' : 'identity' }, streamed: deadline === 'headers' });
    const what = init.what ?? 'query';
    // A 2xx body is passed on as is: compressed only when the caller accepts it.
    const encoding = this.encodingOf(res, opts.gzip === true, what);
    if (res.status < 200 || res.status >= 300) return this.finish(res, headers, what, encoding, deadline === 'headers' ? this.settings.timeoutMs - (performance.now() - started) : undefined);
    if (res.status !== 200) {
      // The engine's API and /federate answer 200: a 204/205 has no body, a 206 a part of one. Passed on, the caller
      // would read a 200 with an empty or partial body; the body is dropped unread and the status is the answer.
      res.cancel();
      return { status: res.status, headers: res.headers, body: Buffer.alloc(0) };
    }
    this.checkMediaType(res, init);
    const translate = (err: unknown) => this.transportError(err, what);
    const source = res.chunks();
    const firstChunks: Buffer[] = [];
    let ended = false;
    if (opts.peek !== undefined) {
      let size = 0;
      let late = false;
      const timer = deadline === 'headers' ? setTimeout(() => {
        late = true;
        res.cancel();
      }, Math.max(1, this.settings.timeoutMs - (performance.now() - started))) : undefined;
      try {
        // The first bytes that come, not more: what the engine wrote so far is passed on while it still writes.
        while (size === 0) {
          const r = await source.next();
          if (r.done === true) {
            ended = true;
            break;
          }
          firstChunks.push(r.value);
          size += r.value.length;
        }
      } catch (err) {
        throw translate(late ? new HttpClientError('timeout', res.origin, 'the answer did not begin in time') : err);
      } finally {
        clearTimeout(timer);
      }
      // A gzip body begins 1f 8b: anything else announced gzip would reach the caller as a body it cannot decode.
      const magic = firstChunks[0];
      if (encoding === 'gzip' && magic !== undefined && (magic[0] !== 0x1f || (magic.length > 1 && magic[1] !== 0x8b))) {
        res.cancel();
        throw new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine answered the ${what} with a body announced gzip that is not gzip; retry`);
      }
      if (opts.peek === 'json' && encoding === 'identity') {
        const start = Buffer.concat(firstChunks, size);
        if (size === 0) throw new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine answered the ${what} with an empty body; retry`);
        if (/^\s*\{\s*"status"\s*:\s*"error"/.test(start.toString('latin1', 0, PEEK_BYTES))) {
          // Read on as an error answer is (finish): to its end or its first MAX_UPSTREAM_ERROR_BYTES, within what is left
          // of the deadline — cut after its first chunk, a credential it echoes would be cut too, and escape redaction.
          const error = await this.errorRest(res, source, firstChunks, deadline === 'headers' ? this.settings.timeoutMs - (performance.now() - started) : undefined, what);
          const type = /"errorType"\s*:\s*"([a-z_]{1,32})"/.exec(error.toString('utf8', 0, 65_536))?.[1];
          const status = type === undefined ? undefined : ERROR_TYPE_STATUS[type];
          if (status === undefined) throw new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine answered the ${what} with an error (${type ?? 'of no type'}) under HTTP ${res.status}; retry`);
          return { status, headers: res.headers, body: withoutSentCredentials(error, headers) };
        }
      }
    }
    async function* chunks(): AsyncGenerator<Buffer> {
      try {
        yield* firstChunks;
        if (!ended) yield* source;
      } catch (err) {
        throw translate(err);
      }
    }
    const body = chunks();
    // A reader that stops — even before its first read, or while a read waits on a silent
    // engine — drops the engine's answer and its connection at once (a generator not yet
    // started, or busy, would run no cleanup).
    const iterator = stoppedWith(body, () => res.cancel());
    return { status: res.status, chunks: iterator, ...(encoding === 'gzip' ? { contentEncoding: 'gzip' as const } : {}) };
  }

  /**
   * probectl's error for a call that failed on the way (`write`: a remote-write, whose failures a sender's shards
   * retry many times a second against an engine that is down: its line is let through once per
   * WRITE_TRANSPORT_LOG_MS for the same origin, kind and cause, counting those held back — forwardWrite logs each
   * failure with its tenant, throttled likewise).
   */
  private transportError(err: unknown, what: string, write = false): ProbectlError {
    if (err instanceof HttpClientError) {
      const due = write ? this.writeTransportFailures.check(`${err.origin} ${err.kind} ${err.causeCode ?? ''}`, Date.now()) : { due: true as const, skipped: 0 };
      if (due.due) this.log?.warn({ origin: err.origin, kind: err.kind, cause: err.causeCode, ...(write ? { call: 'remote-write' } : {}), ...(due.skipped > 0 ? { alike_since_last: due.skipped } : {}) }, 'metrics upstream call failed');
      if (err.kind === 'timeout') return new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_TIMEOUT', `${what} timed out: the metrics engine did not answer within ${this.settings.timeoutMs / 1000}s (PROBECTL_METRICS_UPSTREAM_TIMEOUT); the call was cancelled`);
      if (err.kind === 'aborted') return new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', 'the request was cancelled: the client went away');
      if (err.kind === 'too-large') return new ProbectlError('PROBECTL_ERR_METRICS_TOO_MANY_SAMPLES', `the metrics engine's answer is larger than ${MAX_UPSTREAM_RESPONSE_BYTES} bytes; narrow the query or the time range`);
      // A plain-HTTP port behind an https:// URL fails the handshake with a wrong version, not a certificate: said so, not "verification".
      const tls = err.causeCode === 'ERR_SSL_WRONG_VERSION_NUMBER' ? 'no TLS at that address: is it plain http://?' : 'TLS verification failed';
      return new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine is unavailable (${err.kind === 'tls' ? tls : err.kind === 'insecure' ? 'refused address' : 'unreachable'}); retry`);
    }
    throw err;
  }

  /** A Prometheus HTTP API call: `POST <url><path>` with a form body (every engine accepts the form). */
  api(tenant: string, path: string, params: Params, signal?: AbortSignal): Promise<UpstreamAnswer> {
    return this.call(this.apiUrl(path), tenant, formCall(params, signal));
  }

  /**
   * As api, a 2xx answer passed on as it arrives (query, query_range: answers of many megabytes);
   * with `gzip`, compressed by the engine if it will (Prometheus and VictoriaMetrics do), so the
   * bytes pass through probectl compressed.
   */
  apiStream(tenant: string, path: string, params: Params, signal?: AbortSignal, opts: StreamOptions = {}, what = 'query'): Promise<UpstreamAnswer | UpstreamStream> {
    return this.callStreaming(this.apiUrl(path), tenant, { ...formCall(params, signal), what }, opts);
  }

  /**
   * As api, a 2xx answer read as it arrives within PROBECTL_METRICS_UPSTREAM_TIMEOUT (the body
   * included), so the reader may stop early (series answers: series-count.ts). `what` names the
   * call in messages.
   */
  apiScan(tenant: string, path: string, params: Params, signal: AbortSignal | undefined, what: string, opts: StreamOptions = {}): Promise<UpstreamAnswer | UpstreamStream> {
    return this.callStreaming(this.apiUrl(path), tenant, { ...formCall(params, signal), what }, opts, 'whole');
  }

  /** As apiScan, as a GET (label values, which only takes GET). */
  getScan(tenant: string, path: string, params: Params, signal: AbortSignal | undefined, what: string, opts: StreamOptions = {}): Promise<UpstreamAnswer | UpstreamStream> {
    return this.callStreaming(this.getUrl(path, params), tenant, getCall(signal, 'json', what), opts, 'whole');
  }


  /** As get, a 2xx answer passed on as it arrives (federate: `expects` 'exposition'; label values: 'json'); `what` names the call in messages. */
  getStream(tenant: string, path: string, params: Params, signal: AbortSignal | undefined, opts: StreamOptions, what: string, expects: Expected): Promise<UpstreamAnswer | UpstreamStream> {
    return this.callStreaming(this.getUrl(path, params), tenant, getCall(signal, expects, what), opts);
  }

  private getUrl(path: string, params: Params): URL {
    const url = this.apiUrl(path);
    url.search = new URLSearchParams(params as Array<[string, string]>).toString();
    return url;
  }

  /**
   * A remote-write 1.0 request (snappy protobuf) to the write URL, on remote-write's own
   * connections; `timeoutMs` (at most PROBECTL_METRICS_UPSTREAM_TIMEOUT) its deadline.
   */
  write(tenant: string, body: Buffer, signal?: AbortSignal, timeoutMs?: number): Promise<UpstreamAnswer> {
    return this.call(new URL(this.settings.writeUrl.href), tenant, { method: 'POST', body, headers: { ...REMOTE_WRITE_REQUEST_HEADERS }, signal, what: 'remote-write', bodyIgnored: true, write: true, ...(timeoutMs !== undefined ? { timeoutMs: Math.min(timeoutMs, this.settings.timeoutMs) } : {}) });
  }

  private apiUrl(path: string): URL {
    const url = new URL(this.settings.url.href);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
    return url;
  }

  async close(): Promise<void> {
    await Promise.all([this.http.close(), this.writeHttp.close()]);
  }
}

/** A GET call (`what` names it in messages); federate sends no Accept, so the engine answers its default, the text format. */
function getCall(signal: AbortSignal | undefined, expects: Expected, what?: string): CallInit {
  return { method: 'GET', headers: expects === 'json' ? { accept: 'application/json' } : {}, signal, expects, ...(what !== undefined ? { what } : {}) };
}

/** Media types of the text exposition format a federate answer may come in (Prometheus writes `text/plain; version=0.0.4`). */
const EXPOSITION_TYPES = new Set(['text/plain']);

/** application/json, or a JSON-based type (`…+json`). */
function isJsonType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}

/** An answer's media type (RFC 9110 §8.3.1): lower-cased, parameters dropped; '' when absent. */
function mediaTypeOf(headers: Record<string, string | string[] | undefined>): string {
  const raw = headers['content-type'];
  const v = Array.isArray(raw) ? raw[0] ?? '' : raw ?? '';
  return (v.split(';')[0] ?? '').trim().toLowerCase();
}

/** A connection closed under a request before its answer began (HttpClient.stream throws only before the headers). */
function resetBeforeAnswer(err: unknown): boolean {
  return err instanceof HttpClientError && err.kind === 'network' && ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'].includes(err.causeCode ?? '');
}

/** The answer's Content-Encoding, lower-cased (`identity` when absent). */
function contentEncoding(headers: Record<string, string | string[] | undefined>): string {
  const raw = headers['content-encoding'];
  const v = (Array.isArray(raw) ? raw.join(',') : raw ?? '').trim().toLowerCase();
  return v === '' ? 'identity' : v;
}

/**
 * The text of a gzip error answer's first `max` compressed bytes, at most `max` bytes of it
 * (decoding stops there: a gzip bomb costs no more; a cut or corrupt stream gives what
 * decoded before the cut; nothing that decodes: an empty body).
 */
async function gunzipHead(body: Buffer, max: number): Promise<Buffer> {
  const gunzip = createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH });
  try {
    gunzip.end(body);
    // Corrupt past some point: what decoded before it.
    return await firstBytes(gunzip as AsyncIterable<Buffer>, max, true);
  } finally {
    gunzip.destroy();
  }
}

function head(res: HttpStreamResponse, max: number): Promise<Buffer> {
  return firstBytes(res.chunks(), max);
}

/**
 * The first `max` bytes of `chunks` (all of a shorter stream); the rest is not read. A stream
 * that fails gives its error, or with `keepOnError` what arrived before it.
 */
async function firstBytes(chunks: AsyncIterable<Buffer>, max: number, keepOnError = false): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of chunks) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= max) break;
    }
  } catch (err) {
    if (!keepOnError) throw err;
  }
  return Buffer.concat(parts, size).subarray(0, max);
}

/**
 * The engine's error message, bounded, without label sets (`{…}`) or control characters. Every
 * pattern runs in time linear in the message (up to MAX_UPSTREAM_ERROR_BYTES): a pattern that
 * backtracks over a long run of name characters would hold the event loop for minutes.
 */
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
    text = text.replace(/\{[^{}]*\}/g, '{…}').replace(/\[[^[\]]*\]/g, (group) => (group.includes('=') ? '[…]' : group));
  }
  // `name="value"`, `name=value` (and `!=`, `=~`, `!~`) outside braces: a label pair of some series.
  // The name is a whole run of name characters (never begun inside one, so a run is scanned once).
  text = text.replace(/(?<![A-Za-z0-9_.])([A-Za-z0-9_.]+\s*(?:=~|!~|!=|==?))\s*(?:"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|`[^`]*`?|[^\s,;)\]}]+)/g, '$1…');
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
  // 408 (a proxy or the engine timed the request out) and 429 are transient: retried, like 5xx.
  if (status === 408 || status === 429 || status >= 500 || status < 400) {
    log?.warn({ status }, `metrics upstream ${what} failed`);
    return new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine answered HTTP ${status} to the ${what}; retry`, { details: { retryAfterSeconds: retryAfterSeconds(answer.headers) } });
  }
  return new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_REFUSED', `the metrics engine refused the ${what}: ${engineMessage(answer.body)}`, { status });
}
