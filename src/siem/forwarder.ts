import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Budget } from '../core/budget.ts';
import type { Clock } from '../core/clock.ts';
import { appendAudit } from '../audit/log.ts';
import { OncePerInterval } from '../core/once-per-interval.ts';
import { backoffMs } from '../core/retry/policy.ts';
import { streamNotifier, type StreamNotifier } from '../core/streams.ts';
import type { Db, LockSession } from '../store/db.ts';
import { inSystem, inTenant } from '../store/scope.ts';
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

const FAILURE_AUDIT_INTERVAL_MS = 60_000;
const MIN_RESTART_MS = 100;

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
  /** Live state per tenant stream, kept across restarts of its drainer (failures stay visible). */
  private readonly states = new Map<string, LiveStreamState>();
  private readonly restarts = new Map<string, NodeJS.Timeout>();
  private readonly failureAudit: OncePerInterval;

  constructor(opts: ForwarderOptions) {
    this.opts = opts;
    this.budget = new Budget(opts.settings.bufferEvents);
    this.failureAudit = new OncePerInterval(FAILURE_AUDIT_INTERVAL_MS, 10_000);
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

  /** The live state of the streams this replica drains, or drained and is restarting after a failure. */
  liveStates(): LiveStreamState[] {
    return [...this.states.entries()].filter(([key]) => this.drainers.has(key) || this.restarts.has(key)).map(([, s]) => s);
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
      if (this.drainers.has(key) || this.restarts.has(key)) continue;
      if (await this.session.tryLock(lockKey(tenant, stream))) this.startDrainer(tenant, stream);
    }
    while (this.drainers.size > share && !this.stopped) {
      const [key, drainer] = [...this.drainers.entries()].at(-1) as [string, StreamDrainer];
      await this.release(key, drainer);
    }
  }

  private stateOf(tenant: string, stream: SiemStream): LiveStreamState {
    const key = `${tenant}|${stream}`;
    let state = this.states.get(key);
    if (!state) {
      state = { tenant, stream, paused: false, pausedReason: null, lastError: null, lastErrorAt: null, retries: 0, failures: 0, lastFailureAt: null };
      this.states.set(key, state);
    }
    return state;
  }

  private startDrainer(tenant: string, stream: SiemStream): void {
    const { settings } = this.opts;
    const key = `${tenant}|${stream}`;
    const state = this.stateOf(tenant, stream);
    const drainer = new StreamDrainer({
      db: this.opts.db, clock: this.opts.clock, log: this.opts.log, tenantId: tenant, stream, target: this.opts.target,
      redactor: this.opts.redactor, policy: settings.retry, batchSize: settings.batchSize, inflight: settings.inflight, pollIntervalMs: settings.pollIntervalMs,
      budget: this.budget, metrics: this.opts.metrics, state,
    });
    this.drainers.set(key, drainer);
    drainer.start((err) => {
      if (this.drainers.get(key) !== drainer) return;
      this.drainers.delete(key);
      if (this.stopped) {
        void this.session?.unlock(lockKey(tenant, stream)).catch(() => undefined);
        return;
      }
      if (err) this.drainerFailed(tenant, stream, state, err);
      else void this.session?.unlock(lockKey(tenant, stream)).catch(() => undefined);
    });
  }

  /**
   * A drainer that stopped on an error (database trouble, a cursor moved by
   * another replica) keeps its lock and restarts after a backoff that grows
   * with its consecutive failures. Every failure is visible: the stream's
   * last_error and failure count in status, probectl_siem_drainer_failures_total,
   * the log, and an audit record (at most one per stream per minute).
   */
  private drainerFailed(tenant: string, stream: SiemStream, state: LiveStreamState, err: unknown): void {
    const key = `${tenant}|${stream}`;
    const message = (err as Error | undefined)?.message ?? String(err);
    const now = this.opts.clock.now();
    state.failures += 1;
    state.lastError = `drainer stopped: ${message}`.slice(0, 1000);
    state.lastErrorAt = new Date(now).toISOString();
    state.lastFailureAt = state.lastErrorAt;
    this.opts.metrics.drainerFailures.inc({ tenant, stream });
    const delay = Math.max(MIN_RESTART_MS, backoffMs(this.opts.settings.retry, Math.min(state.failures - 1, 10)));
    this.opts.log.error({ tenant, stream, err: message, failures: state.failures, restart_in_ms: delay }, 'SIEM drainer stopped on an error; restarting it after a backoff');
    const gate = this.failureAudit.check(key, now);
    if (gate.due) {
      void inTenant(this.opts.db, tenant, (tx) => appendAudit(tx, this.opts.clock, {
        actor: 'system:siem', action: 'siem.drainer.failed', target: `siem:${stream}`, outcome: 'failure',
        data: { error: message.slice(0, 500), failures: state.failures, failures_not_audited: gate.skipped },
      })).catch((auditErr: unknown) => this.opts.log.error({ tenant, stream, err: (auditErr as Error).message }, 'could not audit a SIEM drainer failure'));
    }
    const timer = setTimeout(() => {
      this.restarts.delete(key);
      if (this.stopped || !this.session?.alive) {
        void this.session?.unlock(lockKey(tenant, stream)).catch(() => undefined);
        return;
      }
      this.startDrainer(tenant, stream);
    }, delay);
    this.restarts.set(key, timer);
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
    for (const timer of this.restarts.values()) clearTimeout(timer);
    this.restarts.clear();
    await Promise.all(all.map(([, d]) => d.stop(0)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const [key, timer] of this.restarts) {
      clearTimeout(timer);
      const [tenant, stream] = key.split('|') as [string, SiemStream];
      await this.session?.unlock(lockKey(tenant, stream)).catch(() => undefined);
    }
    this.restarts.clear();
    this.unsubscribe?.();
    await this.balancing;
    const all = [...this.drainers.entries()];
    await Promise.all(all.map(([key, d]) => this.release(key, d)));
    await inSystem(this.opts.db, (tx) => tx.query('DELETE FROM siem_replicas WHERE id = $1', [this.replicaId])).catch(() => undefined);
    await this.session?.close();
    await this.opts.target.close();
  }
}
