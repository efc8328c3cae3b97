/**
 * probectl's own per-tenant series (docs/federation.md, "probectl's own
 * series"): every PROBECTL_METRICS_SELF_INTERVAL, for each tenant, what that
 * tenant may see of itself, appended to the metrics store in the tenant's own
 * scope (the store forces `tenant_id`):
 *
 * - `probectl_incidents_open{severity}` — incidents not resolved (open or acknowledged);
 *   `probectl_incidents_unacknowledged{severity}` — status open;
 * - `probectl_signals_total{kind}` — signals recorded, by kind (the 200 most frequent kinds;
 *   the rest summed in `probectl_signals_other_kinds_total`);
 * - `probectl_siem_export_lag_events{stream}`, `…_lag_seconds`, `…_delivered_total`,
 *   `…_parked_total` — the SIEM export's delivery cursor (read from the delivery tables, so
 *   also while export is off in this process);
 * - for the provider tenant only (deployment-wide secret backends are the provider's, as
 *   GET /v1/secrets/health): `probectl_secrets_backend_configured{scheme}`,
 *   `probectl_secrets_resolves_total{scheme}`, `…_failures_total`, `…_retries_total`,
 *   `…_cached_leases`, each with `replica` (this process's host name: the counters are
 *   per process).
 *
 * Timestamps are aligned on the interval (⌊now/interval⌋·interval), so replicas recording
 * the same tick write the same sample (stored once) or a conflicting one (the first kept):
 * recording is idempotent across replicas and restarts.
 */
import { hostname } from 'node:os';
import { consumerProgress } from '../delivery/progress.ts';
import { SEVERITIES } from '../incidents/model.ts';
import type { SecretResolver } from '../secrets/resolver.ts';
import type { Db } from '../store/db.ts';
import { inTenant, type TenantTx } from '../store/scope.ts';
import type { SeriesSamples, SeriesStore } from './store/types.ts';

/** Most signal kinds recorded per tenant as their own series. */
export const MAX_SIGNAL_KINDS = 200;
/** The delivery consumer whose cursors are SIEM export's. */
const SIEM_CONSUMER = 'siem';

export interface SelfSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The tenant's own series from the database (incidents, signals, SIEM export), in the tenant's scope. */
export async function tenantSamples(tx: TenantTx, nowMs: number): Promise<SelfSample[]> {
  const out: SelfSample[] = [];
  const inc = await tx.query<{ severity: string; open: number; unacked: number }>(
    `SELECT severity, count(*)::int AS open, count(*) FILTER (WHERE status = 'open')::int AS unacked
       FROM incidents WHERE tenant_id = $1 AND status <> 'resolved' GROUP BY severity`, [tx.tenantId]);
  const bySeverity = new Map(inc.rows.map((r) => [r.severity, r]));
  for (const severity of SEVERITIES) {
    const r = bySeverity.get(severity);
    out.push({ labels: { __name__: 'probectl_incidents_open', severity }, value: r?.open ?? 0 });
    out.push({ labels: { __name__: 'probectl_incidents_unacknowledged', severity }, value: r?.unacked ?? 0 });
  }
  const kinds = await tx.query<{ kind: string; n: number }>(
    'SELECT kind, count(*)::int8 AS n FROM signals WHERE tenant_id = $1 GROUP BY kind ORDER BY n DESC, kind', [tx.tenantId]);
  let other = 0;
  kinds.rows.forEach((r, i) => {
    if (i < MAX_SIGNAL_KINDS) out.push({ labels: { __name__: 'probectl_signals_total', kind: r.kind }, value: r.n });
    else other += r.n;
  });
  if (kinds.rows.length > MAX_SIGNAL_KINDS) out.push({ labels: { __name__: 'probectl_signals_other_kinds_total' }, value: other });
  for (const s of await consumerProgress(tx, SIEM_CONSUMER, nowMs)) {
    const stream = { stream: s.stream };
    if (s.lagEvents !== undefined) out.push({ labels: { __name__: 'probectl_siem_export_lag_events', ...stream }, value: s.lagEvents });
    if (s.lagSeconds !== undefined) out.push({ labels: { __name__: 'probectl_siem_export_lag_seconds', ...stream }, value: s.lagSeconds });
    out.push({ labels: { __name__: 'probectl_siem_export_delivered_total', ...stream }, value: s.deliveredTotal });
    out.push({ labels: { __name__: 'probectl_siem_export_parked_total', ...stream }, value: s.parkedTotal });
  }
  return out;
}

/** The secret backends' counters of this process (the provider tenant's series). */
export function secretSamples(secrets: Pick<SecretResolver, 'stats'>, replica: string): SelfSample[] {
  const out: SelfSample[] = [];
  for (const s of secrets.stats()) {
    const labels = { scheme: s.scheme, replica };
    out.push({ labels: { __name__: 'probectl_secrets_backend_configured', ...labels }, value: s.configured ? 1 : 0 });
    out.push({ labels: { __name__: 'probectl_secrets_resolves_total', ...labels }, value: s.resolves });
    out.push({ labels: { __name__: 'probectl_secrets_failures_total', ...labels }, value: s.failures });
    out.push({ labels: { __name__: 'probectl_secrets_retries_total', ...labels }, value: s.retries });
    out.push({ labels: { __name__: 'probectl_secrets_cached_leases', ...labels }, value: s.cachedLeases });
  }
  return out;
}

/** Samples at one timestamp as store input (one value buffer). */
export function asSeries(samples: readonly SelfSample[], t: number): SeriesSamples[] {
  const values = new Float64Array(samples.length);
  return samples.map((s, i) => {
    values[i] = s.value;
    return { labels: s.labels, timestamps: [t], values: values.subarray(i, i + 1) };
  });
}

export interface SelfRecorderDeps {
  db: Db;
  /** Where the series go: the embedded store, or the upstream engine (remote-written). */
  store: Pick<SeriesStore, 'append'>;
  secrets: Pick<SecretResolver, 'stats'>;
  providerTenantId: string;
  intervalMs: number;
  now: () => number;
  /** Told of each tenant's append problems (series cap, conflicts between replicas). */
  onRefused?: (tenant: string, errors: readonly Error[]) => void;
}

/** The aligned timestamp of the tick containing `now`. */
export function tickTime(now: number, intervalMs: number): number {
  return Math.floor(now / intervalMs) * intervalMs;
}

function refusedOf(res: { errors: readonly Error[] }): Error[] {
  // A conflict is another replica (or an earlier run) having recorded this tick first: expected.
  return res.errors.filter((e) => (e as { code?: string }).code !== 'PROBECTL_ERR_METRICS_SAMPLE_CONFLICT');
}

/**
 * Records one tick of the tenants' own series (`tenants`; one replica at a time
 * does this): each tenant's series read in one transaction of its scope, then
 * one append. Returns the samples stored.
 */
export async function recordTenants(deps: SelfRecorderDeps, tenants: readonly string[]): Promise<{ tenants: number; stored: number }> {
  const now = deps.now();
  const t = tickTime(now, deps.intervalMs);
  let stored = 0;
  for (const tenant of tenants) {
    const samples = await inTenant(deps.db, tenant, (tx) => tenantSamples(tx, now));
    const res = await deps.store.append(tenant, asSeries(samples, t));
    stored += res.stored;
    const problems = refusedOf(res);
    if (problems.length > 0) deps.onRefused?.(tenant, problems);
  }
  return { tenants: tenants.length, stored };
}

/** Records this process's secret-backend counters into the provider tenant (every replica, its own `replica` label). */
export async function recordReplica(deps: SelfRecorderDeps, replica = hostname()): Promise<number> {
  const t = tickTime(deps.now(), deps.intervalMs);
  const res = await deps.store.append(deps.providerTenantId, asSeries(secretSamples(deps.secrets, replica), t));
  const problems = refusedOf(res);
  if (problems.length > 0) deps.onRefused?.(deps.providerTenantId, problems);
  return res.stored;
}
