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
import { systemClock, type Clock } from '../core/clock.ts';
import { DatabaseClock } from '../store/db-clock.ts';
import type { Logger } from 'pino';
import type { Db } from '../store/db.ts';

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
    const log = deps.log;
    const up = settings.upstream;
    // The embedded store's time windows on PostgreSQL are judged on the database's clock, which
    // every replica shares (store/db-clock.ts); an injected test clock is used as it is.
    const dbClock = !up && deps.db.driver === 'postgres' && deps.clock === systemClock ? databaseClock(deps.db, deps.clock, log) : undefined;
    try {
      await dbClock?.start();
    } catch (err) {
      throw new Error(`metrics: could not read the database's clock (${err instanceof Error ? err.message : String(err)}); on PostgreSQL the embedded metrics store keeps time by it, so replicas agree`);
    }
    const clock: Clock = dbClock ?? deps.clock;
    const store = metricsStore(deps.db, clock, settings);
    const limiter = queryLimiter(settings);
    const counters = deps.background ? federationMetrics(deps.registry) : undefined;
    const client = up ? new UpstreamClient(up, deps.secrets, log, settings.maxConcurrentQueries) : undefined;
    try {
      if (client && deps.background) await checkUpstream(client, deps.providerTenantId);
    } catch (err) {
      await client?.close();
      throw err;
    }
    const backend: MetricsBackend = client
      ? upstreamBackend({ client, maxSeries: settings.maxSeries, lookbackMs: settings.lookbackMs, writeLimits: settings.writeLimits, log, metrics: counters, retentionMs: up?.retentionMs })
      : embeddedBackend({ store, settings, log, metrics: counters });
    // What both the CLI's runtime and the server's release: the clock's timer and the engine's client.
    const release = async () => {
      dbClock?.stop();
      await client?.close();
    };
    if (!deps.background) return { runtime: { settings, store, backend, limiter, metrics: undefined, log, clock }, summary: () => ({}), stop: release };
    const jobs = new MetricsJobs({
      db: deps.db, clock, log, store: client ? upstreamAppender({ client, log }) : store, settings, secrets: deps.secrets, providerTenantId: deps.providerTenantId,
      onRun: (job, outcome) => counters?.jobRuns.inc({ job, outcome }),
    });
    jobs.start();
    return {
      runtime: { settings, store, backend, limiter, metrics: counters, log, clock, jobs },
      summary: () => (up
        ? { backend: 'upstream', upstream: `${safeOrigin(up.url)}${up.url.pathname}`, tenancy: up.tenancy, self_interval_ms: settings.selfIntervalMs, max_series: settings.maxSeries }
        : { retention: `${settings.retentionMs / 86_400_000}d`, self_interval_ms: settings.selfIntervalMs, max_series: settings.maxSeries }),
      stop: async () => {
        await jobs.stop();
        await release();
      },
    };
  },
});

/** Beyond this offset (ms) between this replica's clock and the database's, the skew is logged as a warning (clockReporter). */
export const CLOCK_WARN_MS = 10_000;

/** The database's clock for the embedded store, its measurements logged: a large offset and a failed measurement warn. */
function databaseClock(db: Db, local: Clock, log: Logger): DatabaseClock {
  return new DatabaseClock(db, local, clockReporter(log, local));
}

/**
 * A reported skew ends once the offset is back within this (ms): half the warning threshold, so an
 * offset hovering at the threshold (a clock drifting through it, measured with a few ms of jitter)
 * is one warning, not a warning and an info line at every measurement.
 */
export const CLOCK_AGREE_MS = CLOCK_WARN_MS / 2;

/** A skew keeps being reported at most this often while it lasts (ms). */
export const CLOCK_REPEAT_MS = 3_600_000;

/**
 * The DatabaseClock's onSync for the server log: a failed measurement is a warning once until one
 * succeeds again; a skew over CLOCK_WARN_MS is a warning when it begins, when it moves by more than
 * CLOCK_WARN_MS since it was last reported, and every CLOCK_REPEAT_MS while it lasts (not at every
 * measurement, once a minute); its end (back within CLOCK_AGREE_MS) is an info line.
 */
export function clockReporter(log: Pick<Logger, 'warn' | 'info'>, local: Clock): (r: { offsetMs: number } | { error: unknown }) => void {
  let failing = false;
  let reported: { offsetMs: number; at: number } | undefined;
  return (r) => {
    if ('error' in r) {
      if (!failing) log.warn({ err: r.error instanceof Error ? r.error.message : String(r.error) }, 'metrics: could not read the database\'s clock; the last measured offset stays in use');
      failing = true;
      return;
    }
    failing = false;
    if (Math.abs(r.offsetMs) <= CLOCK_WARN_MS) {
      // Between CLOCK_AGREE_MS and the threshold a reported skew is neither repeated nor over.
      if (reported && Math.abs(r.offsetMs) <= CLOCK_AGREE_MS) {
        log.info({ offset_ms: r.offsetMs }, 'metrics: this replica\'s clock agrees with the database\'s again');
        reported = undefined;
      }
      return;
    }
    const now = local.now();
    if (reported && Math.abs(r.offsetMs - reported.offsetMs) <= CLOCK_WARN_MS && now - reported.at < CLOCK_REPEAT_MS) return;
    reported = { offsetMs: r.offsetMs, at: now };
    log.warn({ offset_ms: r.offsetMs }, `metrics: this replica's clock is ${Math.round(Math.abs(r.offsetMs) / 1000)} s ${r.offsetMs > 0 ? 'behind' : 'ahead of'} the database's; the metrics store uses the database's clock (fix this host's time synchronisation)`);
  };
}
