import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { appendAudit } from '../audit/log.ts';
import { Budget } from '../core/budget.ts';
import type { Clock } from '../core/clock.ts';
import { OncePerInterval } from '../core/once-per-interval.ts';
import { backoffMs, type RetryPolicy } from '../core/retry/policy.ts';
import type { StreamEvents } from '../core/streams.ts';
import type { Db, LockSession } from '../store/db.ts';
import { inSystem, inTenant } from '../store/scope.ts';
import { StreamDrainer } from './drainer.ts';
import type { DeliveryMetrics, LiveStreamState } from './metrics.ts';
import type { DeliveryItem, Sink, Source } from './types.ts';

/** How one consumer drains: batches, concurrency, polling, retries, the shared buffer. */
export interface EngineSettings {
  batchSize: number;
  /** Batches of one tenant stream in flight at once. */
  inflight: number;
  pollIntervalMs: number;
  rebalanceIntervalMs: number;
  retry: RetryPolicy;
  /** Items read and not yet delivered, across every stream of this engine (backpressure beyond). */
  bufferItems: number;
}

export interface EngineOptions<I extends DeliveryItem> {
  /** The consumer's name in cursors, lock keys, audit records (`system:<consumer>`, `<consumer>.parked`) and replicas. */
  consumer: string;
  db: Db;
  clock: Clock;
  log: Logger;
  settings: EngineSettings;
  /** The per-tenant logs to drain, each a stream. */
  sources: readonly Source<I>[];
  sink: Sink<I>;
  metrics: DeliveryMetrics;
  /** Wake-ups when a tenant's stream grows (Db.streams: in-process, and other replicas' on PostgreSQL). */
  notifier: StreamEvents;
  /** Grace for a batch in flight at shutdown before it is aborted (it is re-sent on the next start). */
  stopGraceMs?: number;
}

const FAILURE_AUDIT_INTERVAL_MS = 60_000;
/** One `<consumer>.parked` audit record per tenant stream per minute at most (see ParkAlarm in ledger.ts). */
const PARK_AUDIT_INTERVAL_MS = 60_000;
const MIN_RESTART_MS = 100;

/** The advisory-lock key of a consumer's tenant stream: the same in every replica. */
export function lockKey(consumer: string, tenantId: string, stream: string): bigint {
  return createHash('sha256').update(`probectl:${consumer}:${tenantId}:${stream}`).digest().readBigInt64BE(0);
}

/**
 * The delivery engine of one consumer: runs the drainers of this replica, one
 * per tenant and source. Each tenant stream is drained by exactly
 * one replica at a time, under a session-level PostgreSQL advisory lock held
 * on a dedicated connection (a crashed replica's locks die with its
 * connection). Replicas announce themselves and each takes at most its fair
 * share of the streams, so different tenants spread over replicas.
 */
export class DeliveryEngine<I extends DeliveryItem> {
  readonly replicaId = randomUUID();
  private readonly opts: EngineOptions<I>;
  private readonly sources: ReadonlyMap<string, Source<I>>;
  private readonly drainers = new Map<string, StreamDrainer<I>>();
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
  private readonly parkAudit: OncePerInterval;

  constructor(opts: EngineOptions<I>) {
    this.opts = opts;
    this.sources = new Map(opts.sources.map((s) => [s.stream, s]));
    this.budget = new Budget(opts.settings.bufferItems);
    this.failureAudit = new OncePerInterval(FAILURE_AUDIT_INTERVAL_MS, 10_000);
    this.parkAudit = new OncePerInterval(PARK_AUDIT_INTERVAL_MS, 10_000);
  }

  start(): void {
    this.unsubscribe = this.opts.notifier.subscribe((tenant, stream) => {
      const drainer = this.drainers.get(`${tenant}|${stream}`);
      if (drainer) drainer.wake();
      // A stream nobody here drains yet (a new tenant): balance now rather than at the next interval.
      else if (this.sources.has(stream) && !this.restarts.has(`${tenant}|${stream}`)) this.tickSoon();
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
        .catch((err: unknown) => this.opts.log.error({ consumer: this.opts.consumer, err: (err as Error).message }, `${this.opts.metrics.words.title}: rebalance failed; retrying`))
        .finally(() => {
          if (!this.stopped && !this.pending) this.timer = setTimeout(() => this.tickSoon(), this.opts.settings.rebalanceIntervalMs);
        });
    }, 0);
  }

  /** The live state of the streams this replica drains, or drained and is restarting after a failure. */
  liveStates(): LiveStreamState[] {
    return [...this.states.entries()].filter(([key]) => this.drainers.has(key) || this.restarts.has(key)).map(([, s]) => s);
  }

  holds(tenantId: string, stream: string): boolean {
    return this.drainers.has(`${tenantId}|${stream}`);
  }

  /** Runs one balancing round now (tests, and start-up). */
  async rebalance(): Promise<void> {
    const { db, settings, clock, consumer } = this.opts;
    if (!this.session || !this.session.alive) {
      if (this.session) await this.dropAll('the lock connection was lost');
      this.session = await db.lockSession();
    }
    const now = new Date(clock.now());
    const staleBefore = new Date(clock.now() - settings.rebalanceIntervalMs * 3);
    const { tenants, replicas } = await inSystem(db, async (tx) => {
      await tx.query('INSERT INTO delivery_replicas (consumer, id, seen_at) VALUES ($1, $2, $3) ON CONFLICT (consumer, id) DO UPDATE SET seen_at = EXCLUDED.seen_at', [consumer, this.replicaId, now]);
      await tx.query('DELETE FROM delivery_replicas WHERE consumer = $1 AND seen_at < $2', [consumer, new Date(clock.now() - settings.rebalanceIntervalMs * 30)]);
      const live = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM delivery_replicas WHERE consumer = $1 AND seen_at >= $2', [consumer, staleBefore]);
      const ids = await tx.query<{ id: string }>('SELECT id FROM tenants ORDER BY id');
      // One process owns the embedded database: a row left by a killed predecessor is no replica.
      return { tenants: ids.rows.map((r) => r.id), replicas: db.driver === 'pglite' ? 1 : Math.max(1, live.rows[0]?.n ?? 1) };
    });
    const wanted = tenants.flatMap((t) => [...this.sources.values()].filter((s) => s.tenants === undefined || s.tenants.includes(t)).map((s) => ({ tenant: t, stream: s.stream })));
    const share = Math.ceil(wanted.length / replicas);
    // Start from a replica-specific offset so replicas starting together reach for different streams first.
    const offset = wanted.length === 0 ? 0 : Number.parseInt(this.replicaId.slice(0, 8), 16) % wanted.length;
    const ordered = [...wanted.slice(offset), ...wanted.slice(0, offset)];
    for (const { tenant, stream } of ordered) {
      if (this.stopped || this.drainers.size >= share) break;
      const key = `${tenant}|${stream}`;
      if (this.drainers.has(key) || this.restarts.has(key)) continue;
      if (await this.session.tryLock(lockKey(consumer, tenant, stream))) this.startDrainer(tenant, stream);
    }
    while (this.drainers.size > share && !this.stopped) {
      const [key, drainer] = [...this.drainers.entries()].at(-1) as [string, StreamDrainer<I>];
      await this.release(key, drainer);
    }
  }

  private unlock(tenant: string, stream: string): Promise<void> {
    return this.session?.unlock(lockKey(this.opts.consumer, tenant, stream)).catch(() => undefined) ?? Promise.resolve();
  }

  private stateOf(tenant: string, stream: string): LiveStreamState {
    const key = `${tenant}|${stream}`;
    let state = this.states.get(key);
    if (!state) {
      state = { tenant, stream, paused: false, pausedReason: null, lastError: null, lastErrorAt: null, retries: 0, failures: 0, lastFailureAt: null };
      this.states.set(key, state);
    }
    return state;
  }

  private startDrainer(tenant: string, stream: string): void {
    const { settings } = this.opts;
    const key = `${tenant}|${stream}`;
    const state = this.stateOf(tenant, stream);
    const drainer = new StreamDrainer<I>({
      db: this.opts.db, clock: this.opts.clock, log: this.opts.log, consumer: this.opts.consumer, tenantId: tenant,
      source: this.sources.get(stream) as Source<I>, sink: this.opts.sink,
      policy: settings.retry, batchSize: settings.batchSize, inflight: settings.inflight, pollIntervalMs: settings.pollIntervalMs,
      budget: this.budget, metrics: this.opts.metrics, state, parkAudit: this.parkAudit,
    });
    this.drainers.set(key, drainer);
    drainer.start((err) => {
      if (this.drainers.get(key) !== drainer) return;
      this.drainers.delete(key);
      if (this.stopped) {
        void this.unlock(tenant, stream);
        return;
      }
      if (err) this.drainerFailed(tenant, stream, state, err);
      else void this.unlock(tenant, stream);
    });
  }

  /**
   * A drainer that stopped on an error (database trouble, a cursor moved by
   * another replica) keeps its lock and restarts after a backoff that grows
   * with its consecutive failures. Every failure is visible: the stream's
   * last_error and failure count in status, the `<prefix>_drainer_failures_total`
   * metric, the log, and an audit record (at most one per stream per minute).
   */
  private drainerFailed(tenant: string, stream: string, state: LiveStreamState, err: unknown): void {
    const { consumer } = this.opts;
    const key = `${tenant}|${stream}`;
    const message = (err as Error | undefined)?.message ?? String(err);
    const now = this.opts.clock.now();
    state.failures += 1;
    state.lastError = `drainer stopped: ${message}`.slice(0, 1000);
    state.lastErrorAt = new Date(now).toISOString();
    state.lastFailureAt = state.lastErrorAt;
    this.opts.metrics.drainerFailures.inc({ tenant, stream });
    const delay = Math.max(MIN_RESTART_MS, backoffMs(this.opts.settings.retry, Math.min(state.failures - 1, 10)));
    this.opts.log.error({ consumer, tenant, stream, err: message, failures: state.failures, restart_in_ms: delay }, `${this.opts.metrics.words.title}: drainer stopped on an error; restarting it after a backoff`);
    const gate = this.failureAudit.check(key, now);
    if (gate.due) {
      void inTenant(this.opts.db, tenant, (tx) => appendAudit(tx, this.opts.clock, {
        actor: `system:${consumer}`, action: `${consumer}.drainer.failed`, target: `${consumer}:${stream}`, outcome: 'failure',
        data: { error: message.slice(0, 500), failures: state.failures, failures_not_audited: gate.skipped },
      })).catch((auditErr: unknown) => this.opts.log.error({ consumer, tenant, stream, err: (auditErr as Error).message }, 'could not audit a drainer failure'));
    }
    const timer = setTimeout(() => {
      this.restarts.delete(key);
      if (this.stopped || !this.session?.alive) {
        void this.unlock(tenant, stream);
        return;
      }
      this.startDrainer(tenant, stream);
    }, delay);
    this.restarts.set(key, timer);
  }

  private async release(key: string, drainer: StreamDrainer<I>): Promise<void> {
    this.drainers.delete(key);
    await drainer.stop(this.opts.stopGraceMs ?? 10_000);
    const [tenant, stream] = key.split('|') as [string, string];
    await this.unlock(tenant, stream);
  }

  private async dropAll(reason: string): Promise<void> {
    this.opts.log.error({ consumer: this.opts.consumer, reason }, `${this.opts.metrics.words.title}: stopping every drainer of this replica`);
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
      const [tenant, stream] = key.split('|') as [string, string];
      await this.unlock(tenant, stream);
    }
    this.restarts.clear();
    this.unsubscribe?.();
    await this.balancing;
    const all = [...this.drainers.entries()];
    await Promise.all(all.map(([key, d]) => this.release(key, d)));
    await inSystem(this.opts.db, (tx) => tx.query('DELETE FROM delivery_replicas WHERE consumer = $1 AND id = $2', [this.opts.consumer, this.replicaId])).catch(() => undefined);
    await this.session?.close();
    await this.opts.sink.close();
  }
}
