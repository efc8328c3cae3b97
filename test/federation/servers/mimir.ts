/**
 * A local HTTPS stand-in of Grafana Mimir's documented HTTP API
 * (https://grafana.com/docs/mimir/latest/references/http-api/), strict enough that a
 * request probectl gets wrong fails:
 *
 * - every request needs `X-Scope-OrgID` (Mimir answers `401 no org id` without it) and the
 *   configured credentials (the gateway's basic auth; 401 otherwise);
 * - `POST /api/v1/push`: remote-write 1.0 — `Content-Encoding: snappy`, `Content-Type:
 *   application/x-protobuf`, `X-Prometheus-Remote-Write-Version` — decoded (400 when it is
 *   not a WriteRequest), series stored per org id;
 * - `GET|POST /prometheus/api/v1/query|query_range|series|labels`, `GET
 *   /prometheus/api/v1/label/<name>/values`: form or URL parameters; `query` / `match[]`
 *   must parse with the PromQL grammar (400 bad_data otherwise). Queries answer the org's
 *   series whose metric name the first selector names (latest sample), series the org's
 *   series matching any match[] (equality matchers), labels and values of the org's series.
 *   Mimir has no /federate (404).
 *
 * Every request is recorded (org id, path, parameters, the query) for the test to inspect;
 * `failNext(n, status, body)` answers the next n requests with a fault, `hangNext(n)` never
 * answers them (until the client gives up), `hangOrg(id)` never answers any request of that
 * org id until `hangOrg(undefined)`.
 */
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { uncompressSync } from 'snappy';
import { WriteRequestType } from '../../../src/federation/remote-write/schema.ts';
import { listenHttps, type StandIn } from '../../helpers/https-stand-in.ts';
import { testCa } from '../../helpers/tls.ts';

/** The password of the stand-in's basic auth (a canary: never in a log line or an answer). */
export const MIMIR_PASSWORD = 'upstream-s3cret-password';
/** The Authorization header the stand-in accepts (startMimir's `authorization`). */
export const MIMIR_AUTH = `Basic ${Buffer.from(`probectl:${MIMIR_PASSWORD}`).toString('base64')}`;

/**
 * probectl's variables for upstream mode against `mimir` with header tenancy: its query API and
 * push URL, the test CA (written into `dir`), the basic-auth credentials, self-metrics every 2
 * minutes; `extra` added last.
 */
export async function mimirUpstreamEnv(mimir: MimirStandIn, dir: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const caFile = join(dir, 'upstream-ca.pem');
  writeFileSync(caFile, (await testCa()).certPem);
  return {
    PROBECTL_METRICS_UPSTREAM_URL: `${mimir.origin}/prometheus`,
    PROBECTL_METRICS_UPSTREAM_WRITE_URL: `${mimir.origin}/api/v1/push`,
    PROBECTL_METRICS_UPSTREAM_CA_FILE: caFile,
    PROBECTL_METRICS_UPSTREAM_TOKEN: `probectl:${MIMIR_PASSWORD}`,
    PROBECTL_METRICS_UPSTREAM_TENANCY: 'header',
    PROBECTL_METRICS_SELF_INTERVAL: '2m',
    ...extra,
  };
}

export interface MimirRecord {
  method: string;
  path: string;
  orgId: string | undefined;
  authorization: string | undefined;
  /** The request's Accept-Encoding as sent. */
  acceptEncoding?: string | undefined;
  params: Array<[string, string]>;
  status: number;
}

export interface StoredSeries {
  labels: Record<string, string>;
  samples: Array<[number, number]>;
}

export interface MimirStandIn extends StandIn {
  readonly records: MimirRecord[];
  /** Series pushed, by org id. */
  readonly series: Map<string, StoredSeries[]>;
  failNext(n: number, status: number, body: string, headers?: Record<string, string>): void;
  hangNext(n: number): void;
  /** The next request answers 200 and half a JSON body, then the connection is dropped. */
  cutNext(): void;
  /** The next query or query_range answers 200 and the head of a JSON body, then writes nothing more until its connection closes (counted in `hung`). */
  stallNextQuery(): void;
  /** Requests of this org id hang (undefined: none); `hung` counts the requests hanging now. */
  hangOrg(orgId: string | undefined): void;
  readonly hung: number;
  /** Answers the series API with this many made-up series (the cardinality guard's input). */
  seriesCount: number | undefined;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Matchers of every vector selector of `text`, or undefined when it does not parse completely. */
export function selectorsOf(text: string): Array<Array<{ name: string; op: string; value: string }>> | undefined {
  const tree = parser.parse(text);
  let bad = false;
  const out: Array<Array<{ name: string; op: string; value: string }>> = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) bad = true;
      if (node.name !== 'VectorSelector') return;
      const ms: Array<{ name: string; op: string; value: string }> = [];
      const n = node.node;
      const id = n.getChild('Identifier');
      if (id) ms.push({ name: '__name__', op: '=', value: text.slice(id.from, id.to) });
      const lm = n.getChild('LabelMatchers');
      for (let c = lm?.firstChild ?? null; c; c = c.nextSibling) {
        if (c.name !== 'UnquotedLabelMatcher' && c.name !== 'QuotedLabelMatcher') continue;
        const nameNode = c.firstChild!;
        const opNode = nameNode.nextSibling!;
        const valueNode = opNode.nextSibling!;
        const name = c.name === 'QuotedLabelMatcher' ? JSON.parse(text.slice(nameNode.from, nameNode.to)) : text.slice(nameNode.from, nameNode.to);
        ms.push({ name, op: text.slice(opNode.from, opNode.to), value: JSON.parse(text.slice(valueNode.from, valueNode.to)) });
      }
      out.push(ms);
    },
  });
  return bad ? undefined : out;
}

function matches(labels: Record<string, string>, ms: Array<{ name: string; op: string; value: string }>): boolean {
  return ms.every((m) => {
    const v = labels[m.name] ?? '';
    if (m.op === '=') return v === m.value;
    if (m.op === '!=') return v !== m.value;
    const re = new RegExp(`^(?:${m.value})$`, 's');
    return m.op === '=~' ? re.test(v) : !re.test(v);
  });
}

const json = (res: ServerResponse, status: number, body: unknown): number => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
  return status;
};
const badData = (res: ServerResponse, error: string) => json(res, 400, { status: 'error', errorType: 'bad_data', error });

export async function startMimir(opts: { authorization: string }): Promise<MimirStandIn> {
  const records: MimirRecord[] = [];
  const series = new Map<string, StoredSeries[]>();
  const faults: Array<{ status: number; body: string; headers: Record<string, string> } | 'hang' | 'cut'> = [];
  const hanging = new Set<ServerResponse>();
  const state = { seriesCount: undefined as number | undefined, hangOrg: undefined as string | undefined, stallQuery: 0 };

  const handle = async (req: IncomingMessage, res: ServerResponse, rec: MimirRecord): Promise<number> => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'https://mimir.invalid');
    rec.params = [...url.searchParams.entries()];
    if (req.method === 'POST' && String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) rec.params.push(...new URLSearchParams(body.toString('utf8')).entries());
    if (state.stallQuery > 0 && /\/api\/v1\/query(_range)?$/.test(url.pathname)) {
      state.stallQuery -= 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":"success","data":{"resultType":"vector","result":[');
      hanging.add(res);
      return new Promise<number>((resolve) => res.once('close', () => {
        hanging.delete(res);
        resolve(200);
      }));
    }
    const fault = state.hangOrg !== undefined && rec.orgId === state.hangOrg ? 'hang' : faults.shift();
    if (fault === 'hang') {
      hanging.add(res);
      return new Promise<number>((resolve) => res.once('close', () => {
        hanging.delete(res);
        resolve(0);
      }));
    }
    if (fault === 'cut') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"cut"},"values":[[1,"1"],');
      await new Promise((r) => setTimeout(r, 50));
      res.destroy();
      return 200;
    }
    if (fault) {
      res.writeHead(fault.status, { 'content-type': 'text/plain', ...fault.headers });
      res.end(fault.body);
      return fault.status;
    }
    if (req.headers.authorization !== opts.authorization) {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end('unauthorized\n');
      return 401;
    }
    const org = rec.orgId;
    if (org === undefined || org === '') {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end('no org id\n');
      return 401;
    }
    const own = series.get(org) ?? [];
    const param = (name: string) => rec.params.find(([k]) => k === name)?.[1];
    const params = (name: string) => rec.params.filter(([k]) => k === name).map(([, v]) => v);
    if (url.pathname === '/api/v1/push' && req.method === 'POST') {
      if (req.headers['content-encoding'] !== 'snappy' || req.headers['content-type'] !== 'application/x-protobuf' || req.headers['x-prometheus-remote-write-version'] === undefined) {
        res.writeHead(400);
        res.end('bad remote-write headers\n');
        return 400;
      }
      let decoded: { timeseries?: Array<{ labels?: Array<{ name: Uint8Array; value: Uint8Array }>; samples?: Array<{ value: number; timestamp: number | { toNumber(): number } }> }> };
      try {
        decoded = WriteRequestType.toObject(WriteRequestType.decode(uncompressSync(body) as Buffer), { longs: Number }) as typeof decoded;
      } catch {
        res.writeHead(400);
        res.end('failed to decode the WriteRequest\n');
        return 400;
      }
      for (const ts of decoded.timeseries ?? []) {
        const labels = Object.fromEntries((ts.labels ?? []).map((l) => [Buffer.from(l.name).toString(), Buffer.from(l.value).toString()]));
        const key = JSON.stringify(labels);
        let s = own.find((x) => JSON.stringify(x.labels) === key);
        if (!s) own.push((s = { labels, samples: [] }));
        for (const sm of ts.samples ?? []) s.samples.push([Number(sm.timestamp), sm.value]);
      }
      series.set(org, own);
      res.writeHead(200);
      res.end();
      return 200;
    }
    const api = '/prometheus/api/v1/';
    if (!url.pathname.startsWith(api)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404 page not found\n');
      return 404;
    }
    const what = url.pathname.slice(api.length);
    if (what === 'query' || what === 'query_range') {
      const q = param('query');
      const sels = q === undefined ? undefined : selectorsOf(q);
      if (!sels) return badData(res, 'invalid parameter "query": parse error');
      const first = sels[0];
      const name = first?.find((m) => m.name === '__name__')?.value;
      const result = own.filter((s) => name !== undefined && s.labels.__name__ === name).map((s) => ({ metric: s.labels, value: [Number(param('time') ?? 0), String(s.samples.at(-1)?.[1] ?? 0)] }));
      return json(res, 200, { status: 'success', data: { resultType: 'vector', result } });
    }
    const matchSets = params('match[]').map(selectorsOf);
    if (matchSets.some((s) => s === undefined || s.length !== 1)) return badData(res, 'invalid parameter "match[]"');
    const selected = own.filter((s) => matchSets.length === 0 || matchSets.some((m) => matches(s.labels, (m as Array<Array<{ name: string; op: string; value: string }>>)[0] as never)));
    if (what === 'series') {
      if (state.seriesCount !== undefined) return json(res, 200, { status: 'success', data: Array.from({ length: state.seriesCount }, (_, i) => ({ __name__: 'made_up', i: String(i) })) });
      return json(res, 200, { status: 'success', data: selected.map((s) => s.labels) });
    }
    if (what === 'labels') return json(res, 200, { status: 'success', data: [...new Set(selected.flatMap((s) => Object.keys(s.labels)))].sort() });
    const lv = /^label\/([^/]+)\/values$/.exec(what);
    if (lv && req.method === 'GET') {
      const label = decodeURIComponent(lv[1] as string);
      return json(res, 200, { status: 'success', data: [...new Set(selected.map((s) => s.labels[label]).filter((v) => v !== undefined))].sort() });
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('404 page not found\n');
    return 404;
  };

  const server = await listenHttps<MimirRecord>(handle, (req) => {
    const rec: MimirRecord = {
      method: req.method ?? '', path: new URL(req.url ?? '/', 'https://x').pathname,
      orgId: req.headers['x-scope-orgid'] as string | undefined, authorization: req.headers.authorization, acceptEncoding: req.headers['accept-encoding'], params: [], status: 0,
    };
    records.push(rec);
    return rec;
  });
  return {
    origin: server.origin,
    records, series,
    failNext(n, status, body, headers = {}) {
      for (let i = 0; i < n; i++) faults.push({ status, body, headers });
    },
    hangNext(n) {
      for (let i = 0; i < n; i++) faults.push('hang');
    },
    cutNext() {
      faults.push('cut');
    },
    stallNextQuery() {
      state.stallQuery += 1;
    },
    hangOrg(orgId) {
      state.hangOrg = orgId;
    },
    get hung() { return hanging.size; },
    get seriesCount() { return state.seriesCount; },
    set seriesCount(v) { state.seriesCount = v; },
    async close() {
      for (const r of hanging) r.destroy();
      await server.close();
    },
  };
}
