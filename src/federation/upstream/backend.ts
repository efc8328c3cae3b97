/**
 * Upstream mode (docs/federation.md, "Scaling out"): the Prometheus API and remote-write of
 * /v1/grafana and /v1/prometheus served by a Prometheus-compatible engine, probectl the
 * tenant-enforcing front door.
 *
 * - query, query_range: full PromQL, rewritten by promql.ts (every selector tenant-scoped,
 *   printed from the tree, verified); times normalised by probectl; the caller's text is
 *   never sent. The engine's 2xx answer passes through unchanged, as it arrives (never held whole).
 * - series, labels, label values, federate: every `match[]` enforced as a plain selector
 *   (enforce/enforce.ts); labels and label values without `match[]` get
 *   `match[]={tenant_id="<tenant>"}`, so no other tenant's names or values are listed; their
 *   answers pass through as they arrive, or cut to `limit` as they arrive (cutEntries).
 * - the cardinality guard (PROBECTL_METRICS_MAX_SERIES) runs before a query, series, labels, label
 *   values or federate is forwarded: the engine's series API with the tenant-scoped
 *   selectors over the window the query reads; over the limit: 422, nothing forwarded.
 * - remote-write: decoded and checked under the same limits as the embedded store, the
 *   tenant forced, re-encoded (encode.ts) and forwarded; the engine's 2xx → 204, its 4xx →
 *   the same status (the sender drops the batch), unreachable/5xx/408/429/timeout → 503 with
 *   Retry-After (the sender retries, nothing lost).
 * - metadata stays `{}` and exemplars `[]` (the engine's are not tenant-scoped).
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ProbectlError } from '../../core/errors.ts';
import { OncePerInterval } from '../../core/once-per-interval.ts';
import { all, first, matchParams, type PromParams } from '../api/params.ts';
import { goJsonString, labelsJson, promTimestamp, scalarJson, successBody } from '../api/json.ts';
import type { MetricsBackend, ReadRequest, WriteAnswer, WriteRequestIn } from '../backend.ts';
import { constantRangeBody, limitOf, RANGE_VECTOR_IN_RANGE_QUERY, TRUNCATED, withParam, type GzipBody } from '../api/queries.ts';
import { evaluateConstant, isConstantExpression } from '../enforce/constant.ts';
import { enforceMatchSelector, topExpression } from '../enforce/enforce.ts';
import { QueryRefusedError, TENANT_LABEL } from '../enforce/types.ts';
import { goQuote } from '../enforce/literals.ts';
import { checkEvalTime, parsePromDurationParam, parsePromTimeParam, parseRangeQueryParams, PromParamError } from '../prom-time.ts';
import { checkRemoteWriteHeaders } from '../remote-write/content-type.ts';
import { RemoteWriteLabelCache } from '../remote-write/columns.ts';
import { RemoteWriteError, type RemoteWriteLimits } from '../remote-write/errors.ts';
import type { FederationMetrics } from '../runtime.ts';
import type { AppendResult, SeriesSamples } from '../store/types.ts';
import { isLegacyLabelName } from '../names.ts';
import { namedLimit } from '../write.ts';
import { answerError, UPSTREAM_WRITE_CONNECTIONS, type Params, type UpstreamAnswer, type UpstreamClient, type UpstreamStream } from './client.ts';
import { encodeTenantWriteRequest } from './encode.ts';
import { spliceRemoteWrite, type ForwardWrite } from './splice.ts';
import { gzipped, withEmptyInstance } from './federate-instance.ts';
import { scopeQuery, type ScopedQuery } from './promql.ts';
import { ListAnswerCut, MAX_SERIES_GAP_BYTES, SeriesAnswerCounter } from './series-count.ts';
import { TenantBoundedCache } from '../tenant-cache.ts';
import { QueryLimiter } from '../api/limiter.ts';

export interface UpstreamBackendDeps {
  readonly client: UpstreamClient;
  readonly maxSeries: number;
  readonly lookbackMs: number;
  readonly writeLimits: RemoteWriteLimits;
  readonly log: Logger;
  readonly metrics: FederationMetrics | undefined;
  /** Guard verdicts kept in all (GUARD_ENTRIES when left out). */
  readonly guardEntries?: number;
  /** PROBECTL_METRICS_UPSTREAM_RETENTION (ms): a remote-write holding a sample before now − this is refused (400), not forwarded. */
  readonly retentionMs?: number | undefined;
}

/**
 * The cardinality guard's verdicts are kept this long: a dashboard refreshing a panel asks the
 * engine's series API once per half minute, not before every query. Series come and go slowly
 * next to that; the guard bounds cost, it is not an exact count.
 */
export const GUARD_TTL_MS = 30_000;
/** Guard windows are widened to whole minutes (a superset: the count can only be larger), so a moving window reuses a verdict. */
const GUARD_ROUND_MS = 60_000;
/** Verdicts kept in all, shared fairly between tenants (tenant-cache.ts): a tenant asking many distinct queries empties its own. */
const GUARD_ENTRIES = 10_000;

/** Retry-After of a remote-write 503 when the engine sent none, in seconds. */
const DEFAULT_RETRY_AFTER_S = 5;

function seconds(ms: number): string {
  return promTimestamp(ms);
}

/** `match[]` values, each enforced for the tenant, as the text sent to the engine. */
function matchSelectors(tenant: string, params: PromParams): string[] {
  return matchParams(params).map((m) => withParam('match[]', () => enforceMatchSelector(m, tenant).query));
}

function windowParams(params: PromParams): Params {
  const out: Array<[string, string]> = [];
  const start = first(params, 'start');
  const end = first(params, 'end');
  const s = start === undefined || start === '' ? undefined : parsePromTimeParam(start, 'start', 0);
  const e = end === undefined || end === '' ? undefined : parsePromTimeParam(end, 'end', 0);
  if (s !== undefined && e !== undefined && e < s) throw new PromParamError('end', 'invalid parameter "end": end timestamp must not be before start timestamp');
  if (s !== undefined && Number.isFinite(s)) out.push(['start', seconds(s)]);
  if (e !== undefined && Number.isFinite(e)) out.push(['end', seconds(e)]);
  return out;
}

/**
 * A list answer's bytes (`{"status":"success","data":[…],"warnings":[…]}`: series, labels,
 * label values) cut to the caller's `limit` (> 0) as Prometheus 2.51+ cuts it — the first
 * `limit` entries and the warning "results truncated due to limit" beside the engine's warnings
 * seen before the cut — also when the engine ignored `limit` (Prometheus before 2.51). Read no
 * further than `limit` + 1 entries, each parsed and rendered again (`render`: the JSON of one
 * entry) as it closes (ListAnswerCut): an answer of hundreds of megabytes, a label of unique ids,
 * is never parsed whole into the heap. An answer within the limit, or not a list of entries,
 * comes back unchanged (read whole, as bytes); with `what` (the call, for the message), one not a
 * list past MAX_SERIES_GAP_BYTES is refused, 503, read no further.
 */
async function cutEntries(chunks: AsyncIterable<Buffer> | Iterable<Buffer>, limit: number, render: (entry: unknown) => string, what?: string): Promise<Buffer> {
  const cut = new ListAnswerCut(limit, render);
  const parts: Buffer[] = [];
  let held = 0;
  for await (const chunk of chunks) {
    if (!cut.broken && cut.feed(chunk) > limit) {
      // The entries stay bytes (a limit just under the count keeps almost all of them): successBody's frame around them.
      const [before, after] = successBody('\u0000', [...cut.warnings.filter((w) => w !== TRUNCATED), TRUNCATED]).split('\u0000') as [string, string];
      return Buffer.concat([Buffer.from(before), cut.entries(), Buffer.from(after)]);
    }
    parts.push(chunk);
    held += chunk.length;
    // Not a list of entries (`what`: an answer still arriving): passed on unchanged only while small — held whole,
    // one of the 256 MiB an answer may have would cost that much for each such read at once.
    if (what !== undefined && cut.broken && held > MAX_SERIES_GAP_BYTES) {
      throw new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine answered the ${what} with more than ${MAX_SERIES_GAP_BYTES} bytes that are not a list of entries; retry`);
    }
  }
  return Buffer.concat(parts);
}

/** A label name or value of a list answer, as Prometheus writes it; anything but a string is not such an answer (cutEntries passes it on unchanged). */
function nameJson(entry: unknown): string {
  if (typeof entry !== 'string') throw new TypeError('not a label name or value');
  return goJsonString(entry);
}

/** A series of a series answer (an object of string values), as Prometheus writes it; anything else is not such an answer. */
function seriesJson(entry: unknown): string {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || !Object.values(entry).every((v) => typeof v === 'string')) throw new TypeError('not a series');
  return labelsJson(entry as Record<string, string>);
}

/** `body` in slices of 64 KiB (an answer already held, fed to cutEntries as if it arrived). */
function* slices(body: Buffer): Generator<Buffer> {
  for (let at = 0; at < body.length; at += 65_536) yield body.subarray(at, at + 65_536);
}

/** `limit` as sent to the engine: one more than the caller's, so a cut answer is told from a whole one. */
function limitParam(limit: number): Params {
  return limit > 0 ? [['limit', String(limit + 1)]] : [];
}

/** The caller's `lookback_delta` in ms (0: not given, the engine's default). */
function lookbackOf(params: PromParams): number {
  const raw = first(params, 'lookback_delta');
  if (raw === undefined || raw === '') return 0;
  const ms = parsePromDurationParam(raw, 'lookback_delta');
  if (ms < 0) throw new PromParamError('lookback_delta', 'invalid parameter "lookback_delta": lookback delta must not be negative');
  return ms;
}

function lookbackParam(ms: number): Params {
  return ms > 0 ? [['lookback_delta', `${ms / 1000}s`]] : [];
}

export function upstreamBackend(deps: UpstreamBackendDeps): MetricsBackend {
  const { client, log } = deps;
  /**
   * Forwarded remote-writes in flight, one per write connection (UPSTREAM_WRITE_CONNECTIONS), at
   * most half of them one tenant's: a tenant whose writes hang at the engine (its own org slow
   * in Mimir, a sender with 50 shards) waits for its own slots, another tenant's write still goes
   * through. A wait counts against PROBECTL_METRICS_UPSTREAM_TIMEOUT; past it, 503 + Retry-After.
   */
  const writeSlots = new QueryLimiter(UPSTREAM_WRITE_CONNECTIONS, client.settings.timeoutMs);
  const writeFailures = new OncePerInterval(WRITE_FAILURE_LOG_MS, WRITE_FAILURE_KEYS);
  const timeout: Params = [['timeout', `${client.settings.timeoutMs / 1000}s`]];

  /** The engine's list answer (labels, label values) as it arrives, cut to the caller's `limit` (> 0): cutEntries. */
  async function cutList(answer: Promise<UpstreamAnswer | UpstreamStream>, what: string, limit: number): Promise<Buffer> {
    const a = await answer;
    if (!('chunks' in a)) throw answerError(a, what, log);
    return cutEntries(a.chunks, limit, nameJson, what);
  }

  /** The engine's 2xx answer as it arrives (a query_range of 10,000 series is tens of megabytes: never held whole), or its error. */
  async function passed(answer: Promise<UpstreamAnswer | UpstreamStream>, what: string): Promise<AsyncIterable<Buffer> | GzipBody> {
    const a = await answer;
    if ('chunks' in a) return a.contentEncoding === 'gzip' ? { gzip: a.chunks } : a.chunks;
    throw answerError(a, what, log);
  }

  /**
   * Series counts (at most maxSeries + 1) by tenant, then selectors and widened window, each
   * taken for GUARD_TTL_MS after it was counted (`at`, performance.now() ms: monotonic). A full
   * cache empties the tenant holding the most verdicts, so one tenant's churn of distinct
   * queries never costs another tenant its verdicts.
   */
  const verdicts = new TenantBoundedCache<{ count: number; at: number }>(deps.guardEntries ?? GUARD_ENTRIES, deps.guardEntries ?? GUARD_ENTRIES, () => 1);

  /**
   * The cardinality guard: the series the selectors match in [startMs, endMs] (ms, widened to
   * whole minutes), at most maxSeries, from the engine's series API or a verdict of the last
   * GUARD_TTL_MS. @throws ProbectlError PROBECTL_ERR_METRICS_TOO_MANY_SERIES over the limit
   */
  async function guard(r: ReadRequest, selectors: readonly string[], startMs: number | undefined, endMs: number | undefined): Promise<void> {
    if (selectors.length === 0) return;
    const lo = startMs === undefined ? undefined : Math.floor(startMs / GUARD_ROUND_MS) * GUARD_ROUND_MS;
    const hi = endMs === undefined ? undefined : Math.ceil(endMs / GUARD_ROUND_MS) * GUARD_ROUND_MS;
    // Hashed: the selectors of one read may be a megabyte (a form of many match[]), and 10,000 of them must not be kept.
    const key = createHash('sha256').update(JSON.stringify([lo, hi, selectors])).digest('base64');
    const mine = verdicts.forTenant(r.tenant);
    const kept = mine.entries.get(key);
    let count: number;
    if (kept !== undefined && performance.now() - kept.at < GUARD_TTL_MS) count = kept.count;
    else {
      const at = performance.now();
      count = await seriesCount(r, selectors, lo, hi);
      verdicts.add(mine, key, { count, at });
    }
    if (count > deps.maxSeries) throw tooMany(deps.maxSeries);
  }

  /** The engine's count of series the selectors match in [startMs, endMs], at most maxSeries + 1. */
  async function seriesCount(r: ReadRequest, selectors: readonly string[], startMs: number | undefined, endMs: number | undefined): Promise<number> {
    const params: Array<[string, string]> = selectors.map((s) => ['match[]', s]);
    if (startMs !== undefined) params.push(['start', seconds(startMs)]);
    if (endMs !== undefined) params.push(['end', seconds(endMs)]);
    return (await readSeries(r, params, 'series count', false)).count;
  }

  /**
   * The engine's series answer for `params` (match[], start, end; `limit` is added), read as it
   * arrives and no further than maxSeries + 1 series: an engine ignoring `limit` (Prometheus
   * before 2.51, Debian's 2.42) answers every matching series, and holding that whole would cost
   * probectl up to MAX_UPSTREAM_RESPONSE_BYTES for one request (series-count.ts). Returns the
   * count (at most maxSeries + 1) and, with `keep` and under the limit, the answer's bytes.
   * @throws ProbectlError PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE for an answer that is not
   *   JSON, is cut short, holds no list or more than MAX_SERIES_GAP_BYTES without a series; the engine's own errors as answerError maps them
   */
  async function readSeries(r: ReadRequest, params: Params, what: string, keep: boolean): Promise<{ count: number; body: Buffer }> {
    const over = { count: deps.maxSeries + 1, body: Buffer.alloc(0) };
    const answer = await client.apiScan(r.tenant, '/api/v1/series', [...params, ['limit', String(deps.maxSeries + 1)]], r.signal, what);
    if (!('chunks' in answer)) throw answerError(answer, what, log);
    const counter = new SeriesAnswerCounter();
    const parts: Buffer[] = [];
    try {
      for await (const chunk of answer.chunks) {
        if (keep) parts.push(chunk);
        if (counter.feed(chunk) > deps.maxSeries) return over;
        if (counter.broken) break; // not JSON: the rest is not read
      }
    } catch (err) {
      if (err instanceof ProbectlError && err.code === 'PROBECTL_ERR_METRICS_TOO_MANY_SAMPLES') return over;
      throw err;
    }
    if (counter.oversized) throw new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine answered the ${what} with more than ${MAX_SERIES_GAP_BYTES} bytes holding no series; retry`);
    if (!counter.complete) throw new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine answered the ${what} with something that is not JSON; retry`);
    if (!counter.sawData) throw new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine answered the ${what} without a list; retry`);
    return { count: counter.count, body: Buffer.concat(parts) };
  }

  function scoped(r: ReadRequest, spanMs = 0): ScopedQuery {
    return withParam('query', () => scopeQuery(first(r.params, 'query') ?? '', r.tenant, {}, { spanMs }));
  }

  /** The times the query reads samples from: its range, `@` times and ranges/offsets, and the instant lookback (the caller's lookback_delta when longer). */
  function window(q: ScopedQuery, startMs: number, endMs: number, lookbackMs: number): [number, number] {
    const lo = Math.min(startMs, ...q.atMs) - q.reachMs - Math.max(deps.lookbackMs, lookbackMs);
    const hi = Math.max(endMs, ...q.atMs) + q.reachMs;
    return [lo, hi];
  }

  return {
    kind: 'upstream',

    async instant(r) {
      const t = checkEvalTime(parsePromTimeParam(first(r.params, 'time'), 'time', r.now), 'time');
      const lookbackMs = lookbackOf(r.params);
      const lookback = lookbackParam(lookbackMs);
      const constant = constantOf(r);
      if (constant !== undefined) return successBody(scalarJson(t, constant));
      const q = scoped(r);
      const [lo, hi] = window(q, t, t, lookbackMs);
      await guard(r, q.selectors, lo, hi);
      return passed(client.apiStream(r.tenant, '/api/v1/query', [['query', q.query], ['time', seconds(t)], ...lookback, ...timeout], r.signal, { gzip: r.acceptsGzip === true, peek: 'json' }), 'query');
    },

    async range(r) {
      const { startMs, endMs, stepMs } = parseRangeQueryParams({ start: first(r.params, 'start'), end: first(r.params, 'end'), step: first(r.params, 'step') });
      const lookbackMs = lookbackOf(r.params);
      const lookback = lookbackParam(lookbackMs);
      const constant = constantOf(r);
      if (constant !== undefined) return constantRangeBody(constant, startMs, endMs, stepMs);
      const q = scoped(r, endMs - startMs);
      // Refused here as Prometheus refuses it (400 bad_data, its wording), before the guard counts any series.
      if (q.rangeVector) throw new QueryRefusedError('invalid', RANGE_VECTOR_IN_RANGE_QUERY);
      const [lo, hi] = window(q, startMs, endMs, lookbackMs);
      await guard(r, q.selectors, lo, hi);
      return passed(client.apiStream(r.tenant, '/api/v1/query_range', [['query', q.query], ['start', seconds(startMs)], ['end', seconds(endMs)], ['step', `${stepMs / 1000}`], ...lookback, ...timeout], r.signal, { gzip: r.acceptsGzip === true, peek: 'json' }), 'query');
    },

    async series(r) {
      const win = windowParams(r.params);
      const limit = limitOf(r.params);
      if (all(r.params, 'match[]').length === 0) throw new PromParamError('match[]', 'no match[] parameter provided');
      const sets = matchSelectors(r.tenant, r.params);
      // Counted first (limit, bounded answer): an unbounded series answer of millions of series
      // would be read whole before the check below could refuse it.
      await guard(r, sets, startOf(win), endOf(win));
      // Read as it arrives and refused past the limit (series that appeared since the guard's count, kept 30 s).
      const { count, body } = await readSeries(r, [...sets.map((s): [string, string] => ['match[]', s]), ...win], 'series', true);
      if (count > deps.maxSeries) throw tooMany(deps.maxSeries);
      return limit === 0 ? body : cutEntries(slices(body), limit, seriesJson);
    },

    async labelNames(r) {
      const win = windowParams(r.params);
      const limit = limitOf(r.params);
      const sets = matchSelectors(r.tenant, r.params);
      if (sets.length > 0) await guard(r, sets, startOf(win), endOf(win));
      const match = sets.length > 0 ? sets : [tenantOnly(r.tenant)];
      const params: Params = [...match.map((s): [string, string] => ['match[]', s]), ...win, ...limitParam(limit)];
      // Without a limit, passed on as it arrives (compressed by the engine for a caller that takes gzip): a tenant's label answer is not bounded by probectl, never held whole.
      if (limit === 0) return passed(client.apiStream(r.tenant, '/api/v1/labels', params, r.signal, { gzip: r.acceptsGzip === true, peek: 'json' }, 'labels'), 'labels');
      return cutList(client.apiScan(r.tenant, '/api/v1/labels', params, r.signal, 'labels', { peek: 'json' }), 'labels', limit);
    },

    async labelValues(r, name) {
      if (name === '' || !name.isWellFormed() || name.includes('\u0000')) throw new PromParamError('name', `invalid label name: ${JSON.stringify(name)}`);
      const win = windowParams(r.params);
      const limit = limitOf(r.params);
      const sets = matchSelectors(r.tenant, r.params);
      // A name remote-write refuses labels no series of the tenant: answered here, never put in the
      // engine's URL (`.`, `..` would be resolved as path segments into another engine endpoint).
      if (!isLegacyLabelName(name)) return successBody('[]');
      if (sets.length > 0) await guard(r, sets, startOf(win), endOf(win));
      const match = sets.length > 0 ? sets : [tenantOnly(r.tenant)];
      const path = `/api/v1/label/${encodeURIComponent(name)}/values`;
      const params: Params = [...match.map((s): [string, string] => ['match[]', s]), ...win, ...limitParam(limit)];
      if (limit === 0) return passed(client.getStream(r.tenant, path, params, r.signal, { gzip: r.acceptsGzip === true, peek: 'json' }, 'label values', 'json'), 'label values');
      return cutList(client.getScan(r.tenant, path, params, r.signal, 'label values', { peek: 'json' }), 'label values', limit);
    },

    async exemplars(r) {
      scoped(r);
      return successBody('[]');
    },

    async federate(r) {
      const sets = matchSelectors(r.tenant, r.params);
      if (sets.length === 0) return '';
      await guard(r, sets, r.now - deps.lookbackMs, r.now);
      // Asked uncompressed (the engine is near), given instance="" where the engine wrote none (as
      // Prometheus and the embedded store do), then compressed here for a caller that takes gzip.
      const body = await passed(client.getStream(r.tenant, '/federate', sets.map((s): [string, string] => ['match[]', s]), r.signal, { peek: 'bytes' }, 'federate', 'exposition'), 'federate');
      if ('gzip' in body) return body; // only when asked for, which it was not
      const lines = withEmptyInstance(body);
      return r.acceptsGzip === true ? { gzip: gzipped(lines) } : lines;
    },

    write: (w) => forwardWrite(deps, writeSlots, writeFailures, w),
  };
}

/**
 * The value of a query that is a constant number expression (`1+1`, Grafana's "Save & test"),
 * evaluated here as in embedded mode (enforce/constant.ts) and never sent; undefined for
 * anything else, which goes through the tenant scoping.
 */
function constantOf(r: ReadRequest): number | undefined {
  const query = first(r.params, 'query') ?? '';
  try {
    const top = topExpression(query, {});
    return isConstantExpression(top) ? evaluateConstant(top, query) : undefined;
  } catch (err) {
    if (err instanceof QueryRefusedError) return undefined;
    throw err;
  }
}

function tooMany(max: number): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_METRICS_TOO_MANY_SERIES', `the query matches more than ${max} series (PROBECTL_METRICS_MAX_SERIES); narrow the selector`);
}

function tenantOnly(tenant: string): string {
  return `{${TENANT_LABEL}=${goQuote(tenant)}}`;
}

function startOf(win: Params): number | undefined {
  const s = win.find(([k]) => k === 'start');
  return s ? Math.round(Number(s[1]) * 1000) : undefined;
}

function endOf(win: Params): number | undefined {
  const e = win.find(([k]) => k === 'end');
  return e ? Math.round(Number(e[1]) * 1000) : undefined;
}

/** A remote-write 503 answer with Retry-After (the sender retries; nothing was stored). */
function unavailable(err: ProbectlError): WriteAnswer {
  const retry = typeof err.details?.retryAfterSeconds === 'number' ? err.details.retryAfterSeconds : DEFAULT_RETRY_AFTER_S;
  return { status: 503, headers: { 'retry-after': String(retry) }, body: JSON.stringify({ code: err.code, message: err.message }), contentType: 'application/json' };
}

/** The write limiter's refusal (it speaks of reads) in remote-write's words: 503, the sender retries. */
function writeSlotError(err: unknown, timeoutMs: number): unknown {
  if (!(err instanceof ProbectlError) || err.code !== 'PROBECTL_ERR_METRICS_BUSY') return err;
  return new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_TIMEOUT', `remote-write timed out: this tenant's earlier remote-writes held their share of the connections to the metrics engine for the whole ${timeoutMs / 1000}s (PROBECTL_METRICS_UPSTREAM_TIMEOUT); retry`);
}

/** Validated label sets of this process's remote-write senders (as the embedded write path keeps them). */
const labelCache = new RemoteWriteLabelCache();

/**
 * A remote-write the engine did not take is logged once per tenant and reason in this long (ms), with the count
 * of those held back since: a sender's shards retrying against an engine that is down would otherwise log an error
 * for every retry. The same failure: the same tenant and reason (the engine's status is in it), or for a refusal
 * (4xx, the engine's own text) the same tenant and status, the line giving the first one's reason. Every one is
 * counted in the metrics (`outcome`).
 */
const WRITE_FAILURE_LOG_MS = 10_000;
/** Tenant-and-reason keys WRITE_FAILURE_LOG_MS remembers (least recently seen first out): a key is a few hundred bytes. */
const WRITE_FAILURE_KEYS = 10_000;

/**
 * A refusal's reason as logged: the engine's text (engineMessage, label pairs and sets already elided) with what it
 * quotes elided too — engines quote the batch's own label names, values and series there (Mimir: "label: 'session',
 * value: 'Bearer …' (truncated) series: 'http_requests_total{…}'"), which is the sender's payload, not the operator's;
 * the sender's own answer keeps them. A quote left open (the text cut) is elided to the end.
 */
export function withoutQuoted(reason: string): string {
  // A ' after a letter or digit is an apostrophe ("isn't", "sample's"), not a quote.
  return reason.replace(/(?<![\p{L}\p{N}])'[^']*'?|"(?:[^"\\]|\\.)*"?|`[^`]*`?/gu, (q) => `${q[0]}…${q[0]}`);
}

/**
 * Decode (limits, tenant forced) → re-encode (spliceRemoteWrite: the cached label runs and the samples as sent, where
 * they are what the encoder writes) → forward in one of the tenant's `slots`; see the module comment for the answers. A write the engine did not take is logged once (its reason, never the payload), at most once per
 * WRITE_FAILURE_LOG_MS for the same tenant and reason, or tenant and status for a refusal (`failures`).
 */
async function forwardWrite(deps: UpstreamBackendDeps, slots: QueryLimiter, failures: OncePerInterval, w: WriteRequestIn): Promise<WriteAnswer> {
  let decoded: ForwardWrite;
  try {
    checkRemoteWriteHeaders({ contentType: w.contentType, contentEncoding: w.contentEncoding });
    decoded = spliceRemoteWrite(w.body, { tenant: w.tenant, limits: deps.writeLimits, nowMs: w.now, ...(deps.retentionMs !== undefined ? { retentionMs: deps.retentionMs, retentionVariable: 'PROBECTL_METRICS_UPSTREAM_RETENTION' } : {}) }, labelCache);
  } catch (err) {
    if (!(err instanceof RemoteWriteError)) throw err;
    deps.metrics?.writeRequests.inc({ outcome: err.kind === 'unsupported' ? 'unsupported' : 'refused' });
    deps.log.warn({ tenant: w.tenant, bytes: w.body.length, kind: err.kind, limit: err.limit }, 'remote-write refused');
    throw namedLimit(err);
  }
  const started = performance.now();
  let release: (() => void) | undefined;
  try {
    release = await slots.acquire(w.tenant, w.signal).catch((err: unknown) => {
      throw writeSlotError(err, deps.client.settings.timeoutMs);
    });
    const left = deps.client.settings.timeoutMs - (performance.now() - started);
    await forward(deps, decoded.body, w.tenant, w.signal, Math.max(1, Math.floor(left)));
  } catch (err) {
    if (!(err instanceof ProbectlError)) throw err;
    if (w.signal?.aborted === true) {
      // The sender hung up before the engine answered (its remote_timeout, a restart): nothing is wrong with the
      // engine, and the sender sends the batch again.
      deps.metrics?.writeRequests.inc({ outcome: 'failed' });
      deps.log.info({ tenant: w.tenant, series: decoded.series, samples: decoded.sampleCount }, 'remote-write cancelled: the sender went away before the metrics engine answered; it sends the batch again');
      return unavailable(err);
    }
    // A refusal's reason is the engine's text about the batch (Mimir names the sample's timestamp and series: every
    // batch of a sender writing out of order reads differently), so a refusal is the same failure by its status alone:
    // keyed by its text, every batch was a line and a tenant's keys pushed out everyone else's. Unavailable reasons
    // are probectl's own few sentences.
    const due = failures.check(`${w.tenant} ${err.status >= 500 ? err.message.slice(0, 300) : `refused ${err.status}`}`, Date.now());
    const fields = () => ({ tenant: w.tenant, series: decoded.series, samples: decoded.sampleCount, err: err.code, reason: err.status >= 500 ? err.message : withoutQuoted(err.message), ...(due.due && due.skipped > 0 ? { alike_since_last: due.skipped } : {}) });
    if (err.status >= 500) {
      deps.metrics?.writeRequests.inc({ outcome: 'failed' });
      if (due.due) deps.log.error(fields(), 'remote-write not forwarded: the metrics engine is unavailable; the sender retries');
      return unavailable(err);
    }
    deps.metrics?.writeRequests.inc({ outcome: 'refused' });
    deps.metrics?.writeSamples.inc({ outcome: 'refused' }, decoded.sampleCount);
    if (due.due) deps.log.warn({ ...fields(), status: err.status }, 'remote-write refused by the metrics engine');
    throw err;
  } finally {
    release?.();
  }
  deps.metrics?.writeRequests.inc({ outcome: 'stored' });
  deps.metrics?.writeSamples.inc({ outcome: 'stored' }, decoded.sampleCount);
  return { status: 204, body: '' };
}

/** Remote-writes `series` for `tenant` (tenant forced); resolves when the engine answered 2xx, throws its answer otherwise. */
export function sendSeries(deps: Pick<UpstreamBackendDeps, 'client' | 'log'>, tenant: string, series: readonly SeriesSamples[], signal?: AbortSignal): Promise<void> {
  return forward(deps, encodeTenantWriteRequest(tenant, series), tenant, signal);
}

/** Sends one encoded WriteRequest of `tenant` (within `timeoutMs`, default the client's); resolves on the engine's 2xx, throws its answer otherwise. */
async function forward(deps: Pick<UpstreamBackendDeps, 'client' | 'log'>, body: Buffer, tenant: string, signal?: AbortSignal, timeoutMs?: number): Promise<void> {
  const answer = await deps.client.write(tenant, body, signal, timeoutMs);
  if (answer.status >= 200 && answer.status < 300) return;
  // Not logged here: the caller logs the error it throws (forwardWrite, throttled; the self-metrics job).
  if (WRITE_CONFIG_STATUSES.has(answer.status)) {
    throw new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine answered HTTP ${answer.status} to the remote-write: the operator must check PROBECTL_METRICS_UPSTREAM_WRITE_URL and any proxy on the way (the answer speaks of the URL, not the batch); retry later`);
  }
  throw answerError(answer, 'remote-write');
}

/**
 * Engine answers to a remote-write that speak of probectl's configuration, not of the batch — no
 * receiver at the write URL (404; Prometheus without --web.enable-remote-write-receiver), a method
 * or protocol it does not take there (405, 415, 426), a proxy wanting credentials (407), a
 * misdirected request (421): a 503, as for a refused credential, so the sender keeps its batch
 * and retries while the operator fixes it, where passing the 4xx on would make it drop the batch.
 */
const WRITE_CONFIG_STATUSES: ReadonlySet<number> = new Set([404, 405, 407, 415, 421, 426]);

/**
 * probectl's own series into the engine: the `append` of the store interface the
 * self-metrics job uses (self-metrics.ts), as one remote-write per call. Throws when the
 * engine did not take them (the job logs it; the next tick records current values again).
 */
export function upstreamAppender(deps: Pick<UpstreamBackendDeps, 'client' | 'log'>): { append(tenant: string, series: readonly SeriesSamples[]): Promise<AppendResult> } {
  return {
    async append(tenant, series) {
      let samples = 0;
      for (const s of series) samples += s.values.length;
      if (series.length > 0) await sendSeries(deps, tenant, series);
      return { stored: samples, duplicates: 0, seriesCreated: 0, refused: { conflicts: 0, tooNew: 0, limitedSeries: 0, limitedSamples: 0 }, errors: [] };
    },
  };
}
