import { integration } from '../integrations/types.ts';
import { embeddedBackend, type MetricsBackend } from './backend.ts';
import { registerMetricsCommands } from './commands.ts';
import { metricsSettings, metricsVars, type MetricsSettings, type MetricsVars } from './config.ts';
import { MetricsJobs } from './jobs.ts';
import { metricsRoutes } from './routes.ts';
import { federationMetrics, metricsStore, queryLimiter, type MetricsRuntime } from './runtime.ts';
import { safeOrigin } from '../core/http/transport.ts';
import { upstreamAppender, upstreamBackend } from './upstream/backend.ts';
import { checkUpstream } from './upstream/check.ts';
import { UpstreamClient } from './upstream/client.ts';

/**
 * Metrics federation (docs/federation.md): Grafana reads the tenant's series as
 * a Prometheus datasource, Prometheus scrapes them out (/federate) or
 * remote-writes in — the tenant always forced, never trusted. Always on: the
 * API is read-only or tenant-scoped; the server also records probectl's own
 * per-tenant series and compacts and expires the store. With
 * PROBECTL_METRICS_UPSTREAM_URL the same routes are served by a
 * Prometheus-compatible engine (upstream/), checked at startup.
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
    const counters = deps.background ? federationMetrics(deps.registry) : undefined;
    const up = settings.upstream;
    const client = up ? new UpstreamClient(up, deps.secrets, log) : undefined;
    try {
      if (client && deps.background) await checkUpstream(client, deps.providerTenantId);
    } catch (err) {
      await client?.close();
      throw err;
    }
    const backend: MetricsBackend = client
      ? upstreamBackend({ client, maxSeries: settings.maxSeries, lookbackMs: settings.lookbackMs, writeLimits: settings.writeLimits, log, metrics: counters })
      : embeddedBackend({ store, settings, log, metrics: counters });
    const closeClient = async () => { await client?.close(); };
    if (!deps.background) return { runtime: { settings, store, backend, limiter, metrics: undefined, log }, summary: () => ({}), stop: closeClient };
    const jobs = new MetricsJobs({
      db: deps.db, clock: deps.clock, log, store: client ? upstreamAppender({ client, log }) : store, settings, secrets: deps.secrets, providerTenantId: deps.providerTenantId,
      onRun: (job, outcome) => counters?.jobRuns.inc({ job, outcome }),
    });
    jobs.start();
    return {
      runtime: { settings, store, backend, limiter, metrics: counters, log, jobs },
      summary: () => (up
        ? { backend: 'upstream', upstream: safeOrigin(up.url), tenancy: up.tenancy, self_interval_ms: settings.selfIntervalMs, max_series: settings.maxSeries }
        : { retention: `${settings.retentionMs / 86_400_000}d`, self_interval_ms: settings.selfIntervalMs, max_series: settings.maxSeries }),
      stop: async () => {
        await jobs.stop();
        await closeClient();
      },
    };
  },
});
