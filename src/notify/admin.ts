import { randomUUID } from 'node:crypto';
import { appendAudit } from '../audit/log.ts';
import type { Clock } from '../core/clock.ts';
import { ProbectlError } from '../core/errors.ts';
import { parkedItems, streamStatuses } from '../delivery/operations.ts';
import type { Db } from '../store/db.ts';
import { inTenant } from '../store/scope.ts';
import { getIncident } from '../incidents/incidents.ts';
import { linksOf } from './links.ts';
import { incidentKey } from './providers/shared/keys.ts';
import type { IncidentView, OperationResult } from './providers/types.ts';
import { NOTIFY_CONSUMER, type NotifyRuntime } from './runtime.ts';

/** One connector's state as GET /v1/notify/status shows it: the endpoint as logs show it (scheme and host, and the kind of URL where a provider has several; never a credential). */
export interface ConnectorStatus {
  id: string;
  /** Its connector_name option (what an inbound entry may name it by), or null. */
  name: string | null;
  provider: string;
  endpoint: string;
  min_severity: string;
  /** ok, sending (operations waiting), retrying (the last attempt failed and will be retried), paused (401/403 or misconfiguration: alarm). */
  state: 'ok' | 'sending' | 'retrying' | 'paused';
  paused_reason: string | null;
  last_success_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  /** Operations finished (sent or skipped). */
  delivered_total: number;
  /** Operations refused permanently and not retried successfully since (GET /v1/notify/failed). */
  failed: number;
  skipped_total: number;
  retries: number;
  lag_operations: number;
  lag_seconds: number;
  drained_here: boolean;
  links: { open: number; failed: number; pending: number; skipped: number };
}

export interface NotifyStatus {
  enabled: boolean;
  tenant: string;
  connectors: ConnectorStatus[];
  /** `connectors`: the connector ids whose links its deliveries are matched against. */
  inbound: Array<{ id: string; provider: string; path: string; connectors: string[] }>;
}

/** The tenant's connectors and inbound webhooks with their delivery state (never a secret, a token or a URL credential). */
export async function notifyStatus(db: Db, clock: Clock, tenant: string, runtime: NotifyRuntime | undefined): Promise<NotifyStatus> {
  if (!runtime) return { enabled: false, tenant, connectors: [], inbound: [] };
  const streams = new Map((await streamStatuses(db, clock, tenant, runtime.forTenant(tenant))).map((s) => [s.stream, s]));
  const { skipped, links } = await inTenant(db, tenant, async (tx) => ({
    skipped: new Map((await tx.query<{ connector: string; n: number }>("SELECT connector, count(*)::int AS n FROM notify_outbox WHERE tenant_id = $1 AND result = 'skipped' GROUP BY connector", [tenant])).rows.map((r) => [r.connector, r.n])),
    links: new Map((await tx.query<{ connector: string; open: number; failed: number; pending: number; skipped: number }>(
      `SELECT connector, count(*) FILTER (WHERE state = 'open')::int AS open, count(*) FILTER (WHERE state = 'failed')::int AS failed,
              count(*) FILTER (WHERE state = 'pending')::int AS pending, count(*) FILTER (WHERE state = 'skipped')::int AS skipped FROM notify_links WHERE tenant_id = $1 GROUP BY connector`, [tenant])).rows.map((r) => [r.connector, r])),
  }));
  const connectors = [...runtime.connectors.values()].filter((c) => c.config.tenant === tenant).map(({ config: c }): ConnectorStatus => {
    const s = streams.get(c.id);
    const l = links.get(c.id);
    const lag = s?.lag_events ?? 0;
    return {
      id: c.id, name: c.name ?? null, provider: c.provider.name, endpoint: c.display, min_severity: c.minSeverity,
      state: s?.paused ? 'paused' : lag > 0 ? (s?.last_error ? 'retrying' : 'sending') : 'ok',
      paused_reason: s?.paused_reason ?? null, last_success_at: s?.last_success_at ?? null,
      last_error: s?.last_error ?? null, last_error_at: s?.last_error_at ?? null,
      delivered_total: s?.delivered_total ?? 0, failed: s?.parked ?? 0, skipped_total: skipped.get(c.id) ?? 0,
      retries: s?.retries ?? 0, lag_operations: lag, lag_seconds: s?.lag_seconds ?? 0, drained_here: s?.drained_here ?? false,
      links: { open: l?.open ?? 0, failed: l?.failed ?? 0, pending: l?.pending ?? 0, skipped: l?.skipped ?? 0 },
    };
  });
  const inbound = [...runtime.inbound.values()].filter((i) => i.tenant === tenant).map((i) => ({ id: i.id, provider: i.provider.name, path: `/ingest/itsm/${i.provider.name}/${i.id}`, connectors: [...i.connectors] }));
  return { enabled: true, tenant, connectors, inbound };
}

/** One connector's mirror of an incident as GET /v1/incidents/{id}/links shows it (never the vendor's stored data). */
export interface IncidentLink {
  connector: string;
  provider: string;
  /**
   * pending (the open not sent yet, or retrying), open (the vendor object exists), failed (the open was
   * refused for good), skipped (a pager's open never sent: the incident was resolved first; nobody was paged).
   */
  state: 'pending' | 'open' | 'failed' | 'skipped';
  /** The vendor object: dedup key, alert alias, ticket sys_id, message ts, issue key — what an inbound `external_ref` names. */
  ref: string | null;
  /** Other names the vendor object answers to (e.g. a ServiceNow ticket number, a Jira issue id), also accepted as `external_ref`. */
  aliases: string[];
  /** The status the vendor object has as far as probectl knows: sent by probectl, or received from the vendor's webhook. */
  status: string;
  /** Why the open failed (state failed) or was not sent (state skipped). */
  failure: string | null;
  created_at: string;
  last_update_at: string | null;
}

/** The incident's links in `tenant`, by connector; undefined when the tenant has no such incident. */
export async function incidentLinks(db: Db, tenant: string, incidentId: string): Promise<IncidentLink[] | undefined> {
  return inTenant(db, tenant, async (tx) => {
    if (!(await getIncident(tx, incidentId))) return undefined;
    return (await linksOf(tx, incidentId)).map((l) => ({
      connector: l.connector, provider: l.provider, state: l.state, ref: l.ref_id, aliases: l.ref_keys.filter((k) => k !== l.ref_id),
      status: l.status, failure: l.failure, created_at: l.created_at.toISOString(), last_update_at: l.last_update_at?.toISOString() ?? null,
    }));
  });
}

export interface FailedOperation {
  connector: string;
  provider: string | null;
  seq: number;
  operation: string;
  incident: string | null;
  action: string | null;
  status: number | null;
  reason: string;
  attempts: number;
  failed_at: string;
}

/** The operations connectors refused permanently (the engine's parked items of consumer `notify`), with what they were. */
export async function failedOperations(db: Db, tenant: string, runtime: NotifyRuntime | undefined): Promise<FailedOperation[]> {
  const parked = await parkedItems(db, NOTIFY_CONSUMER, tenant);
  if (parked.length === 0) return [];
  const ops = await inTenant(db, tenant, async (tx) => new Map((await tx.query<{ connector: string; seq: number; incident_id: string; action: string }>(
    'SELECT connector, seq, incident_id, action FROM notify_outbox WHERE tenant_id = $1 AND id = ANY($2::uuid[])', [tenant, parked.map((p) => p.event_id)],
  )).rows.map((r) => [`${r.connector}|${r.seq}`, r])));
  return parked.map((p) => {
    const op = ops.get(`${p.stream}|${p.seq}`);
    return {
      connector: p.stream, provider: runtime?.connectors.get(p.stream)?.config.provider.name ?? null, seq: p.seq, operation: p.event_id,
      incident: op?.incident_id ?? null, action: op?.action ?? null, status: p.status, reason: p.reason, attempts: p.attempts, failed_at: p.parked_at.toISOString(),
    };
  });
}

export interface TestStep {
  outcome: OperationResult['kind'] | 'not sent';
  ref?: string;
  reason?: string;
  status?: number;
}

/**
 * POST /v1/notify/test: one open and one resolve of a test incident through
 * one connector, each attempted once, with the vendor's answer as classified.
 * Audited as `notify.test`. Nothing is written to the outbox or the links.
 */
export async function testConnector(db: Db, clock: Clock, runtime: NotifyRuntime, tenant: string, connectorId: string, actor: string): Promise<{ connector: string; provider: string; endpoint: string; open: TestStep; resolve: TestStep }> {
  const live = runtime.connectors.get(connectorId);
  if (!live || live.config.tenant !== tenant) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', 'no such connector in this tenant (see GET /v1/notify/status)');
  const id = randomUUID();
  const incident: IncidentView = {
    id, key: incidentKey(id), tenant, title: 'probectl connector test (safe to close)', severity: 'critical', status: 'open',
    target: 'probectl-connector-test', kindFamily: 'test', signalCount: 1, openedAt: new Date(clock.now()).toISOString(),
  };
  const step = (r: OperationResult): TestStep => (r.kind === 'ok'
    ? { outcome: 'ok', ...(r.ref ? { ref: r.ref.id } : {}) }
    : { outcome: r.kind, reason: r.reason, ...(r.kind === 'permanent' && r.status !== undefined ? { status: r.status } : {}) });
  const { provider } = live.config;
  const opened = await provider.perform({ action: 'open', incident, ref: undefined, idempotencyKey: randomUUID() }, live.endpoint, AbortSignal.timeout(runtime.settings.timeoutMs * 3));
  const resolved = opened.kind === 'ok'
    ? await provider.perform({ action: 'resolve', incident: { ...incident, status: 'resolved' }, ref: opened.ref ?? { id: incident.key }, idempotencyKey: randomUUID() }, live.endpoint, AbortSignal.timeout(runtime.settings.timeoutMs * 3))
    : undefined;
  const result = { connector: connectorId, provider: provider.name, endpoint: live.config.display, open: step(opened), resolve: resolved ? step(resolved) : { outcome: 'not sent' as const, reason: 'the open did not succeed' } };
  await inTenant(db, tenant, (tx) => appendAudit(tx, clock, {
    actor, action: 'notify.test', target: `notify:${connectorId}`, outcome: result.open.outcome === 'ok' && result.resolve.outcome === 'ok' ? 'success' : 'failure',
    data: { provider: provider.name, open: result.open.outcome, resolve: result.resolve.outcome },
  }));
  return result;
}
