import { createSecureContext, type SecureContext } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import { safeOrigin, transportProblem, trustStore } from './transport.ts';
import { parseJson } from '../json.ts';

/**
 * A small hardened HTTPS client on undici for everything probectl calls out
 * to (secret backends, SIEM senders, connectors): certificate validation is
 * always on, plain http:// only reaches loopback, redirects are never
 * followed, every request has a deadline and a response-size cap, and errors
 * name only scheme and host — never the path, query, headers or body.
 */

export type HttpErrorKind = 'insecure' | 'timeout' | 'tls' | 'network' | 'too-large' | 'aborted' | 'closed' | 'malformed';

export class HttpClientError extends Error {
  readonly kind: HttpErrorKind;
  /** `https://host:port` only. */
  readonly origin: string;
  /** A low-level error code (ECONNREFUSED, CERT_HAS_EXPIRED, …) when there was one. */
  readonly causeCode: string | undefined;

  constructor(kind: HttpErrorKind, origin: string, message: string, causeCode?: string) {
    super(`${origin}: ${message}`);
    this.name = 'HttpClientError';
    this.kind = kind;
    this.origin = origin;
    this.causeCode = causeCode;
  }

  /** A TLS failure because the peer's certificate is signed by a CA not trusted here (not an expired or misnamed one): a private CA may be missing. */
  get untrustedIssuer(): boolean {
    return this.kind === 'tls' && UNTRUSTED_ISSUER.has(this.causeCode ?? '');
  }
}

/** Node's TLS verification codes for a certificate whose issuer is not trusted (OpenSSL X509_V_ERR_*). */
const UNTRUSTED_ISSUER = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT']);

export interface HttpTlsOptions {
  /** Extra PEM CA bundles trusted in addition to the default roots. */
  ca?: readonly string[];
  /** Client certificate and key for mutual TLS (PEM). */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface HttpClientOptions {
  tls?: HttpTlsOptions;
  /** Deadline for a whole request (connect, headers and body); default 10 s. */
  timeoutMs?: number;
  /** Largest response body accepted; default 4 MiB. */
  maxResponseBytes?: number;
  /** Connections kept per origin; default 8. */
  connections?: number;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

export interface HttpRequestOptions {
  method?: HttpMethod;
  headers?: Record<string, string>;
  body?: string | Buffer | Uint8Array;
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * What the deadline (timeoutMs) covers: `whole` (default) the request, its headers and its
   * whole body; `headers` (for `stream`, a body passed on to a reader of its own pace) the
   * request and its headers, after which the body only has to keep arriving — no silence of
   * timeoutMs from the sender while the reader is ready for more — however long the reader takes.
   */
  deadline?: 'whole' | 'headers';
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The raw body; callers holding secrets zero it (`body.fill(0)`) once parsed. */
  body: Buffer;
  text(): string;
  /** Parses the body as JSON; a non-JSON body is a `malformed` HttpClientError. */
  json(): unknown;
}

/** An answer whose body is still to be read (HttpClient.stream). */
export interface HttpStreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** `scheme://host:port` of the request, for messages. */
  origin: string;
  /** The body as it arrives; iterate once. @throws HttpClientError (timeout, too-large, network, aborted) */
  chunks(): AsyncGenerator<Buffer>;
  /** The whole body; the chunks it was read in are zeroed. @throws HttpClientError */
  read(): Promise<Buffer>;
  /** Drops the body unread (and its connection). */
  cancel(): void;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE = 4 * 1024 * 1024;
const TLS_FAILURE = /CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS|ERR_SSL|EPROTO|HOSTNAME/;

export class HttpClient {
  private agent: Agent;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly connections: number;

  constructor(opts: HttpClientOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE;
    this.connections = opts.connections ?? 8;
    this.agent = this.buildAgent(opts.tls ?? {});
  }

  private buildAgent(tls: HttpTlsOptions): Agent {
    return new Agent({
      connections: this.connections,
      connect: { rejectUnauthorized: true, minVersion: 'TLSv1.2', secureContext: secureContextFor(tls) },
    });
  }

  /**
   * Replaces the TLS settings (a renewed client certificate, a new CA bundle)
   * for requests made from now on; requests in flight finish on the old ones.
   */
  setTls(tls: HttpTlsOptions): void {
    if (this.closed) return;
    const old = this.agent;
    this.agent = this.buildAgent(tls);
    void old.close().catch(() => undefined);
  }

  /**
   * One request, its body read whole (at most maxResponseBytes) within the deadline.
   * @throws HttpClientError (never the path, query, headers or body in its message)
   */
  async request(target: string | URL, opts: HttpRequestOptions = {}): Promise<HttpResponse> {
    const res = await this.stream(target, opts);
    const body = await res.read();
    const origin = res.origin;
    return {
      status: res.status,
      headers: res.headers,
      body,
      text: () => body.toString('utf8'),
      json: () => {
        try {
          return parseJson(body.toString('utf8')) as unknown;
        } catch {
          throw new HttpClientError('malformed', origin, 'response body is not valid JSON');
        }
      },
    };
  }

  /**
   * One request, answered as soon as the status and headers are in: the body is read by the
   * caller, either as it arrives (`chunks`, to pass a large answer on without holding it) or
   * whole (`read`); one of them, once. The deadline and the size cap cover the body too: past
   * either, the iteration throws an HttpClientError (`timeout`, `too-large`) and the
   * connection is dropped. `cancel` drops an unread body.
   * @throws HttpClientError before the headers arrive
   */
  async stream(target: string | URL, opts: HttpRequestOptions = {}): Promise<HttpStreamResponse> {
    const url = typeof target === 'string' ? parseUrl(target) : target;
    const origin = safeOrigin(url);
    if (this.closed) throw new HttpClientError('closed', origin, 'the HTTP client is closed');
    const problem = transportProblem(url);
    if (problem) throw new HttpClientError('insecure', origin, problem);

    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const timer = new AbortController();
    const deadlineTimer = setTimeout(() => timer.abort(new DOMException('deadline passed', 'TimeoutError')), timeoutMs);
    deadlineTimer.unref();
    const deadline = timer.signal;
    const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
    const failure = (err: unknown): HttpClientError => {
      if (err instanceof HttpClientError) return err;
      if (deadline.aborted) return new HttpClientError('timeout', origin, `no complete answer within ${timeoutMs} ms`);
      if (opts.signal?.aborted) return new HttpClientError('aborted', origin, 'request aborted');
      return classify(err, origin);
    };
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        dispatcher: this.agent,
        method: opts.method ?? 'GET',
        headers: opts.headers ?? {},
        body: opts.body ?? null,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (err) {
      clearTimeout(deadlineTimer);
      throw failure(err);
    }
    if (opts.deadline === 'headers') clearTimeout(deadlineTimer);
    const max = this.maxResponseBytes;
    const body = res.body;
    async function* chunks(): AsyncGenerator<Buffer> {
      let size = 0;
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > max) throw new HttpClientError('too-large', origin, `response body exceeds ${max} bytes`);
          yield chunk;
        }
      } catch (err) {
        throw failure(err);
      } finally {
        clearTimeout(deadlineTimer);
        body.destroy();
      }
    }
    return {
      status: res.statusCode,
      headers: res.headers as Record<string, string | string[] | undefined>,
      origin,
      chunks,
      async read() {
        const parts: Buffer[] = [];
        let size = 0;
        try {
          for await (const c of chunks()) {
            parts.push(c);
            size += c.length;
          }
          return Buffer.concat(parts, size);
        } finally {
          for (const c of parts) c.fill(0);
        }
      },
      cancel: () => {
        // An unread body destroyed emits its abort as an error: nobody reads it any more.
        body.on('error', () => undefined);
        body.destroy();
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.agent.close().catch(() => undefined);
  }
}

/** Contexts without a client certificate, by their extra CA bundles (a handful per process). */
const sharedContexts = new Map<string, SecureContext>();

/**
 * The TLS context of a client's connections, built once: given to every
 * connection instead of the CA list, which Node would otherwise parse into a
 * new context (the ~150 default roots included) for each connection — about
 * a megabyte of native memory and a noticeable share of a handshake each.
 * Clients trusting the same extra CAs without a client certificate share one.
 */
function secureContextFor(tls: HttpTlsOptions): SecureContext {
  const build = () => {
    const ca = trustStore(tls.ca ?? []);
    return createSecureContext({
      minVersion: 'TLSv1.2',
      ...(ca ? { ca } : {}),
      ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
      ...(tls.key !== undefined ? { key: tls.key } : {}),
    });
  };
  if (tls.cert !== undefined || tls.key !== undefined) return build();
  const key = JSON.stringify(tls.ca ?? []);
  let ctx = sharedContexts.get(key);
  if (!ctx) sharedContexts.set(key, (ctx = build()));
  return ctx;
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new HttpClientError('insecure', '(invalid URL)', 'not a valid URL');
  }
}

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET' && code !== 'UND_ERR_CONNECT') return code;
    e = (e as { cause?: unknown }).cause;
  }
  const top = (err as { code?: unknown } | undefined)?.code;
  return typeof top === 'string' ? top : undefined;
}

function classify(err: unknown, origin: string): HttpClientError {
  const code = errorCode(err);
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new HttpClientError('timeout', origin, `timed out (${code})`, code);
  }
  if (code !== undefined && TLS_FAILURE.test(code)) return new HttpClientError('tls', origin, `TLS verification failed (${code})`, code);
  if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || code === 'HPE_INVALID_CONSTANT' || code?.startsWith('HPE_')) {
    return new HttpClientError('malformed', origin, `invalid HTTP response (${code})`, code);
  }
  return new HttpClientError('network', origin, `unreachable (${code ?? 'connection failed'})`, code);
}
