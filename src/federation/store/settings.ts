import type { Db } from '../../store/db.ts';
import { inTenant, type TenantScopeOptions, type TenantTx } from '../../store/scope.ts';

/** Tunables of the embedded store; the lead's config section maps PROBECTL_METRICS_* onto them. */
export interface EmbeddedStoreSettings {
  /** Read guard default (PROBECTL_METRICS_MAX_SERIES). */
  readonly maxSeries: number;
  /** Active-series cap per tenant (PROBECTL_METRICS_MAX_TENANT_SERIES). */
  readonly maxTenantSeries: number;
  /** A series is active when a sample of it arrived within this window. */
  readonly activeWindowMs: number;
  /** Samples further than this beyond now are refused (Prometheus: 10 minutes). */
  readonly futureToleranceMs: number;
  /**
   * compact() never takes samples newer than now − horizon; appends compare
   * samples older than now − horizon/2 against compacted chunks too, and the
   * latest-sample read skips chunks for a series with an append-table row newer
   * than that (the other half absorbs what remains between replicas' clocks:
   * on PostgreSQL the server passes the database's clock, store/db-clock.ts, as
   * `now`, so replicas agree within milliseconds).
   */
  readonly compactionHorizonMs: number;
  /** Default instant-selection lookback (Prometheus: 5 minutes). */
  readonly lookbackMs: number;
  /**
   * CPU time the regular-expression matchers of one read may spend together on the tenant's
   * values of their labels (run in slices, the event loop served in between); beyond it the
   * read fails with PROBECTL_ERR_METRICS_QUERY_TIMEOUT.
   */
  readonly regexBudgetMs: number;
  readonly now: () => number;
}

/**
 * Series bounds (first_t, last_t, seen_ms) are written only when they move by
 * more than this, so a steady series costs one row update per slack period.
 */
export const BOUNDS_SLACK_MS = 300_000;

/** Default of `regexBudgetMs` (Prometheus bounds a whole query by --query.timeout, 2 minutes, off its event loop). */
export const DEFAULT_REGEX_BUDGET_MS = 5000;

export const DEFAULT_SETTINGS: EmbeddedStoreSettings = Object.freeze({
  maxSeries: 10_000,
  maxTenantSeries: 100_000,
  activeWindowMs: 3_600_000,
  futureToleranceMs: 600_000,
  compactionHorizonMs: 120_000,
  lookbackMs: 300_000,
  regexBudgetMs: DEFAULT_REGEX_BUDGET_MS,
  now: () => Date.now(),
});

/** Per-tenant advisory lock classes (two-key form; the single-key space is the migrations'). */
export const SERIES_LOCK_CLASS = 0x6d657401;
export const MAINTENANCE_LOCK_CLASS = 0x6d657402;

/**
 * Takes the tenant's advisory lock of class `cls` until the transaction ends; `shared` holders
 * run beside each other, never beside an exclusive one.
 */
export async function lockTenant(tx: TenantTx, cls: number, shared = false): Promise<void> {
  await tx.query(`SELECT ${shared ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock'}($1::int4, hashtext($2::text))`, [cls, tx.tenantId]);
}

/** The tenant's active series at `now` (a sample written within the active window, give or take BOUNDS_SLACK_MS): what the cap counts. */
export async function activeSeriesAt(tx: TenantTx, s: EmbeddedStoreSettings, now: number): Promise<number> {
  const res = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM metric_series WHERE tenant_id = $1 AND seen_ms >= $2', [tx.tenantId, now - s.activeWindowMs - BOUNDS_SLACK_MS]);
  return res.rows[0]?.n ?? 0;
}

/** The metrics store's transactions plan each statement for its arrays and time windows (see TenantScopeOptions). */
export const METRICS_SCOPE: TenantScopeOptions = Object.freeze({ customPlans: true });

/** inTenant for the metrics store: the tenant's scope (RLS) with METRICS_SCOPE. */
export function inMetricsScope<T>(db: Db, tenant: string, fn: (tx: TenantTx) => Promise<T>): Promise<T> {
  return inTenant(db, tenant, fn, METRICS_SCOPE);
}
