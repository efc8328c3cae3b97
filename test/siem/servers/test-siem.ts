import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { leaf, testCa } from '../../helpers/tls.ts';

/**
 * A local HTTPS SIEM that implements what probectl talks to strictly enough
 * that a wrong request fails:
 * - Splunk HEC: POST /services/collector/raw (newline-separated events; a
 *   channel is required) and /services/collector/event (concatenated JSON
 *   envelopes with an `event` field), `Authorization: Splunk <token>`, HEC
 *   answer codes, indexer acknowledgement (`X-Splunk-Request-Channel`,
 *   `ackId`, POST /services/collector/ack {"acks":[…]}), invalid-event-number.
 * - Elasticsearch: POST /<index>/_bulk or /_bulk, `Authorization: ApiKey`,
 *   NDJSON action/document pairs, `create` with `_id` (409 when it exists),
 *   per-item errors with `errors: true`.
 * - Generic: POST /ingest with `Authorization: Bearer`.
 * Faults are injected from a queue; any event containing POISON is refused.
 */
export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  | { kind: 'reset' }
  | { kind: 'hang' }
  /** Accept the request but never acknowledge its ackId. */
  | { kind: 'lose-ack' }
  /** _bulk: answer the first item 429 (es_rejected_execution_exception) and process the rest. */
  | { kind: 'bulk-item-429' }
  /** _bulk: answer the last item 403 security_exception (a privilege lost mid-request) and process the others. */
  | { kind: 'bulk-item-403' }
  /**
   * _bulk: an API key without create_doc on the index — Elasticsearch answers 200 with every item refused
   * 403 security_exception (elastic/integrations#11768), storing nothing.
   */
  | { kind: 'bulk-unauthorized' };

export interface Received {
  endpoint: 'hec-raw' | 'hec-event' | 'bulk' | 'ingest';
  /** The event as it arrived (a line, an `event` value, a document). */
  raw: string;
  id: string | undefined;
  tenant: string | undefined;
}

export interface TestSiem {
  url: string;
  caPem: string;
  token: string;
  /** Events accepted (in arrival order); with acks, only once acknowledged. */
  accepted: Received[];
  /** Every request path seen, for strictness checks. */
  requests: Array<{ method: string; path: string; status: number; authorization: string | undefined; channel: string | undefined; gzip: boolean; clientCert: string | undefined }>;
  faults: Fault[];
  /** While true (the default), any event containing POISON is refused. */
  rejectPoison: boolean;
  /** While true, /ingest refuses every request with 422 (a receiver whose schema matches nothing probectl sends). */
  rejectAll: boolean;
  /** Counts of each event id accepted. */
  counts(): Map<string, number>;
  /** Wait until `n` distinct event ids arrived. */
  waitForDistinct(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const EVENT_ID = /[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/;
const TENANT = /(?:cs1=|tenant=")([0-9a-f-]{36})|"organization":\{"id":"([0-9a-f-]{36})"|"probectl\.tenant_id","value":\{"stringValue":"([0-9a-f-]{36})"/;

function describe(endpoint: Received['endpoint'], raw: string): Received {
  const t = TENANT.exec(raw);
  return { endpoint, raw, id: EVENT_ID.exec(raw)?.[0], tenant: t ? (t[1] ?? t[2] ?? t[3]) : undefined };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

/** Splits concatenated JSON objects (HEC event endpoint: objects may follow each other with or without whitespace). */
function splitJsonObjects(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
      if (depth < 0) throw new Error('unbalanced');
    } else if (depth === 0 && !/\s/.test(c as string)) throw new Error('text between objects');
  }
  if (depth !== 0) throw new Error('truncated');
  return out;
}

export async function startTestSiem(opts: { token?: string; ack?: boolean; clientCa?: string } = {}): Promise<TestSiem> {
  const token = opts.token ?? 'test-siem-token-4f1d9c';
  const ca = await testCa();
  const cert = await leaf();
  const accepted: Received[] = [];
  const requests: TestSiem['requests'] = [];
  const faults: Fault[] = [];
  const bulkIds = new Set<string>();
  const channels = new Map<string, { next: number; pending: Map<number, Received[]>; acked: Set<number> }>();
  const sockets = new Set<Socket>();
  const siem = { rejectPoison: true, rejectAll: false } as TestSiem;

  function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const url = new URL(req.url ?? '/', 'https://siem.test');
    const body = await readBody(req);
    const auth = req.headers.authorization;
    const channel = (req.headers['x-splunk-request-channel'] as string | undefined) ?? url.searchParams.get('channel') ?? undefined;

    if (url.pathname.startsWith('/services/collector')) {
      if (req.method !== 'POST') return reply(res, 405, { text: 'Method not allowed', code: 0 }), 405;
      if (!auth) return reply(res, 401, { text: 'Token is required', code: 2 }), 401;
      if (auth !== `Splunk ${token}`) return reply(res, 403, { text: 'Invalid token', code: 4 }), 403;
      if (url.searchParams.has('token')) return reply(res, 400, { text: 'Query string authorization is not enabled', code: 16 }), 400;
      const needsChannel = opts.ack || url.pathname.endsWith('/raw') || url.pathname.endsWith('/ack');
      if (needsChannel && !channel) return reply(res, 400, { text: 'Data channel is missing', code: 10 }), 400;
      if (channel && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(channel)) return reply(res, 400, { text: 'Invalid data channel', code: 11 }), 400;
      const ch = channel ? (channels.get(channel) ?? channels.set(channel, { next: 0, pending: new Map(), acked: new Set() }).get(channel)!) : undefined;

      if (url.pathname.endsWith('/ack')) {
        if (!opts.ack) return reply(res, 400, { text: 'ACK is disabled', code: 14 }), 400;
        const ids = (JSON.parse(body.toString('utf8')) as { acks?: unknown }).acks;
        if (!Array.isArray(ids) || !ids.every((i) => Number.isInteger(i))) return reply(res, 400, { text: 'Invalid data format', code: 6 }), 400;
        const acks: Record<string, boolean> = {};
        for (const id of ids as number[]) {
          const batch = ch!.pending.get(id);
          if (batch) {
            accepted.push(...batch);
            ch!.pending.delete(id);
            ch!.acked.add(id);
          }
          acks[String(id)] = ch!.acked.has(id);
        }
        return reply(res, 200, { acks }), 200;
      }

      let events: Received[];
      if (url.pathname.endsWith('/raw')) {
        if (!url.searchParams.get('sourcetype')) return reply(res, 400, { text: 'sourcetype missing in this test SIEM', code: 6 }), 400;
        const lines = body.toString('utf8').split('\n').filter((l) => l !== '');
        if (lines.length === 0) return reply(res, 400, { text: 'No data', code: 5 }), 400;
        if (lines.some((l) => l.includes('POISON') && siem.rejectPoison)) return reply(res, 400, { text: 'Invalid data format', code: 6 }), 400;
        events = lines.map((l) => describe('hec-raw', l));
      } else if (/\/services\/collector(\/event)?(\/1\.0)?$/.test(url.pathname)) {
        let objects: unknown[];
        try {
          objects = splitJsonObjects(body.toString('utf8'));
        } catch {
          return reply(res, 400, { text: 'Invalid data format', code: 6, 'invalid-event-number': 0 }), 400;
        }
        if (objects.length === 0) return reply(res, 400, { text: 'No data', code: 5 }), 400;
        events = [];
        for (const [i, o] of objects.entries()) {
          const env = o as { event?: unknown; time?: unknown; sourcetype?: unknown };
          if (env.event === undefined) return reply(res, 400, { text: 'Event field is required', code: 12, 'invalid-event-number': i }), 400;
          if (env.event === '' || env.event === null) return reply(res, 400, { text: 'Event field cannot be blank', code: 13, 'invalid-event-number': i }), 400;
          if (typeof env.time !== 'number') return reply(res, 400, { text: 'Invalid data format', code: 6, 'invalid-event-number': i }), 400;
          const raw = typeof env.event === 'string' ? env.event : JSON.stringify(env.event);
          if (raw.includes('POISON') && siem.rejectPoison) {
            // HEC indexes the events before the invalid one and stops there; with indexer acknowledgement
            // they are tracked under an ackId like any accepted request (and count only once it is true).
            if (opts.ack && events.length > 0) {
              const id = ch!.next++;
              if (faults[0]?.kind === 'lose-ack') faults.shift();
              else ch!.pending.set(id, events);
              return reply(res, 400, { text: 'Invalid data format', code: 6, 'invalid-event-number': i, ackId: id }), 400;
            }
            accepted.push(...events);
            return reply(res, 400, { text: 'Invalid data format', code: 6, 'invalid-event-number': i }), 400;
          }
          events.push(describe('hec-event', raw));
        }
      } else {
        return reply(res, 404, { text: 'The requested URL was not found on this server.', code: 404 }), 404;
      }
      if (opts.ack) {
        const id = ch!.next++;
        if (faults[0]?.kind === 'lose-ack') faults.shift();
        else ch!.pending.set(id, events);
        return reply(res, 200, { text: 'Success', code: 0, ackId: id }), 200;
      }
      accepted.push(...events);
      return reply(res, 200, { text: 'Success', code: 0 }), 200;
    }

    if (/^\/([^/_][^/]*\/)?_bulk$/.test(url.pathname)) {
      if (req.method !== 'POST') return reply(res, 405, { error: 'method' }), 405;
      if (auth !== `ApiKey ${token}`) return reply(res, 401, { error: { type: 'security_exception', reason: 'missing authentication credentials' }, status: 401 }), 401;
      if (!String(req.headers['content-type']).startsWith('application/x-ndjson')) return reply(res, 406, { error: 'Content-Type header [x] is not supported', status: 406 }), 406;
      const text = body.toString('utf8');
      if (!text.endsWith('\n')) return reply(res, 400, { error: { type: 'illegal_argument_exception', reason: 'The bulk request must be terminated by a newline [\\n]' }, status: 400 }), 400;
      const lines = text.split('\n').slice(0, -1);
      if (lines.length % 2 !== 0) return reply(res, 400, { error: { type: 'illegal_argument_exception', reason: 'Malformed action/metadata line' }, status: 400 }), 400;
      const items: unknown[] = [];
      let errors = false;
      let rejectFirst = faults[0]?.kind === 'bulk-item-429' ? (faults.shift(), true) : false;
      const forbidLast = faults[0]?.kind === 'bulk-item-403' ? (faults.shift(), true) : false;
      const unauthorized = faults[0]?.kind === 'bulk-unauthorized' ? (faults.shift(), true) : false;
      const pathIndex = url.pathname.split('/')[1] !== '_bulk' ? url.pathname.split('/')[1] : undefined;
      for (let i = 0; i < lines.length; i += 2) {
        const action = JSON.parse(lines[i] as string) as { create?: { _index?: string; _id?: string } };
        const doc = lines[i + 1] as string;
        if (!action.create) return reply(res, 400, { error: { type: 'illegal_argument_exception', reason: 'data streams accept only create' }, status: 400 }), 400;
        const index = action.create._index ?? pathIndex;
        if (!index) return reply(res, 400, { error: { type: 'action_request_validation_exception', reason: 'index is missing' }, status: 400 }), 400;
        const id = action.create._id;
        JSON.parse(doc);
        if (unauthorized || (forbidLast && i === lines.length - 2)) {
          errors = true;
          items.push({ create: { _index: index, _id: id, status: 403, error: { type: 'security_exception', reason: `action [indices:data/write/bulk[s]] is unauthorized for API key id [test] of user [probectl] on indices [${index}], this action is granted by the index privileges [create_doc,create,index,write,all]` } } });
        } else if (rejectFirst) {
          rejectFirst = false;
          errors = true;
          items.push({ create: { _index: index, _id: id, status: 429, error: { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation' } } });
        } else if (doc.includes('POISON') && siem.rejectPoison) {
          errors = true;
          items.push({ create: { _index: index, _id: id, status: 400, error: { type: 'document_parsing_exception', reason: '[1:2] failed to parse field [message]' } } });
        } else if (id && bulkIds.has(id)) {
          errors = true;
          items.push({ create: { _index: index, _id: id, status: 409, error: { type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict, document already exists` } } });
        } else {
          if (id) bulkIds.add(id);
          accepted.push(describe('bulk', doc));
          items.push({ create: { _index: index, _id: id, status: 201, result: 'created' } });
        }
      }
      return reply(res, 200, { took: 1, errors, items }), 200;
    }

    if (url.pathname === '/ingest') {
      if (auth !== `Bearer ${token}`) return reply(res, 401, { error: 'unauthorized' }), 401;
      const text = body.toString('utf8');
      if ((text.includes('POISON') && siem.rejectPoison) || siem.rejectAll) return reply(res, 422, { error: 'unprocessable event' }), 422;
      const records = String(req.headers['content-type']).startsWith('application/json') ? [text] : text.split('\n').filter((l) => l !== '');
      accepted.push(...records.map((r) => describe('ingest', r)));
      return reply(res, 200, { ok: true }), 200;
    }
    return reply(res, 404, { error: 'not found' }), 404;
  }

  // With clientCa the SIEM demands a client certificate signed by it (mutual TLS).
  const mtls = opts.clientCa ? { requestCert: true, rejectUnauthorized: true, ca: [opts.clientCa] } : {};
  const server = createServer({ cert: cert.certPem, key: cert.keyPem, ...mtls }, (req, res) => {
    const fault = faults[0] && faults[0].kind !== 'lose-ack' && faults[0].kind !== 'bulk-item-429' && faults[0].kind !== 'bulk-item-403' && faults[0].kind !== 'bulk-unauthorized' ? faults.shift() : undefined;
    const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate?.();
    const record = (status: number) => requests.push({ method: req.method ?? '', path: req.url ?? '', status, authorization: req.headers.authorization, channel: req.headers['x-splunk-request-channel'] as string | undefined, gzip: req.headers['content-encoding'] === 'gzip', clientCert: peer && peer.subject ? String(peer.subject.CN) : undefined });
    if (fault?.kind === 'reset') {
      record(0);
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang') {
      record(0);
      return;
    }
    if (fault?.kind === 'status') {
      record(fault.status);
      req.resume();
      req.on('end', () => reply(res, fault.status, fault.body ?? { text: 'injected', code: 9 }, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}));
      return;
    }
    handle(req, res).then(record, (err: unknown) => {
      record(500);
      reply(res, 500, { error: String(err) });
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  const counts = () => {
    const m = new Map<string, number>();
    for (const r of accepted) if (r.id) m.set(r.id, (m.get(r.id) ?? 0) + 1);
    return m;
  };
  Object.assign(siem, {
    url: `https://127.0.0.1:${port}`,
    caPem: ca.certPem,
    token,
    accepted,
    requests,
    faults,
    counts,
    async waitForDistinct(n: number, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      while (counts().size < n) {
        if (Date.now() > end) throw new Error(`test SIEM has ${counts().size} of ${n} events`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  return siem;
}
