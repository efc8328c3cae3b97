import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { listenHttps } from '../../helpers/https-stand-in.ts';
import type { EntraServer } from '../../secrets/servers/entra.ts';

/**
 * A local Azure Monitor Logs Ingestion endpoint (a data collection endpoint
 * serving one DCR) as the REST reference (Azure Monitor Ingestion, stable
 * 2023-01-01) and the service limits describe it:
 * POST /dataCollectionRules/{immutable id}/streams/{stream}?api-version=2023-01-01,
 * `Authorization: Bearer` — an Entra token for `https://monitor.azure.com`
 * (checked with the Entra stand-in: signature, tenant, audience) of an
 * application granted on the DCR — `Content-Type: application/json`,
 * optionally `Content-Encoding: gzip`, a body of at most 1 MB compressed and
 * uncompressed holding a JSON array of objects whose properties are columns
 * of the stream declaration with values of the declared types. 204 when
 * accepted; errors `{error:{code,message}}` with `x-ms-error-code`. Faults
 * are injected from a queue; a record containing POISON is refused (400).
 */

export type DcrColumnType = 'string' | 'int' | 'long' | 'real' | 'boolean' | 'datetime' | 'dynamic';
/**
 * A fault for the next request; `pass` lets one request through untouched (to fault a later one);
 * `revoke` revokes the request's token (Entra revoked it, or it expired early): 401 to it from then on.
 */
export type DcrFault = { status: 429; retryAfter?: string } | { status: 500 | 503 } | { status: 401 | 403 } | 'pass' | 'revoke';

export interface DcrRequest { status: number; bytes: number; records: number; gzip: boolean; authorization: string | undefined; path: string }

export interface DcrServer {
  /** The full stream URL to configure (PROBECTL_SIEM_ENDPOINT). */
  readonly streamUrl: string;
  readonly origin: string;
  readonly dcr: string;
  readonly stream: string;
  readonly requests: DcrRequest[];
  /** Records accepted, in arrival order, as parsed. */
  readonly accepted: Record<string, unknown>[];
  readonly faults: DcrFault[];
  rejectPoison: boolean;
  /** Application (client) ids granted "Monitoring Metrics Publisher" on the DCR. */
  readonly granted: Set<string>;
  /** Tokens refused with 401 although valid (revoked). */
  readonly revoked: Set<string>;
  close(): Promise<void>;
}

export const MAX_CALL_BYTES = 1_048_576;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$/;
const COLUMN_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,44}$/;
const RESERVED = new Set(['type', 'tenantid', 'resource', 'resourceid', 'resourcename', 'resourcetype', 'subscriptionid']);

/** Why a value does not fit a column type, or undefined. */
function typeProblem(type: DcrColumnType, v: unknown): string | undefined {
  switch (type) {
    case 'string': return typeof v === 'string' ? undefined : 'not a string';
    case 'int': return Number.isInteger(v) && Math.abs(v as number) < 2 ** 31 ? undefined : 'not an int';
    case 'long': return Number.isSafeInteger(v) ? undefined : 'not a long';
    case 'real': return typeof v === 'number' ? undefined : 'not a real';
    case 'boolean': return typeof v === 'boolean' ? undefined : 'not a boolean';
    case 'datetime': return typeof v === 'string' && DATETIME.test(v) && !Number.isNaN(Date.parse(v)) ? undefined : 'not an ISO 8601 UTC datetime';
    case 'dynamic': return v !== null && typeof v === 'object' ? undefined : 'not a JSON object or array';
  }
}

export async function startDcr(opts: { entra: EntraServer; columns: readonly { name: string; type: DcrColumnType }[]; dcr?: string; stream?: string; audience?: string }): Promise<DcrServer> {
  const dcr = opts.dcr ?? 'dcr-4f1d2c3b4a5968778695a4b3c2d1e0f9';
  const stream = opts.stream ?? 'Custom-ProbectlEvents';
  const audience = opts.audience ?? 'https://monitor.azure.com';
  for (const c of opts.columns) if (!COLUMN_NAME.test(c.name) || RESERVED.has(c.name.toLowerCase())) throw new Error(`stream declaration: ${c.name} is not a valid column name`);
  const columns = new Map(opts.columns.map((c) => [c.name, c.type]));

  function fail(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): number {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-ms-error-code': code, 'x-ms-request-id': randomUUID(), ...headers });
    res.end(JSON.stringify({ error: { code, message } }));
    return status;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, record: DcrRequest): Promise<number> {
    const url = new URL(req.url ?? '/', 'https://dce.test');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body = Buffer.concat(chunks);
    record.bytes = body.length;
    if (req.method !== 'POST') return fail(res, 405, 'MethodNotAllowed', 'Only POST is supported');
    const m = /^\/dataCollectionRules\/([^/]+)\/streams\/([^/]+)$/.exec(url.pathname);
    if (!m) return fail(res, 404, 'NotFound', 'The requested resource was not found');
    if (url.searchParams.get('api-version') !== '2023-01-01') return fail(res, 400, 'InvalidApiVersion', 'The api-version query parameter is missing or not supported');
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Bearer ')) return fail(res, 401, 'InvalidToken', 'The authentication token is missing or malformed');
    let appid: unknown;
    try {
      appid = opts.entra.verify(auth.slice(7), audience).appid;
    } catch (err) {
      return fail(res, 401, 'InvalidToken', `The authentication token is not valid: ${(err as Error).message}`);
    }
    if (server.revoked.has(auth.slice(7))) return fail(res, 401, 'InvalidToken', 'The token has been revoked');
    const next = server.faults.shift();
    if (next === 'revoke') {
      server.revoked.add(auth.slice(7));
      return fail(res, 401, 'InvalidToken', 'The token has been revoked');
    }
    const fault = next === 'pass' ? undefined : next;
    if (fault?.status === 429) return fail(res, 429, 'TooManyRequests', 'Request rate limit exceeded', fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    if (fault?.status === 500 || fault?.status === 503) return fail(res, fault.status, 'ServiceUnavailable', 'The service is temporarily unavailable');
    if (fault?.status === 401) return fail(res, 401, 'InvalidToken', 'The token has expired');
    if (fault?.status === 403 || !server.granted.has(String(appid))) return fail(res, 403, 'OperationFailed', `The authentication token provided does not have access to ingest data for the data collection rule with immutable Id '${dcr}'.`);
    if (m[1] !== dcr) return fail(res, 404, 'NotFound', `Data collection rule with immutable Id '${m[1]}' not found`);
    if (decodeURIComponent(m[2] as string) !== stream) return fail(res, 400, 'InvalidStream', `Stream '${m[2]}' is not declared in the data collection rule`);
    if (!/^application\/json/.test(req.headers['content-type'] ?? '')) return fail(res, 415, 'UnsupportedMediaType', 'Content-Type must be application/json');
    if (body.length > MAX_CALL_BYTES) return fail(res, 413, 'ContentLengthLimitExceeded', 'Maximum request size of 1 MB exceeded');
    if (req.headers['content-encoding'] === 'gzip') {
      record.gzip = true;
      body = gunzipSync(body);
    } else if (req.headers['content-encoding'] !== undefined) return fail(res, 400, 'InvalidContentEncoding', 'Only gzip is supported');
    if (body.length > MAX_CALL_BYTES) return fail(res, 413, 'ContentLengthLimitExceeded', 'Maximum request size of 1 MB (uncompressed) exceeded');
    let records: unknown;
    try {
      records = JSON.parse(body.toString('utf8'));
    } catch {
      return fail(res, 400, 'InvalidPayload', 'The request body is not valid JSON');
    }
    if (!Array.isArray(records) || records.length === 0) return fail(res, 400, 'InvalidPayload', 'The request body must be a non-empty JSON array of records');
    record.records = records.length;
    for (const [i, r] of records.entries()) {
      if (r === null || typeof r !== 'object' || Array.isArray(r)) return fail(res, 400, 'InvalidPayload', `Record ${i} is not a JSON object`);
      if (!('TimeGenerated' in r)) return fail(res, 400, 'InvalidPayload', `Record ${i} has no TimeGenerated`);
      for (const [k, v] of Object.entries(r)) {
        const type = columns.get(k);
        if (type === undefined) return fail(res, 400, 'InvalidPayload', `Record ${i}: column '${k}' is not declared in stream ${stream}`);
        const p = typeProblem(type, v);
        if (p) return fail(res, 400, 'InvalidPayload', `Record ${i}: column '${k}' (${type}) is ${p}`);
      }
      if (server.rejectPoison && JSON.stringify(r).includes('POISON')) return fail(res, 400, 'InvalidPayload', `Record ${i} could not be processed`);
    }
    server.accepted.push(...(records as Record<string, unknown>[]));
    res.writeHead(204, { 'x-ms-request-id': randomUUID() });
    res.end();
    return 204;
  }

  const http = await listenHttps<DcrRequest>(handle, (req) => {
    const record: DcrRequest = { status: 0, bytes: 0, records: 0, gzip: false, authorization: req.headers.authorization, path: req.url ?? '' };
    server.requests.push(record);
    return record;
  });
  const origin = http.origin;

  const server: DcrServer = {
    streamUrl: `${origin}/dataCollectionRules/${dcr}/streams/${stream}?api-version=2023-01-01`,
    origin,
    dcr,
    stream,
    requests: [],
    accepted: [],
    faults: [],
    rejectPoison: true,
    granted: new Set([opts.entra.clientId]),
    revoked: new Set(),
    close: () => http.close(),
  };
  return server;
}
