import { integration } from '../integrations/types.ts';
import { registerMetricsCommands } from './commands.ts';
import { metricsSettings, metricsVars, type MetricsSettings, type MetricsVars } from './config.ts';
import { MetricsJobs } from './jobs.ts';
import { metricsRoutes } from './routes.ts';
import { federationMetrics, metricsStore, queryLimiter, type MetricsRuntime } from './runtime.ts';

/**
 * Metrics federation (docs/federation.md): Grafana reads the tenant's series as
 * a Prometheus datasource, Prometheus scrapes them out (/federate) or
 * remote-writes in — the tenant always forced, never trusted. Always on: the
 * API is read-only or tenant-scoped; the server also records probectl's own
 * per-tenant series and compacts and expires the store.
 */
export const metrics = integration<MetricsSettings, MetricsRuntime>({
  name: 'metrics',
  description: 'Metrics federation: check what a query becomes once tenant-scoped',
  config: {
    title: 'Metrics federation (Grafana, Prometheus)',
    vars: metricsVars,
    settings: (values, problems) => metricsSettings(values as MetricsVars, problems),
  },
  routes: metricsRoutes,
  commands: registerMetricsCommands,
  async start(settings, deps) {
    const store = metricsStore(deps.db, deps.clock, settings);
    const limiter = queryLimiter(settings);
    const log = deps.log;
    if (!deps.background) return { runtime: { settings, store, limiter, metrics: undefined, log }, summary: () => ({}), stop: async () => {} };
    const counters = federationMetrics(deps.registry);
    const jobs = new MetricsJobs({
      db: deps.db, clock: deps.clock, log, store, settings, secrets: deps.secrets, providerTenantId: deps.providerTenantId,
      onRun: (job, outcome) => counters.jobRuns.inc({ job, outcome }),
    });
    jobs.start();
    return {
      runtime: { settings, store, limiter, metrics: counters, log, jobs },
      summary: () => ({ retention: `${settings.retentionMs / 86_400_000}d`, self_interval_ms: settings.selfIntervalMs, max_series: settings.maxSeries }),
      stop: () => jobs.stop(),
    };
  },
});
