/**
 * The Prometheus HTTP API endpoints Grafana uses
 * (https://prometheus.io/docs/prometheus/latest/querying/api/), over the
 * series store, each a function (params, tenant) → response body. Every query
 * and every `match[]` goes through the tenant enforcer first
 * (enforce/enforce.ts): only plain selectors and constant expressions, the
 * caller's tenant forced. Parameter handling, result shapes and messages follow
 * Prometheus 3 `web/api/v1/api.go`. Errors are thrown as ProbectlError; the
 * routes render them in Prometheus's error shape (errors.ts).
 */
import { ProbectlError } from '../../core/errors.ts';
import { enforceMatchSelector, enforceQuery } from '../enforce/enforce.ts';
import { isConstant, QueryRefusedError, type EnforcedSelector } from '../enforce/types.ts';
import { checkEvalTime, parsePromDurationParam, parsePromTimeParam, parseRangeQueryParams, PromParamError } from '../prom-time.ts';
import { compareUtf8 } from '../store/labels.ts';
import type { Matcher, QueryOptions, Selector, SeriesStore, TimeBounds } from '../store/types.ts';
import { labelsJson, matrixBody, scalarJson, stringsJson, successBody, vectorBody } from './json.ts';
import { all, first, matchParams, type PromParams } from './params.ts';

export interface QueryContext {
  readonly store: SeriesStore;
  readonly tenant: string;
  /** Current time in ms (the default evaluation time). */
  readonly now: number;
  readonly maxSeries: number;
  readonly maxSamples: number;
  readonly lookbackMs: number;
}

/** A store selector (`__name__` as a matcher) from an enforced one. */
export function storeSelector(s: EnforcedSelector): Selector {
  const matchers: Matcher[] = s.metricName === undefined ? [...s.matchers] : [{ name: '__name__', op: '=', value: s.metricName }, ...s.matchers];
  return {
    matchers,
    ...(s.rangeMs !== undefined ? { rangeMs: s.rangeMs } : {}),
    ...(s.offsetMs !== undefined ? { offsetMs: s.offsetMs } : {}),
    ...(s.at !== undefined ? { at: s.at } : {}),
  };
}

/** Runs fn; a refusal it throws is re-thrown naming the request parameter it was about (Prometheus's "invalid parameter" wording). */
export function withParam<T>(parameter: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof QueryRefusedError) throw new QueryRefusedError(err.reason, `invalid parameter ${JSON.stringify(parameter)}: ${err.message}`);
    throw err;
  }
}

function enforced(ctx: QueryContext, params: PromParams) {
  return withParam('query', () => enforceQuery(first(params, 'query') ?? '', ctx.tenant));
}

function options(ctx: QueryContext, params: PromParams): QueryOptions {
  const lookback = first(params, 'lookback_delta');
  let lookbackMs = ctx.lookbackMs;
  if (lookback !== undefined && lookback !== '') {
    const ms = parsePromDurationParam(lookback, 'lookback_delta');
    if (ms < 0) throw new PromParamError('lookback_delta', 'invalid parameter "lookback_delta": lookback delta must not be negative');
    if (ms > 0) lookbackMs = ms;
  }
  const timeout = first(params, 'timeout');
  if (timeout !== undefined && timeout !== '') parsePromDurationParam(timeout, 'timeout');
  return { maxSeries: ctx.maxSeries, maxSamples: ctx.maxSamples, lookbackMs };
}

/** An engine's answer passed on still gzip-compressed (upstream mode, a caller that accepts gzip): sent with `Content-Encoding: gzip`. */
export interface GzipBody {
  readonly gzip: AsyncIterable<Buffer>;
}

/**
 * A read's answer: built (string, bytes), built as it is sent (chunks, so large results never
 * become one string), or the bytes of an engine's answer passed on as they arrive (upstream
 * mode), compressed when the engine compressed them (GzipBody).
 */
export type Body = string | Buffer | Iterable<string> | AsyncIterable<Buffer> | GzipBody;

/** GET|POST /api/v1/query: a vector (selector), a matrix (selector with a range) or a scalar (constant). */
export async function instantQuery(ctx: QueryContext, params: PromParams): Promise<Body> {
  const t = checkEvalTime(parsePromTimeParam(first(params, 'time'), 'time', ctx.now), 'time');
  const opts = options(ctx, params);
  const q = enforced(ctx, params);
  if (isConstant(q.expr)) return successBody(scalarJson(t, q.expr.constant));
  const sel = storeSelector(q.expr);
  if (sel.rangeMs !== undefined) return matrixBody(await ctx.store.rangeVector(ctx.tenant, sel, t, opts));
  return vectorBody(await ctx.store.instant(ctx.tenant, sel, t, opts));
}

/** A constant's range-query answer: one series without labels, `value` at start + k·step (ms). */
export function constantRangeBody(value: number, startMs: number, endMs: number, stepMs: number): Body {
  const steps = Math.floor((endMs - startMs) / stepMs) + 1;
  const timestamps = new Float64Array(steps);
  for (let k = 0; k < steps; k++) timestamps[k] = startMs + k * stepMs;
  return matrixBody([{ labels: {}, timestamps, values: new Float64Array(steps).fill(value) }]);
}

/** Prometheus's refusal of a range vector as a range query's expression (web/api/v1/api.go), word for word. */
export const RANGE_VECTOR_IN_RANGE_QUERY = 'invalid parameter "query": invalid expression type "range vector" for range query, must be Scalar or instant Vector';

/** GET|POST /api/v1/query_range: a matrix at start + k·step. */
export async function rangeQuery(ctx: QueryContext, params: PromParams): Promise<Body> {
  const { startMs, endMs, stepMs } = parseRangeQueryParams({ start: first(params, 'start'), end: first(params, 'end'), step: first(params, 'step') });
  const opts = options(ctx, params);
  const q = enforced(ctx, params);
  if (isConstant(q.expr)) return constantRangeBody(q.expr.constant, startMs, endMs, stepMs);
  if (q.expr.rangeMs !== undefined) {
    throw new QueryRefusedError('invalid', RANGE_VECTOR_IN_RANGE_QUERY);
  }
  return matrixBody(await ctx.store.range(ctx.tenant, storeSelector(q.expr), startMs, endMs, stepMs, opts));
}

/** Every `match[]` enforced for the tenant, as store matcher sets. */
export function matcherSets(tenant: string, params: PromParams): Matcher[][] {
  return matchParams(params).map((m) => withParam('match[]', () => storeSelector(enforceMatchSelector(m, tenant).selector).matchers as Matcher[]));
}

/** Safe-integer bounds from optional start/end (Prometheus's min/max time mean "unbounded"). */
function bounds(params: PromParams): TimeBounds {
  const LIMIT = 2 ** 51;
  const start = parsePromTimeParam(first(params, 'start'), 'start', -Infinity);
  const end = parsePromTimeParam(first(params, 'end'), 'end', Infinity);
  if (end < start) throw new PromParamError('end', 'invalid parameter "end": end timestamp must not be before start timestamp');
  return {
    ...(start > -LIMIT ? { startMs: Math.min(start, LIMIT) } : {}),
    ...(end < LIMIT ? { endMs: Math.max(end, -LIMIT) } : {}),
  };
}

/** The `limit` parameter (Prometheus 3): 0 or absent means none. */
/** Prometheus's `limit` of series, labels and label values (2.51+): a non-negative integer, 0 or absent for none. @throws PromParamError otherwise */
export function limitOf(params: PromParams): number {
  const raw = first(params, 'limit');
  if (raw === undefined || raw === '') return 0;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new PromParamError('limit', `invalid parameter "limit": cannot parse ${JSON.stringify(raw)} to a valid limit`);
  return n;
}

/** Prometheus's warning on an answer cut at `limit`. */
export const TRUNCATED = 'results truncated due to limit';

function limited<T>(values: T[], limit: number): { values: T[]; warnings: string[] } {
  if (limit > 0 && values.length > limit) return { values: values.slice(0, limit), warnings: [TRUNCATED] };
  return { values, warnings: [] };
}

/** GET|POST /api/v1/series: label sets of the series matching any match[] (at least one required). */
export async function seriesQuery(ctx: QueryContext, params: PromParams): Promise<string> {
  const limit = limitOf(params);
  const b = bounds(params);
  if (all(params, 'match[]').length === 0) throw new PromParamError('match[]', 'no match[] parameter provided');
  const sets = matcherSets(ctx.tenant, params);
  const found = await ctx.store.series(ctx.tenant, sets, b, { maxSeries: ctx.maxSeries });
  const { values, warnings } = limited(found, limit);
  return successBody(`[${values.map(labelsJson).join(',')}]`, warnings);
}

/** GET|POST /api/v1/labels: label names of the tenant's series (of those matching match[] when given). */
export async function labelNamesQuery(ctx: QueryContext, params: PromParams): Promise<string> {
  const limit = limitOf(params);
  const b = bounds(params);
  const names = await ctx.store.labelNames(ctx.tenant, matcherSets(ctx.tenant, params), b, { maxSeries: ctx.maxSeries });
  const { values, warnings } = limited(names.sort(compareUtf8), limit);
  return successBody(stringsJson(values), warnings);
}

/** GET /api/v1/label/<name>/values. */
export async function labelValuesQuery(ctx: QueryContext, name: string, params: PromParams): Promise<string> {
  if (name === '' || !name.isWellFormed() || name.includes('\u0000')) throw new PromParamError('name', `invalid label name: ${JSON.stringify(name)}`);
  const limit = limitOf(params);
  const b = bounds(params);
  const vals = await ctx.store.labelValues(ctx.tenant, name, matcherSets(ctx.tenant, params), b, { maxSeries: ctx.maxSeries });
  const { values, warnings } = limited(vals.sort(compareUtf8), limit);
  return successBody(stringsJson(values), warnings);
}

/** GET /api/v1/query_exemplars: the query is checked like any other; probectl keeps no exemplars. */
export function exemplarsQuery(ctx: QueryContext, params: PromParams): string {
  const start = parsePromTimeParam(first(params, 'start'), 'start', -Infinity);
  const end = parsePromTimeParam(first(params, 'end'), 'end', Infinity);
  if (end < start) throw new PromParamError('end', 'invalid parameter "end": end timestamp must not be before start timestamp');
  enforced(ctx, params);
  return successBody('[]');
}

/** GET /api/v1/metadata: probectl keeps no metric metadata (HELP, TYPE, UNIT); an empty map, as Prometheus with none. */
export function metadataQuery(params: PromParams): string {
  limitOf(params);
  return successBody('{}');
}

/** GET /api/v1/status/buildinfo: the Prometheus API version implemented, and probectl's. */
export function buildInfo(version: string): string {
  return successBody(`{"version":"3.0.0","revision":${JSON.stringify(`probectl-${version}`)},"branch":"probectl","buildUser":"probectl","buildDate":"","goVersion":""}`);
}

/** A store error that is the database being unreachable (answered 503 `unavailable`, retried by clients). */
export function isStorageUnavailable(err: unknown): boolean {
  if (err instanceof ProbectlError) return err.code === 'PROBECTL_ERR_DB_UNAVAILABLE';
  const code = (err as { code?: unknown } | null)?.code;
  // PostgreSQL connection exceptions (class 08), admin shutdown (57P0x), too many connections (53300), and socket errors.
  return typeof code === 'string' && (/^08/.test(code) || /^57P0/.test(code) || code === '53300' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'EPIPE');
}
