/**
 * The metrics backend the federation's routes (routes.ts) serve from — one set of routes,
 * two backends:
 * - the embedded store (this file: the Prometheus API over `SeriesStore`, selectors only);
 * - a Prometheus-compatible engine (upstream/backend.ts: full PromQL, tenant-scoped by
 *   construction), chosen by PROBECTL_METRICS_UPSTREAM_URL.
 * Each operation takes the caller's tenant from the route (never from the request), the
 * merged Prometheus parameters, and the request's abort signal (the client went away).
 */
import type { Logger } from 'pino';
import { type Body, type GzipBody, exemplarsQuery, instantQuery, labelNamesQuery, labelValuesQuery, rangeQuery, seriesQuery, type QueryContext } from './api/queries.ts';
import type { PromParams } from './api/params.ts';
import type { MetricsSettings } from './config.ts';
import { federate } from './federate.ts';
import type { FederationMetrics } from './runtime.ts';
import type { SeriesStore } from './store/types.ts';
import { remoteWrite } from './write.ts';

export interface ReadRequest {
  readonly tenant: string;
  /** Current time, ms. */
  readonly now: number;
  readonly params: PromParams;
  readonly signal?: AbortSignal | undefined;
  /**
   * The caller's Accept-Encoding takes gzip (RFC 9110 §12.5.3): an upstream engine's answer
   * to a query, query_range or federate may pass through compressed (a GzipBody).
   */
  readonly acceptsGzip?: boolean;
}

export interface WriteRequestIn {
  readonly tenant: string;
  readonly now: number;
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  readonly body: Buffer;
  readonly signal?: AbortSignal | undefined;
}

/** The remote-write route's answer (a 503 carries Retry-After so the sender retries). */
export interface WriteAnswer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body: string;
  readonly contentType?: string;
}

export interface MetricsBackend {
  readonly kind: 'embedded' | 'upstream';
  instant(r: ReadRequest): Promise<Body>;
  range(r: ReadRequest): Promise<Body>;
  series(r: ReadRequest): Promise<Body>;
  labelNames(r: ReadRequest): Promise<Body>;
  labelValues(r: ReadRequest, name: string): Promise<Body>;
  exemplars(r: ReadRequest): Promise<Body>;
  /** Text exposition format. */
  federate(r: ReadRequest): Promise<string | Buffer | AsyncIterable<Buffer> | GzipBody>;
  write(w: WriteRequestIn): Promise<WriteAnswer>;
}

export interface EmbeddedBackendDeps {
  readonly store: SeriesStore;
  readonly settings: MetricsSettings;
  readonly log: Logger;
  readonly metrics: FederationMetrics | undefined;
}

/** The embedded store behind the Prometheus API (selectors-only enforcer, api/queries.ts). */
export function embeddedBackend(deps: EmbeddedBackendDeps): MetricsBackend {
  const { store, settings } = deps;
  const ctx = (r: ReadRequest): QueryContext => ({ store, tenant: r.tenant, now: r.now, maxSeries: settings.maxSeries, maxSamples: settings.maxSamples, lookbackMs: settings.lookbackMs });
  return {
    kind: 'embedded',
    instant: async (r) => instantQuery(ctx(r), r.params),
    range: async (r) => rangeQuery(ctx(r), r.params),
    series: async (r) => seriesQuery(ctx(r), r.params),
    labelNames: async (r) => labelNamesQuery(ctx(r), r.params),
    labelValues: async (r, name) => labelValuesQuery(ctx(r), name, r.params),
    exemplars: async (r) => exemplarsQuery(ctx(r), r.params),
    federate: async (r) => federate({ store, tenant: r.tenant, now: r.now, maxSeries: settings.maxSeries, lookbackMs: settings.lookbackMs }, r.params),
    async write(w) {
      await remoteWrite(
        { store, tenant: w.tenant, limits: settings.writeLimits, now: w.now, retentionMs: settings.retentionMs, log: deps.log, metrics: deps.metrics },
        { contentType: w.contentType, contentEncoding: w.contentEncoding },
        w.body,
      );
      return { status: 204, body: '' };
    },
  };
}
