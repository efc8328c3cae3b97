import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Budget } from '../core/budget.ts';
import type { Clock } from '../core/clock.ts';
import { streamNotifier, type StreamNotifier } from '../core/streams.ts';
import type { Db, LockSession } from '../store/db.ts';
import { inSystem } from '../store/scope.ts';
import type { SiemSettings } from './config.ts';
import type { SiemStream } from './cursor.ts';
import { StreamDrainer } from './drainer.ts';
import type { Redactor } from './redact.ts';
import type { LiveStreamState, SiemMetrics } from './status.ts';
import type { Target } from './targets/types.ts';

export interface ForwarderOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  settings: SiemSettings;
  target: Target;
  redactor: Redactor;
  metrics: SiemMetrics;
  notifier?: StreamNotifier;
  /** Grace for a batch in flight at shutdown before it is aborted (it is re-sent on the next start). */
  stopGraceMs?: number;
}

/** The advisory-lock key of a tenant stream: the same in every replica. */
export function lockKey(tenantId: string, stream: SiemStream): bigint {
  return createHash('sha256').update(`probectl:siem:${tenantId}:${stream}`).digest().readBigInt64BE(0);
}

/**
 * Runs the drainers of this replica. Each tenant stream is drained by exactly
 * one replica at a time, under a session-level PostgreSQL advisory lock held
 * on a dedicated connection (a crashed replica's locks die with its
 * connection). Replicas announce themselves and each takes at most its fair
 * share of the streams, so different tenants spread over replicas.
 */
export class Forwarder {
  readonly replicaId = randomUUID();
  private readonly opts: ForwarderOptions;
  private readonly drainers = new Map<string, StreamDrainer>();
  private session: LockSession | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private balancing: Promise<void> | undefined;
  private pending = false;
  private readonly budget: Budget;

  constructor(opts: ForwarderOptions) {
    this.opts = opts;
    this.budget = new Budget(opts.settings.bufferEvents);
  }

  start(): void {
    this.unsubscribe = (this.opts.notifier ?? streamNotifier).subscribe((tenant, stream) => {
      const drainer = this.drainers.get(`${tenant}|${stream}`);
      if (drainer) drainer.wake();
      // A stream nobody here drains yet (a new tenant): balance now rather than at the next interval.
      else if (this.opts.settings.streams.includes(stream)) this.tickSoon();
    });
    this.tickSoon();
  }

  private tickSoon(): void {
    if (this.stopped || this.pending) return;
    if (this.timer) clearTimeout(this.timer);
    this.pending = true;
    this.timer = setTimeout(() => {
      this.pending = false;
      this.balancing = (this.balancing ?? Promise.resolve())
        .then(() => this.rebalance())
        .catch((err: unknown) => this.opts.log.error({ err: (err as Error).message }, 'SIEM rebalance failed; retrying'))
        .finally(() => {
          if (!this.stopped && !this.pending) this.timer = setTimeout(() => this.tickSoon(), this.opts.settings.rebalanceIntervalMs);
        });
    }, 0);
  }

  /** The live state of the streams this replica drains. */
  liveStates(): LiveStreamState[] {
    return [...this.drainers.values()].map((d) => d.state);
  }

  holds(tenantId: string, stream: SiemStream): boolean {
    return this.drainers.has(`${tenantId}|${stream}`);
  }

  /** Runs one balancing round now (tests, and start-up). */
  async rebalance(): Promise<void> {
    const { db, settings, clock } = this.opts;
    if (!this.session || !this.session.alive) {
      if (this.session) await this.dropAll('the lock connection was lost');
      this.session = await db.lockSession();
    }
    const now = new Date(clock.now());
    const staleBefore = new Date(clock.now() - settings.rebalanceIntervalMs * 3);
    const { tenants, replicas } = await inSystem(db, async (tx) => {
      await tx.query('INSERT INTO siem_replicas (id, seen_at) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET seen_at = EXCLUDED.seen_at', [this.replicaId, now]);
      await tx.query('DELETE FROM siem_replicas WHERE seen_at < $1', [new Date(clock.now() - settings.rebalanceIntervalMs * 30)]);
      const live = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM siem_replicas WHERE seen_at >= $1', [staleBefore]);
      const ids = await tx.query<{ id: string }>('SELECT id FROM tenants ORDER BY id');
      return { tenants: ids.rows.map((r) => r.id), replicas: Math.max(1, live.rows[0]?.n ?? 1) };
    });
    const wanted = tenants.flatMap((t) => settings.streams.map((s) => ({ tenant: t, stream: s })));
    const share = Math.ceil(wanted.length / replicas);
    // Start from a replica-specific offset so replicas starting together reach for different streams first.
    const offset = wanted.length === 0 ? 0 : Number.parseInt(this.replicaId.slice(0, 8), 16) % wanted.length;
    const ordered = [...wanted.slice(offset), ...wanted.slice(0, offset)];
    for (const { tenant, stream } of ordered) {
      if (this.stopped || this.drainers.size >= share) break;
      const key = `${tenant}|${stream}`;
      if (this.drainers.has(key)) continue;
      if (await this.session.tryLock(lockKey(tenant, stream))) this.startDrainer(tenant, stream);
    }
    while (this.drainers.size > share && !this.stopped) {
      const [key, drainer] = [...this.drainers.entries()].at(-1) as [string, StreamDrainer];
      await this.release(key, drainer);
    }
  }

  private startDrainer(tenant: string, stream: SiemStream): void {
    const { settings } = this.opts;
    const key = `${tenant}|${stream}`;
    const drainer = new StreamDrainer({
      db: this.opts.db, clock: this.opts.clock, log: this.opts.log, tenantId: tenant, stream, target: this.opts.target,
      redactor: this.opts.redactor, policy: settings.retry, batchSize: settings.batchSize, pollIntervalMs: settings.pollIntervalMs,
      budget: this.budget, metrics: this.opts.metrics,
    });
    this.drainers.set(key, drainer);
    drainer.start((err) => {
      if (this.drainers.get(key) !== drainer) return;
      this.drainers.delete(key);
      void this.session?.unlock(lockKey(tenant, stream)).catch(() => undefined);
      if (err && !this.stopped) this.opts.log.error({ tenant, stream, err: (err as Error).message }, 'SIEM drainer stopped; it restarts at the next rebalance');
    });
  }

  private async release(key: string, drainer: StreamDrainer): Promise<void> {
    this.drainers.delete(key);
    await drainer.stop(this.opts.stopGraceMs ?? 10_000);
    const [tenant, stream] = key.split('|') as [string, SiemStream];
    await this.session?.unlock(lockKey(tenant, stream)).catch(() => undefined);
  }

  private async dropAll(reason: string): Promise<void> {
    this.opts.log.error({ reason }, 'SIEM export: stopping every drainer of this replica');
    const all = [...this.drainers.entries()];
    this.drainers.clear();
    await Promise.all(all.map(([, d]) => d.stop(0)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.unsubscribe?.();
    await this.balancing;
    const all = [...this.drainers.entries()];
    await Promise.all(all.map(([key, d]) => this.release(key, d)));
    await inSystem(this.opts.db, (tx) => tx.query('DELETE FROM siem_replicas WHERE id = $1', [this.replicaId])).catch(() => undefined);
    await this.session?.close();
    await this.opts.target.close();
  }
}
