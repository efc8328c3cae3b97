import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { Db } from '../store/db.ts';
import { QueryLimiter } from './api/limiter.ts';
import type { MetricsSettings } from './config.ts';
import type { MetricsBackend } from './backend.ts';
import type { MetricsJobs } from './jobs.ts';
import { createEmbeddedSeriesStore, type EmbeddedSeriesStore } from './store/embedded.ts';

/** probectl_metrics_* process metrics (GET /metrics) of the federation API. */
export interface FederationMetrics {
  readonly writeRequests: Counter<'outcome'>;
  readonly writeSamples: Counter<'outcome'>;
  readonly jobRuns: Counter<'job' | 'outcome'>;
}

export function federationMetrics(registry: Registry): FederationMetrics {
  const registers = [registry];
  return {
    writeRequests: new Counter({ name: 'probectl_metrics_write_requests_total', help: 'Remote-write requests by outcome (stored, partial, refused, unsupported, failed).', labelNames: ['outcome'] as const, registers }),
    writeSamples: new Counter({ name: 'probectl_metrics_write_samples_total', help: 'Remote-written samples by outcome (stored, duplicate, refused).', labelNames: ['outcome'] as const, registers }),
    jobRuns: new Counter({ name: 'probectl_metrics_job_runs_total', help: 'Runs of the metrics background jobs (self-metrics, compaction, retention) by outcome (ok, skipped: another replica ran it, failed).', labelNames: ['job', 'outcome'] as const, registers }),
  };
}

/** What the federation's routes use: its settings and the series store. */
export interface MetricsRuntime {
  readonly settings: MetricsSettings;
  readonly store: EmbeddedSeriesStore;
  /** What the routes serve from: the embedded store, or the upstream engine (PROBECTL_METRICS_UPSTREAM_URL). */
  readonly backend: MetricsBackend;
  /** Metrics reads in flight (PROBECTL_METRICS_MAX_CONCURRENT_QUERIES). */
  readonly limiter: QueryLimiter;
  readonly metrics: FederationMetrics | undefined;
  readonly log: Logger;
  /**
   * What the routes take as now (a query's default time, federation's lookback, a write's
   * future limit): on PostgreSQL in the server the database's clock (store/db-clock.ts), so
   * replicas agree; else the injected clock.
   */
  readonly clock: Clock;
  /** The background jobs (server only): tests and operations run them now. */
  readonly jobs?: MetricsJobs;
}

/** The embedded store with the configured limits (PROBECTL_METRICS_*), on the injected clock. */
export function metricsStore(db: Db, clock: Clock, settings: MetricsSettings): EmbeddedSeriesStore {
  return createEmbeddedSeriesStore(db, {
    maxSeries: settings.maxSeries, maxTenantSeries: settings.maxTenantSeries, lookbackMs: settings.lookbackMs, now: () => clock.now(),
  });
}

/** The read limiter with the configured concurrency and timeout. */
export function queryLimiter(settings: MetricsSettings): QueryLimiter {
  return new QueryLimiter(settings.maxConcurrentQueries, settings.queryTimeoutMs);
}
