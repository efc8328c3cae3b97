/**
 * The metrics federation's background work (started only in the server):
 * - self-metrics: every PROBECTL_METRICS_SELF_INTERVAL, probectl's own
 *   per-tenant series (self-metrics.ts);
 * - compaction: every minute, each tenant's recent samples into chunks;
 * - retention: every 10 minutes, samples older than PROBECTL_METRICS_RETENTION.
 *
 * Safe across replicas: each job's run over the tenants is taken by one
 * replica at a time under a session-level advisory lock (a dedicated
 * connection, released if the process dies); a replica that does not get it
 * skips that run. Beneath that, the store serialises compaction and
 * retention of a tenant under its own transaction lock, and self-metrics
 * timestamps are aligned on the interval, so even two replicas running the
 * same tick store each sample once. A failure on one tenant is logged and
 * the run continues with the next; one failed run never stops the schedule.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { Periodic } from '../core/periodic.ts';
import type { SecretResolver } from '../secrets/resolver.ts';
import type { Db, LockSession } from '../store/db.ts';
import { inSystem } from '../store/scope.ts';
import type { MetricsSettings } from './config.ts';
import { recordReplica, recordTenants, type SelfRecorderDeps } from './self-metrics.ts';
import type { SeriesStore, SeriesStoreMaintenance } from './store/types.ts';

export type JobName = 'self-metrics' | 'compaction' | 'retention';

export interface JobsDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  /** Where the self-metrics go; compaction and retention run only for a store that has them (the embedded one). */
  store: Pick<SeriesStore, 'append'> & Partial<SeriesStoreMaintenance>;
  settings: MetricsSettings;
  secrets: Pick<SecretResolver, 'stats'>;
  providerTenantId: string;
  /** Told of each finished run (metrics). */
  onRun?: (job: JobName, outcome: 'ok' | 'skipped' | 'failed') => void;
}

/** The advisory-lock key a job run takes (one replica at a time). */
export function jobLockKey(job: JobName): bigint {
  return createHash('sha256').update(`probectl:metrics:${job}`).digest().readBigInt64BE(0);
}

export class MetricsJobs {
  private readonly deps: JobsDeps;
  private readonly periodic: Periodic[] = [];
  private session: LockSession | undefined;
  private sessionOpening: Promise<LockSession> | undefined;

  constructor(deps: JobsDeps) {
    this.deps = deps;
  }

  start(): void {
    const s = this.deps.settings;
    this.periodic.push(new Periodic(s.selfIntervalMs, () => this.recordSelf()));
    if (this.maintenance()) {
      this.periodic.push(
        new Periodic(s.compactionIntervalMs, () => this.compact()),
        new Periodic(s.retentionIntervalMs, () => this.expire()),
      );
    }
    for (const p of this.periodic) p.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.periodic.map((p) => p.stop()));
    await this.session?.close().catch(() => undefined);
    this.session = undefined;
  }

  /** The store's housekeeping, when it owns its storage (upstream mode: the engine does its own). */
  private maintenance(): SeriesStoreMaintenance | undefined {
    const { compact, deleteBefore, activeSeries } = this.deps.store;
    return compact && deleteBefore && activeSeries ? (this.deps.store as SeriesStoreMaintenance) : undefined;
  }

  private selfDeps(): SelfRecorderDeps {
    const { db, store, secrets, providerTenantId, settings, clock, log } = this.deps;
    return {
      db, store, secrets, providerTenantId, intervalMs: settings.selfIntervalMs, now: () => clock.now(),
      onRefused: (tenant, errors) => log.warn({ tenant, errors: errors.map((e) => e.message) }, 'metrics: probectl\'s own series partly refused'),
    };
  }

  /** One self-metrics tick: this replica's secret counters, and every tenant's series if no other replica is on it. */
  async recordSelf(): Promise<void> {
    const deps = this.selfDeps();
    await this.guard('self-metrics', async () => {
      await recordReplica(deps);
      await this.exclusive('self-metrics', async (tenants) => {
        await recordTenants(deps, tenants);
      });
    });
  }

  /** One compaction run over every tenant. */
  async compact(): Promise<void> {
    const store = this.maintenance();
    if (!store) return;
    await this.guard('compaction', () => this.exclusive('compaction', async (tenants) => {
      for (const tenant of tenants) {
        await this.perTenant('compaction', tenant, async () => {
          const r = await store.compact(tenant, this.deps.clock.now());
          if (r.conflicts > 0) this.deps.log.warn({ tenant, conflicts: r.conflicts }, 'metrics compaction: late samples conflicting with compacted ones were dropped (the compacted value is kept)');
        });
      }
    }));
  }

  /** One retention run over every tenant. */
  async expire(): Promise<void> {
    const store = this.maintenance();
    if (!store) return;
    const cutoff = this.deps.clock.now() - this.deps.settings.retentionMs;
    await this.guard('retention', () => this.exclusive('retention', async (tenants) => {
      for (const tenant of tenants) {
        await this.perTenant('retention', tenant, async () => {
          const r = await store.deleteBefore(tenant, cutoff);
          if (r.seriesDeleted > 0 || r.chunksDeleted > 0) this.deps.log.info({ tenant, ...r }, 'metrics retention: expired samples deleted');
        });
      }
    }));
  }

  private async guard(job: JobName, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.deps.onRun?.(job, 'failed');
      this.deps.log.error({ job, err: (err as Error).message }, 'metrics background job failed; it runs again at its next interval');
    }
  }

  private async perTenant(job: JobName, tenant: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.deps.log.error({ job, tenant, err: (err as Error).message }, 'metrics background job failed for a tenant; continuing with the next');
    }
  }

  private async lockSession(): Promise<LockSession> {
    if (this.session?.alive) return this.session;
    this.session = undefined;
    this.sessionOpening ??= this.deps.db.lockSession().finally(() => {
      this.sessionOpening = undefined;
    });
    this.session = await this.sessionOpening;
    return this.session;
  }

  /** Runs fn over every tenant while holding the job's lock; skips when another replica holds it. */
  private async exclusive(job: JobName, fn: (tenants: string[]) => Promise<void>): Promise<void> {
    const session = await this.lockSession();
    const key = jobLockKey(job);
    if (!(await session.tryLock(key))) {
      this.deps.onRun?.(job, 'skipped');
      return;
    }
    try {
      const tenants = await inSystem(this.deps.db, async (tx) => (await tx.query<{ id: string }>('SELECT id FROM tenants ORDER BY id')).rows.map((r) => r.id));
      await fn(tenants);
      this.deps.onRun?.(job, 'ok');
    } finally {
      await session.unlock(key).catch(() => undefined);
    }
  }
}
