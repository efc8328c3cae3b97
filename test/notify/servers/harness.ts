/**
 * Local HTTPS stand-ins for the on-call and ITSM vendors of issue 9.
 *
 * Each vendor that cannot run here has a server in this folder that speaks its
 * current documented public API strictly enough that a wrong request fails with
 * the vendor's own error shape (the doc pages followed are cited at the top of
 * each file):
 *
 * | file            | vendor API                                                        | state to count                  |
 * |-----------------|-------------------------------------------------------------------|---------------------------------|
 * | pagerduty.ts    | Events API v2 `POST /v2/enqueue`; v3 webhook deliveries out       | `incidents`, `triggers(key)`    |
 * | opsgenie.ts     | Opsgenie Alert API v2 and JSM ops integration API; webhooks out   | `alerts`, `alert(alias)`        |
 * | slack.ts        | incoming webhooks + Web API chat.postMessage/update, history      | `messages(channel)`             |
 * | teams.ts        | Teams Workflows "When a Teams webhook request is received"        | `cards`                         |
 * | servicenow.ts   | Table API on `incident`; business-rule POSTs out                  | `records`, `find(correlationId)`|
 * | jira.ts         | Cloud REST v3/v2 and Data Center v2; `jira:issue_updated` out     | `issues`, `issue(key)`          |
 *
 * Common to all (this module): `node:https` on 127.0.0.1 port 0 with a
 * certificate from the per-process test CA of test/helpers/tls.ts (clients
 * trust `caPem`; validation is never disabled); `log` records every request
 * (method, path, headers, parsed body, answer status, fault); `inject()` queues
 * faults, each consumed by the first request it matches:
 *   - `status`: answer that status (vendor-shaped body, optional Retry-After)
 *     without applying the request;
 *   - `hang`: read the request and never answer (the client's deadline fires);
 *   - `reset`: destroy the connection before reading or applying anything;
 *   - `lost-response`: apply the request (state changes), then destroy the
 *     connection without answering — "the vendor acted, the answer never arrived";
 *   - `applied-hang`: apply the request, then keep the connection open without
 *     answering (until `close()`): the client is still waiting when the test
 *     kills it — "the vendor acted, the caller died before it committed".
 * `close()` destroys every connection (hanging ones included) and the server.
 * `vendors.ts` starts all six at once for end-to-end tests and the demo.
 *
 * Emitters (`deliver`, and each vendor's `emit…` method) POST the vendor's
 * outbound webhooks to a URL under a deadline, signed the vendor's way, or with
 * probectl's own inbound headers (`probectlAuthHeaders`) where the vendor has no
 * signature of its own (ServiceNow business rules, Opsgenie/JSM webhooks).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Agent, request } from 'undici';
import { leaf, testCa } from '../../helpers/tls.ts';

/** Which requests a fault applies to; absent fields match anything. */
export interface FaultMatch {
  method?: string;
  /** Exact pathname, or a pattern tested against pathname + query. */
  path?: string | RegExp;
}

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; body?: unknown; headers?: Record<string, string>; when?: FaultMatch }
  | { kind: 'hang'; when?: FaultMatch }
  | { kind: 'reset'; when?: FaultMatch }
  | { kind: 'lost-response'; when?: FaultMatch }
  | { kind: 'applied-hang'; when?: FaultMatch };

export interface VendorRequest {
  method: string;
  url: URL;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  /** Media type of the request body, lower-cased, without parameters ('' when absent). */
  contentType: string;
  /** The `charset` parameter of Content-Type, lower-cased, when present. */
  charset: string | undefined;
}

export interface VendorReply {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string or Buffer as is; undefined sends no body. */
  body?: unknown;
}

export interface LoggedRequest {
  seq: number;
  at: number;
  method: string;
  /** Path and query exactly as sent. */
  path: string;
  pathname: string;
  headers: IncomingHttpHeaders;
  raw: string;
  /** JSON or form bodies parsed; other bodies as text; undefined when empty or unparsable. */
  body: unknown;
  /** The status answered (or, for a lost response, the one that would have been); undefined when none. */
  status: number | undefined;
  /** The answer body, parsed when JSON. */
  reply: unknown;
  fault: Fault['kind'] | undefined;
  answered: boolean;
}

export type Handler = (req: VendorRequest) => VendorReply | Promise<VendorReply>;

export interface StandInOptions {
  /** Shown in errors. */
  name: string;
  handle: Handler;
  /** The vendor-shaped answer for an injected status fault. */
  errorReply?: (status: number, req: VendorRequest) => VendorReply;
  /** Host names the certificate is valid for; default localhost and 127.0.0.1. */
  hostNames?: string[];
}

const MAX_BODY = 4 * 1024 * 1024;

/**
 * One HTTPS server with a request log and a fault queue; vendors supply the
 * handler. Start it with `StandIn.start()`.
 */
export class StandIn {
  readonly name: string;
  readonly log: LoggedRequest[] = [];
  readonly faults: Fault[] = [];
  /** Handler crashes (a stand-in bug, answered 500): tests assert this stays empty. */
  readonly handlerErrors: Error[] = [];
  url = '';
  port = 0;
  caPem = '';
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly opts: StandInOptions;
  private seq = 0;
  private closing: Promise<void> | undefined;

  private constructor(opts: StandInOptions) {
    this.name = opts.name;
    this.opts = opts;
  }

  static async start(opts: StandInOptions): Promise<StandIn> {
    const s = new StandIn(opts);
    const [ca, cert] = await Promise.all([testCa(), leaf(opts.hostNames ? { names: opts.hostNames } : {})]);
    s.caPem = ca.certPem;
    const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => void s.onRequest(req, res));
    server.on('connection', (sock: Socket) => {
      s.sockets.add(sock);
      sock.on('close', () => s.sockets.delete(sock));
    });
    server.on('tlsClientError', () => {});
    s.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    s.port = (server.address() as AddressInfo).port;
    s.url = `https://127.0.0.1:${s.port}`;
    return s;
  }

  /** Queues faults; each is consumed by the first request it matches. */
  inject(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  /** Logged requests, optionally only those matching. */
  requests(match: FaultMatch = {}): LoggedRequest[] {
    return this.log.filter((r) => matches(match, r.method, r.pathname, r.path));
  }

  /** Resolves once `predicate` holds, polling every 10 ms; rejects after `timeoutMs`. */
  async waitFor(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > end) throw new Error(`${this.name}: ${what} not reached within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Destroys every connection (hanging ones too) and stops listening; idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const s of this.sockets) s.destroy();
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  private takeFault(method: string, pathname: string, path: string): Fault | undefined {
    const i = this.faults.findIndex((f) => matches(f.when ?? {}, method, pathname, path));
    return i < 0 ? undefined : this.faults.splice(i, 1)[0];
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? '';
    const path = req.url ?? '/';
    const url = new URL(path, 'https://stand-in.invalid');
    const fault = this.takeFault(method, url.pathname, path);
    const entry: LoggedRequest = {
      seq: ++this.seq, at: Date.now(), method, path, pathname: url.pathname, headers: req.headers,
      raw: '', body: undefined, status: undefined, reply: undefined, fault: fault?.kind, answered: false,
    };
    if (fault?.kind === 'reset') {
      this.log.push(entry);
      const sock = req.socket as Socket & { resetAndDestroy?: () => void };
      try {
        sock.resetAndDestroy?.();
      } catch {
        /* TLS sockets may refuse an RST; destroy below */
      }
      sock.destroy();
      return;
    }
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch {
      this.log.push(entry);
      req.socket.destroy();
      return;
    }
    const [mediaType, ...params] = String(req.headers['content-type'] ?? '').split(';');
    const charset = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '');
    const vreq: VendorRequest = {
      method, url, path: url.pathname, query: url.searchParams, headers: req.headers, raw,
      contentType: (mediaType ?? '').trim().toLowerCase(), charset,
    };
    entry.raw = raw.toString('utf8');
    entry.body = parseForLog(vreq);
    this.log.push(entry);

    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'status') {
      const base = this.opts.errorReply?.(fault.status, vreq) ?? { status: fault.status, body: { error: 'injected' } };
      const headers = { ...(base.headers ?? {}), ...(fault.headers ?? {}), ...(fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {}) };
      this.send(res, entry, { status: fault.status, headers, body: fault.body ?? base.body });
      return;
    }
    let reply: VendorReply;
    try {
      reply = await this.opts.handle(vreq);
    } catch (err) {
      this.handlerErrors.push(err as Error);
      reply = { status: 500, headers: { 'content-type': 'text/plain' }, body: `${this.name} stand-in failed: ${(err as Error).message}` };
    }
    if (fault?.kind === 'lost-response' || fault?.kind === 'applied-hang') {
      entry.status = reply.status;
      entry.reply = reply.body;
      if (fault.kind === 'lost-response') req.socket.destroy();
      return;
    }
    this.send(res, entry, reply);
  }

  private send(res: ServerResponse, entry: LoggedRequest, reply: VendorReply): void {
    const isObject = reply.body !== undefined && typeof reply.body !== 'string' && !Buffer.isBuffer(reply.body);
    const payload = reply.body === undefined ? '' : isObject ? JSON.stringify(reply.body) : (reply.body as string | Buffer);
    const headers: Record<string, string> = { ...(isObject ? { 'content-type': 'application/json;charset=UTF-8' } : {}), ...(reply.headers ?? {}) };
    entry.status = reply.status;
    entry.reply = reply.body;
    entry.answered = true;
    res.writeHead(reply.status, headers);
    res.end(payload);
  }
}

function matches(m: FaultMatch, method: string, pathname: string, path: string): boolean {
  if (m.method !== undefined && m.method.toUpperCase() !== method) return false;
  if (m.path === undefined) return true;
  return typeof m.path === 'string' ? m.path === pathname : m.path.test(path);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new Error('body too large for the stand-in');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseForLog(req: VendorRequest): unknown {
  if (req.raw.length === 0) return undefined;
  const text = req.raw.toString('utf8');
  if (req.contentType === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Parses a JSON body; `undefined` when it is not JSON (callers answer the vendor's parse error). */
export function jsonBody(req: VendorRequest): unknown {
  try {
    return JSON.parse(req.raw.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `Basic` credentials of a request as [user, password], or undefined. */
export function basicAuth(req: VendorRequest): [string, string] | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(String(req.headers.authorization ?? ''));
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? undefined : [decoded.slice(0, i), decoded.slice(i + 1)];
}

/** The token of an `Authorization: <scheme> <token>` header, or undefined. */
export function schemeToken(req: VendorRequest, scheme: string): string | undefined {
  const h = String(req.headers.authorization ?? '');
  return h.toLowerCase().startsWith(`${scheme.toLowerCase()} `) ? h.slice(scheme.length + 1).trim() : undefined;
}

export function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export function hmacSha256Hex(secret: string, data: string | Buffer): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}

/**
 * probectl's own inbound webhook authentication (issue 9, item 7), for
 * emitters whose vendor has no signature of its own: an HMAC over
 * "<unix seconds>.<raw body>" or the shared token.
 */
export type InboundAuth =
  | { kind: 'hmac'; secret: string; /** Unix seconds; default now. */ timestamp?: number }
  | { kind: 'token'; secret: string }
  | { kind: 'none' };

export function probectlAuthHeaders(auth: InboundAuth, body: string): Record<string, string> {
  if (auth.kind === 'token') return { 'x-probectl-token': auth.secret };
  if (auth.kind === 'hmac') {
    const ts = String(auth.timestamp ?? Math.floor(Date.now() / 1000));
    return { 'x-probectl-timestamp': ts, 'x-probectl-signature': `sha256=${hmacSha256Hex(auth.secret, `${ts}.${body}`)}` };
  }
  return {};
}

export interface Delivery {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface DeliverOptions {
  /** PEM CA to trust for an https:// target (the test CA); plain http only to loopback. */
  ca?: string;
  /** Deadline for the whole delivery; default 10 s. */
  timeoutMs?: number;
}

/**
 * POSTs a webhook delivery (exact bytes and headers) under a deadline and
 * returns the receiver's answer. Throws on a network error or timeout.
 */
export async function deliver(target: string, body: string, headers: Record<string, string>, opts: DeliverOptions = {}): Promise<Delivery> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const dispatcher = new Agent({ connect: opts.ca ? { ca: opts.ca, rejectUnauthorized: true } : { rejectUnauthorized: true } });
  try {
    const res = await request(target, {
      method: 'POST', dispatcher, body, headers, signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
    });
    return { status: res.statusCode, headers: res.headers as Delivery['headers'], text: await res.body.text() };
  } finally {
    await dispatcher.close().catch(() => undefined);
  }
}
