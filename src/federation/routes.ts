import { Readable } from 'node:stream';
import { negotiate } from '@fastify/accept-negotiator';
import { Type } from 'typebox';
import { ProbectlError } from '../core/errors.ts';
import { needs, routeWith, type RouteDef, type RouteSchema } from '../integrations/route.ts';
import type { IntegrationRouteDeps } from '../integrations/types.ts';
import { VERSION } from '../version.ts';
import { prometheusError } from './api/errors.ts';
import { MAX_FORM_BYTES, promParams } from './api/params.ts';
import { type Body, buildInfo, isStorageUnavailable, metadataQuery } from './api/queries.ts';
import type { MetricsBackend, ReadRequest } from './backend.ts';
import { EXPOSITION_CONTENT_TYPE } from './exposition.ts';
import { PromParamError } from './prom-time.ts';
import type { MetricsRuntime } from './runtime.ts';
import { bodyTooLarge } from './write.ts';

type Deps = IntegrationRouteDeps<MetricsRuntime>;
const route = routeWith<Deps>();

/** The Prometheus-compatible API Grafana uses as a Prometheus datasource (URL https://<probectl>/v1/grafana). */
export const GRAFANA_PREFIX = '/v1/grafana/api/v1';
const FORM = 'application/x-www-form-urlencoded';

function runtimeOf(deps: Deps): MetricsRuntime {
  if (!deps.runtime) throw new ProbectlError('PROBECTL_ERR_DB_UNAVAILABLE', 'the metrics store is not available in this process');
  return deps.runtime;
}

/** Store failures that are the database being unreachable become 503 `unavailable` (clients retry). */
async function storage<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isStorageUnavailable(err)) throw new ProbectlError('PROBECTL_ERR_DB_UNAVAILABLE', 'the metrics store is unavailable; retry');
    throw err;
  }
}

const param = (description: string) => Type.Optional(Type.Unknown({ description }));
const QUERY_PARAMS = {
  query: param('PromQL: a plain series selector (with optional [range], offset and @) or a constant number expression; in upstream mode (PROBECTL_METRICS_UPSTREAM_URL) full PromQL, every selector tenant-scoped'),
  time: param('Evaluation time: RFC 3339 or Unix seconds (default: now)'),
  timeout: param('Accepted and ignored'),
  lookback_delta: param('Instant-selection lookback (default 5m)'),
};
const RANGE_PARAMS = {
  query: QUERY_PARAMS.query,
  start: param('RFC 3339 or Unix seconds'),
  end: param('RFC 3339 or Unix seconds'),
  step: param('Seconds or a duration (5m); at most 11,000 points per series'),
  timeout: QUERY_PARAMS.timeout,
  lookback_delta: QUERY_PARAMS.lookback_delta,
};
const MATCH_PARAMS = {
  'match[]': param('Repeatable plain series selector; tenant_id matchers are replaced by your tenant'),
  start: param('RFC 3339 or Unix seconds'),
  end: param('RFC 3339 or Unix seconds'),
  limit: param('Most results (0: no limit)'),
};

type Handler = (backend: MetricsBackend, request: ReadRequest, urlParams: Record<string, string>) => Promise<Body> | Body;

/**
 * A body as the reply carries it, holding the read's limiter slot until it is written: a
 * string or bytes as they are (built already: the slot is released now), chunks as a stream (released when
 * the stream closes, cut at the query timeout).
 */
function replyBody(rt: MetricsRuntime, body: Body, release: () => void): { body: string | Buffer | Readable; headers: Record<string, string> } {
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    release();
    return { body, headers: VARY };
  }
  if ('gzip' in body) return { body: rt.limiter.holdUntilClosed(Readable.from(body.gzip, { objectMode: false }), release), headers: { ...VARY, 'content-encoding': 'gzip' } };
  return { body: rt.limiter.holdUntilClosed(Readable.from(body, { objectMode: false }), release), headers: VARY };
}

/** Every answer of a read may come compressed or not, by the request's Accept-Encoding (upstream mode). */
const VARY: Readonly<Record<string, string>> = { vary: 'Accept-Encoding' };

/**
 * The caller's Accept-Encoding takes gzip (over identity, by its q-values; RFC 9110 §12.5.3).
 * `*` stands only for codings not listed: an explicit `gzip;q=0` refuses gzip whatever `*`
 * says (the negotiator alone would pick gzip for `gzip;q=0, *`).
 */
function acceptsGzip(headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  const raw = headers['accept-encoding'];
  const value = (Array.isArray(raw) ? raw.join(',') : raw)?.toLowerCase();
  return value !== undefined && negotiate(value, ['gzip', 'identity']) === 'gzip' && !refusesGzip(value);
}

/** A lower-cased Accept-Encoding lists gzip with q=0. */
function refusesGzip(value: string): boolean {
  return value.split(',').some((entry) => {
    const [coding, ...params] = entry.split(';').map((p) => p.trim());
    if (coding !== 'gzip') return false;
    const q = params.find((p) => /^q\s*=/.test(p));
    return q !== undefined && Number(q.replace(/^q\s*=\s*/, '')) === 0;
  });
}

/** Runs a read in a limiter slot; the slot goes to the reply (replyBody), or back on failure. */
async function limited<T>(rt: MetricsRuntime, tenant: string, signal: AbortSignal, fn: (release: () => void) => Promise<T>): Promise<T> {
  const release = await rt.limiter.acquire(tenant, signal);
  try {
    return await fn(release);
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * A Prometheus API endpoint: GET with URL parameters and, where Prometheus
 * accepts it, POST with a form body (Grafana's default); answers and errors in
 * Prometheus's shapes; reads need metrics-read and are not audited (too many).
 */
function promEndpoint(path: string, summary: string, params: Record<string, unknown>, methods: readonly ('GET' | 'POST')[], handler: Handler, urlParams?: RouteSchema['params'], docs?: RouteDef['docs']): RouteDef<Deps>[] {
  const querystring = Object.keys(params).length === 0 ? undefined : Type.Object(params as Record<string, ReturnType<typeof param>>, { additionalProperties: true });
  return methods.map((method) => route({
    method, url: `${GRAFANA_PREFIX}${path}`, summary: `${summary} (Prometheus HTTP API${method === 'POST' ? ', form-encoded body' : ''})`, tags: ['metrics'],
    access: needs('metrics-read'),
    schema: { ...(querystring ? { querystring } : {}), ...(urlParams ? { params: urlParams } : {}) },
    ...(method === 'POST' ? { raw: { contentTypes: [FORM], limit: MAX_FORM_BYTES } } : {}),
    renderError: prometheusError,
    ...(docs ? { docs: { ...docs, url: `${GRAFANA_PREFIX}${docs.url}` } } : {}),
    handler: async ({ deps, principal, query, body, params: p, signal, headers }) => {
      const merged = promParams(method === 'POST' ? (body as unknown as Buffer | undefined) : undefined, query);
      const rt = runtimeOf(deps);
      const request: ReadRequest = { tenant: principal.tenantId, now: rt.clock.now(), params: merged, signal, acceptsGzip: acceptsGzip(headers) };
      return limited(rt, principal.tenantId, signal, async (release) => {
        const out = await storage(async () => handler(rt.backend, request, (p ?? {}) as Record<string, string>));
        return { ...replyBody(rt, out, release), contentType: 'application/json' };
      });
    },
  }));
}

/**
 * `/label/<name>/values` is routed as `/label/*`: a `:name` parameter is refused by the router past
 * 100 characters (its limit is server-wide), before this route could answer in Prometheus's shape,
 * while remote-write takes label names up to PROBECTL_METRICS_WRITE_MAX_LABEL_NAME_BYTES (at most 512).
 */
const LabelPathParams = Type.Object({ '*': Type.String() });

/** The longest label name `/label/<name>/values` takes (remote-write takes at most 512 bytes). */
const MAX_LABEL_NAME_PATH = 1024;

/** The label name of the rest of a `/label/*` path (`<name>/values`, percent-decoded by the router); anything else is no route (404 not_found). */
function labelNameOfPath(rest: string): string {
  const m = /^([^/]+)\/values$/.exec(rest);
  if (m === null) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', 'no such route: the label values path is /api/v1/label/<name>/values');
  const name = m[1] as string;
  if (name.length > MAX_LABEL_NAME_PATH) throw new PromParamError('name', `invalid label name: longer than ${MAX_LABEL_NAME_PATH} characters`);
  return name;
}

/** /v1/grafana/api/v1/*, /v1/prometheus/federate, /v1/prometheus/write. */
export const metricsRoutes: readonly RouteDef<Deps>[] = [
  ...promEndpoint('/query', 'Instant query', QUERY_PARAMS, ['GET', 'POST'], (b, r) => b.instant(r)),
  ...promEndpoint('/query_range', 'Range query', RANGE_PARAMS, ['GET', 'POST'], (b, r) => b.range(r)),
  ...promEndpoint('/series', 'Series matching selectors', MATCH_PARAMS, ['GET', 'POST'], (b, r) => b.series(r)),
  ...promEndpoint('/labels', 'Label names', MATCH_PARAMS, ['GET', 'POST'], (b, r) => b.labelNames(r)),
  ...promEndpoint('/label/*', 'Values of a label: GET …/label/<name>/values', MATCH_PARAMS, ['GET'], (b, r, u) => b.labelValues(r, labelNameOfPath(u['*'] ?? '')), LabelPathParams, { url: '/label/{name}/values', params: Type.Object({ name: Type.String({ minLength: 1, maxLength: MAX_LABEL_NAME_PATH, description: 'Label name' }) }) }),
  ...promEndpoint('/metadata', 'Metric metadata (none is kept: an empty map)', { metric: param('Metric name'), limit: MATCH_PARAMS.limit }, ['GET'], (_b, r) => metadataQuery(r.params)),
  ...promEndpoint('/query_exemplars', 'Exemplars (none are kept: an empty list)', { query: QUERY_PARAMS.query, start: RANGE_PARAMS.start, end: RANGE_PARAMS.end }, ['GET', 'POST'], (b, r) => b.exemplars(r)),
  ...promEndpoint('/status/buildinfo', 'Build information (the Prometheus API version implemented)', {}, ['GET'], () => buildInfo(VERSION)),
  route({
    method: 'GET', url: '/v1/prometheus/federate', tags: ['metrics'],
    summary: 'Latest sample of each of your series matching match[] (repeatable plain selectors), in the Prometheus text exposition format, for a scraping Prometheus with honor_labels: true',
    access: needs('metrics-read'),
    schema: { querystring: Type.Object({ 'match[]': MATCH_PARAMS['match[]'] }, { additionalProperties: true }) },
    handler: async ({ deps, principal, query, signal, headers }) => {
      const rt = runtimeOf(deps);
      const params = promParams(undefined, query);
      return limited(rt, principal.tenantId, signal, async (release) => {
        const body = await storage(() => rt.backend.federate({ tenant: principal.tenantId, now: rt.clock.now(), params, signal, acceptsGzip: acceptsGzip(headers) }));
        return { ...replyBody(rt, body, release), contentType: EXPOSITION_CONTENT_TYPE };
      });
    },
  }),
  route({
    method: 'POST', url: '/v1/prometheus/write', tags: ['metrics'],
    summary: 'Prometheus remote-write 1.0 (snappy-compressed protobuf WriteRequest) into your tenant; every series\' tenant_id is forced to yours. 204 stored; 400 malformed, over a limit or refused (named); 415 remote-write 2.0; 503 storage unavailable',
    access: needs('metrics-write'),
    schema: {},
    raw: {
      contentTypes: [],
      limit: (deps) => deps.runtime?.settings.writeLimits.maxCompressedBytes ?? 4 * 1_048_576,
      tooLarge: bodyTooLarge,
    },
    handler: async ({ deps, principal, body, headers, signal }) => {
      const rt = runtimeOf(deps);
      const header = (name: string) => {
        const v = headers[name];
        return Array.isArray(v) ? v.join(', ') : v;
      };
      const answer = await rt.backend.write({
        tenant: principal.tenantId, now: rt.clock.now(), contentType: header('content-type'), contentEncoding: header('content-encoding'),
        body: (body as unknown as Buffer | undefined) ?? Buffer.alloc(0), signal,
      });
      return { status: answer.status, body: answer.body, ...(answer.headers ? { headers: answer.headers } : {}), ...(answer.contentType ? { contentType: answer.contentType } : {}) };
    },
  }),
];
