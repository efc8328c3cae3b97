import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { listenHttps } from '../../helpers/https-stand-in.ts';
import { tokenScopes, type GoogleOAuthServer } from '../../secrets/servers/google-oauth.ts';
import { udmProblems } from '../helpers/udm-schema.ts';

/**
 * A local Google SecOps (Chronicle API, v1alpha/v1beta) serving one instance:
 * - POST …/instances/{i}/logTypes/{LT}/logs:import — ImportLogsRequest
 *   `{"inlineSource":{"logs":[Log…],"forwarder"?,"sourceFilename"?},"hint"?}`,
 *   each Log `{data: base64 bytes, logEntryTime, collectionTime (after logEntryTime), …}`;
 * - POST …/instances/{i}/events:import — ImportEventsRequest
 *   `{"inlineSource":{"events":[{"udm":{…}}]}}`, every UDM event checked
 *   against udm.proto (an invalid one rejects the whole request, as documented);
 * both with `Authorization: Bearer` — a token the Google OAuth stand-in issued
 * with scope cloud-platform (or chronicle);
 * - POST …/instances/{i}/feeds/{feed}:importPushLogs — the HTTPS webhook feed:
 *   `X-goog-api-key` and `X-Webhook-Access-Key` headers, newline-separated JSON.
 * Errors are google.rpc statuses `{"error":{"code","message","status"}}`.
 * Faults are injected from a queue; an entry containing POISON is refused
 * with 400 INVALID_ARGUMENT.
 */

/**
 * A fault for the next request; `pass` lets one request through untouched (to fault a later one);
 * `revoke` (import methods) revokes the request's OAuth token: 401 UNAUTHENTICATED to it from then on.
 */
export type ChronicleFault = { status: 429; retryAfter?: string } | { status: 500 | 503 } | { status: 401 | 403 } | 'pass' | 'revoke';

export interface ChronicleRequest { mode: 'logs' | 'events' | 'webhook' | 'unknown'; status: number; path: string; headers: Record<string, string | string[] | undefined>; bytes: number }

export interface ChronicleServer {
  readonly origin: string;
  /** The three endpoint URLs of this instance. */
  readonly logsUrl: string;
  readonly eventsUrl: string;
  readonly webhookUrl: string;
  readonly requests: ChronicleRequest[];
  /** logs:import entries accepted: the decoded data and the entry's times. */
  readonly logs: { data: string; logEntryTime: string; collectionTime: string }[];
  /** events:import UDM events accepted. */
  readonly events: Record<string, unknown>[];
  /** Webhook lines accepted, parsed. */
  readonly lines: unknown[];
  readonly faults: ChronicleFault[];
  /** OAuth tokens refused with 401 although issued (revoked). */
  readonly revoked: Set<string>;
  rejectPoison: boolean;
  /** Largest body accepted (413 above). */
  maxBodyBytes: number;
  close(): Promise<void>;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const SCOPES = new Set(['https://www.googleapis.com/auth/cloud-platform', 'https://www.googleapis.com/auth/chronicle']);
const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 413: 'INVALID_ARGUMENT', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

function only(obj: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  return Object.keys(obj).find((k) => !allowed.includes(k));
}

export async function startChronicle(opts: { oauth: GoogleOAuthServer; apiKey: string; webhookSecret: string; project?: string; location?: string; instance?: string; logType?: string; feed?: string; version?: 'v1alpha' | 'v1beta' }): Promise<ChronicleServer> {
  const project = opts.project ?? 'acme-secops';
  const location = opts.location ?? 'us';
  const instance = opts.instance ?? '0f6e4d2c-1a3b-4c5d-8e9f-a0b1c2d3e4f5';
  const logType = opts.logType ?? 'PROBECTL';
  const feed = opts.feed ?? 'probectl-webhook';
  const version = opts.version ?? 'v1beta';

  function fail(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}, name = STATUS_NAMES[status] ?? 'UNKNOWN'): number {
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
    res.end(JSON.stringify({ error: { code: status, message, status: name } }));
    return status;
  }

  function checkBearer(req: IncomingMessage): string | undefined {
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Bearer ')) return 'Request is missing required authentication credential. Expected OAuth 2 access token.';
    const token = auth.slice(7);
    if (!opts.oauth.issued.has(token) || server.revoked.has(token)) return 'Request had invalid authentication credentials. Expected OAuth 2 access token.';
    if (!tokenScopes(opts.oauth, token)?.some((s) => SCOPES.has(s))) return 'Request had insufficient authentication scopes.';
    return undefined;
  }

  function logsBody(body: Record<string, unknown>): string | { data: string; logEntryTime: string; collectionTime: string }[] {
    const extra = only(body, ['inlineSource', 'hint']);
    if (extra) return `Invalid JSON payload received. Unknown name "${extra}": Cannot find field.`;
    const src = body.inlineSource as Record<string, unknown> | undefined;
    if (!src || typeof src !== 'object') return 'inline_source is required';
    const srcExtra = only(src, ['logs', 'forwarder', 'sourceFilename']);
    if (srcExtra) return `Invalid JSON payload received. Unknown name "${srcExtra}" at 'inline_source': Cannot find field.`;
    if (!Array.isArray(src.logs) || src.logs.length === 0) return 'inline_source.logs must not be empty';
    const out: { data: string; logEntryTime: string; collectionTime: string }[] = [];
    for (const [i, log] of (src.logs as Record<string, unknown>[]).entries()) {
      const e = log && typeof log === 'object' ? only(log, ['data', 'logEntryTime', 'collectionTime', 'environmentNamespace', 'labels', 'additionals']) : 'log';
      if (e) return `Invalid JSON payload received. Unknown name "${e}" at 'inline_source.logs[${i}]': Cannot find field.`;
      if (typeof log.data !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(log.data) || log.data.length % 4 !== 0) return `inline_source.logs[${i}].data is not base64 bytes`;
      for (const f of ['logEntryTime', 'collectionTime'] as const) if (typeof log[f] !== 'string' || !RFC3339.test(log[f] as string)) return `inline_source.logs[${i}].${f} is required and must be an RFC 3339 timestamp`;
      if (Date.parse(log.collectionTime as string) <= Date.parse(log.logEntryTime as string)) return `inline_source.logs[${i}].collection_time must be after log_entry_time`;
      const data = Buffer.from(log.data, 'base64').toString('utf8');
      if (data === '') return `inline_source.logs[${i}].data is empty`;
      out.push({ data, logEntryTime: log.logEntryTime as string, collectionTime: log.collectionTime as string });
    }
    return out;
  }

  function eventsBody(body: Record<string, unknown>): string | Record<string, unknown>[] {
    const extra = only(body, ['inlineSource']);
    if (extra) return `Invalid JSON payload received. Unknown name "${extra}": Cannot find field.`;
    const src = body.inlineSource as Record<string, unknown> | undefined;
    if (!src || typeof src !== 'object' || only(src, ['events'])) return 'inline_source with events only is required';
    if (!Array.isArray(src.events) || src.events.length === 0) return 'inline_source.events must not be empty';
    const out: Record<string, unknown>[] = [];
    for (const [i, ev] of (src.events as Record<string, unknown>[]).entries()) {
      if (!ev || typeof ev !== 'object' || only(ev, ['name', 'udm']) || !ev.udm) return `inline_source.events[${i}] must be an Event {udm}`;
      const problems = udmProblems(ev.udm);
      if (problems.length > 0) return `inline_source.events[${i}].udm is invalid: ${problems.slice(0, 3).join('; ')}`;
      const md = (ev.udm as { metadata?: { event_type?: unknown; event_timestamp?: unknown } }).metadata;
      if (!md?.event_type || !md.event_timestamp) return `inline_source.events[${i}].udm.metadata.event_type and event_timestamp are required`;
      out.push(ev.udm as Record<string, unknown>);
    }
    return out;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, record: ChronicleRequest): Promise<number> {
    const url = new URL(req.url ?? '/', 'https://chronicle.test');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    record.bytes = body.length;
    const parent = `/${version}/projects/${project}/locations/${location}/instances/${instance}`;
    const m = /^\/(v1alpha|v1beta)\/projects\/[^/]+\/locations\/[^/]+\/instances\/[^/]+\/(logTypes\/([^/]+)\/logs:import|events:import|feeds\/([^/:]+):importPushLogs)$/.exec(url.pathname);
    if (req.method !== 'POST' || !m) return fail(res, 404, 'Method not found.');
    record.mode = m[2]?.startsWith('logTypes') ? 'logs' : m[2] === 'events:import' ? 'events' : 'webhook';
    if (record.mode === 'webhook') {
      // The webhook feed authenticates with its two keys, never with a bearer token or URL parameters.
      if (url.search !== '') return fail(res, 400, 'Credentials are accepted in headers only in this test.');
      if (req.headers['x-goog-api-key'] !== opts.apiKey) return fail(res, 401, 'API key not valid. Please pass a valid API key.');
      if (req.headers['x-webhook-access-key'] !== opts.webhookSecret) return fail(res, 403, 'The webhook secret key is invalid.');
    } else {
      const problem = checkBearer(req);
      if (problem) return fail(res, problem.includes('scopes') ? 403 : 401, problem);
    }
    const next = server.faults.shift();
    if (next === 'revoke' && record.mode !== 'webhook') {
      server.revoked.add(String(req.headers.authorization).slice(7));
      return fail(res, 401, 'Request had invalid authentication credentials. Expected OAuth 2 access token.');
    }
    const fault = next === 'pass' || next === 'revoke' ? undefined : next;
    if (fault?.status === 429) return fail(res, 429, 'Quota exceeded for quota metric \'Ingestion requests\'.', fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    if (fault?.status === 500 || fault?.status === 503) return fail(res, fault.status, 'The service is currently unavailable.');
    if (fault?.status === 401 || fault?.status === 403) return fail(res, fault.status, fault.status === 401 ? 'Request had invalid authentication credentials.' : 'Permission \'chronicle.logs.import\' denied on resource.');
    if (!url.pathname.startsWith(parent)) return fail(res, 404, `Instance '${url.pathname.split('/').slice(2, 8).join('/')}' was not found.`);
    if (record.mode === 'logs' && m[3] !== logType) return fail(res, 404, `Log type '${m[3]}' was not found.`);
    if (record.mode === 'webhook' && m[4] !== feed) return fail(res, 404, `Feed '${m[4]}' was not found.`);
    if (!/^application\/json/.test(req.headers['content-type'] ?? '')) return fail(res, 400, 'Content-Type must be application/json.');
    if (body.length > server.maxBodyBytes) return fail(res, 413, 'Request payload size exceeds the limit.');
    const text = body.toString('utf8');
    if (record.mode === 'webhook') {
      const lines = text.split('\n');
      const parsed: unknown[] = [];
      for (const [i, l] of lines.entries()) {
        try {
          parsed.push(JSON.parse(l));
        } catch {
          return fail(res, 400, `line ${i + 1} is not a JSON value`);
        }
        if (server.rejectPoison && l.includes('POISON')) return fail(res, 400, `line ${i + 1} could not be parsed`);
      }
      server.lines.push(...parsed);
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
      res.end('{}');
      return 200;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return fail(res, 400, 'Invalid JSON payload received.');
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) return fail(res, 400, 'Invalid JSON payload received. Expected an object.');
    const result = record.mode === 'logs' ? logsBody(json as Record<string, unknown>) : eventsBody(json as Record<string, unknown>);
    if (typeof result === 'string') return fail(res, 400, result);
    if (server.rejectPoison && JSON.stringify(result).includes('POISON')) return fail(res, 400, 'An entry could not be processed; the request was rejected.');
    if (record.mode === 'logs') server.logs.push(...(result as ChronicleServer['logs']));
    else server.events.push(...(result as Record<string, unknown>[]));
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
    res.end('{}');
    return 200;
  }

  const http = await listenHttps<ChronicleRequest>(handle, (req) => {
    const record: ChronicleRequest = { mode: 'unknown', status: 0, path: req.url ?? '', headers: { ...req.headers }, bytes: 0 };
    server.requests.push(record);
    return record;
  });
  const origin = http.origin;
  const parentUrl = `${origin}/${version}/projects/${project}/locations/${location}/instances/${instance}`;

  const server: ChronicleServer = {
    origin,
    logsUrl: `${parentUrl}/logTypes/${logType}/logs:import`,
    eventsUrl: `${parentUrl}/events:import`,
    webhookUrl: `${parentUrl}/feeds/${feed}:importPushLogs`,
    requests: [],
    logs: [],
    events: [],
    lines: [],
    faults: [],
    revoked: new Set(),
    rejectPoison: true,
    maxBodyBytes: 4 * 1_048_576,
    close: () => http.close(),
  };
  return server;
}
