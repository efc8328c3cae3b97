import type { Clock } from '../core/clock.ts';
import type { IncidentChange, IncidentListener } from '../incidents/listeners.ts';
import { severityRank, type Incident, type IncidentStatus, type Severity } from '../incidents/model.ts';
import type { TenantTx } from '../store/scope.ts';
import type { ConnectorConfig } from './config/connectors.ts';
import { insertLinks, linksOf, STATUS_RANK } from './links.ts';
import { enqueue, type NewOperation } from './outbox.ts';
import type { IncidentView } from './providers/types.ts';
import { incidentView } from './view.ts';

/**
 * The mirror's side of every incident change, inside the change's
 * transaction (so the outbox rows commit or roll back with it; a connector's
 * failure can never fail or delay the change itself, which only writes rows):
 *
 * - opened: an `open` on each of the tenant's connectors whose min_severity
 *   the incident reaches, and a link recording it;
 * - follow-up signal: an `open` on every connector the incident reaches that has
 *   no link for it yet — one its severity rose to (min_severity), or one added,
 *   renamed or pointed at a new endpoint (a new connector id) since the incident
 *   opened: an incident still open reaches the tenant's current connectors. The
 *   open carries the incident key, so a connector renamed within the same vendor
 *   service finds the vendor object already there (dedup key, alias, label,
 *   correlation_id) instead of paging again; chat and webhooks get a new message.
 *   Links of a connector no longer configured stay as they are (nothing is sent
 *   to it, or closed through its successor). For linked connectors
 *   that take updates (not pagers), the signal is counted into the next
 *   coalesced update, due at most once per PROBECTL_NOTIFY_UPDATE_INTERVAL;
 * - status: an `acknowledge` / `resolve` on every linked connector that does
 *   not have that status yet — except the links an inbound webhook making the
 *   change came from (markOrigin): they take the status, nothing is sent back.
 */
export class NotifyListener implements IncidentListener {
  private readonly byTenant = new Map<string, ConnectorConfig[]>();
  private readonly clock: Clock;
  private readonly intervalMs: number;

  constructor(connectors: readonly ConnectorConfig[], clock: Clock, updateIntervalMs: number) {
    for (const c of connectors) this.byTenant.set(c.tenant, [...(this.byTenant.get(c.tenant) ?? []), c]);
    this.clock = clock;
    this.intervalMs = updateIntervalMs;
  }

  /** Tenants with at least one connector that takes coalesced updates. */
  updatingTenants(): string[] {
    return [...this.byTenant.entries()].filter(([, list]) => list.some((c) => c.provider.updates !== false)).map(([t]) => t);
  }

  /**
   * Several changes at once (a group commit of inbound deliveries): status
   * changes of distinct incidents move their links in one statement (see
   * status); other kinds are handled one by one.
   */
  async incidentsChanged(tx: TenantTx, changes: readonly IncidentChange[]): Promise<void> {
    const connectors = this.byTenant.get(tx.tenantId);
    if (!connectors) return;
    const statuses = changes.filter((c) => c.kind === 'status');
    for (const c of changes) if (c.kind !== 'status') await this.incidentChanged(tx, c);
    const ops: NewOperation[] = [];
    await this.status(tx, connectors, statuses.map((c) => c.incident), ops);
    if (ops.length > 0) await enqueue(tx, this.clock, ops);
  }

  async incidentChanged(tx: TenantTx, change: IncidentChange): Promise<void> {
    const connectors = this.byTenant.get(tx.tenantId);
    if (!connectors) return;
    const ops: NewOperation[] = [];
    switch (change.kind) {
      case 'opened':
        await this.open(tx, connectors.filter((c) => reaches(change.incident.severity, c)), change.incident, ops);
        break;
      case 'signal':
        await this.signal(tx, connectors, change.incident, change.severityFrom, ops);
        break;
      case 'status':
        await this.status(tx, connectors, [change.incident], ops);
        break;
    }
    if (ops.length > 0) await enqueue(tx, this.clock, ops);
  }

  private async open(tx: TenantTx, connectors: readonly ConnectorConfig[], incident: Incident, ops: NewOperation[]): Promise<void> {
    if (connectors.length === 0) return;
    await insertLinks(tx, this.clock, incident.id, incident.status === 'acknowledged' ? 'acknowledged' : 'open', connectors.map((c) => ({ id: c.id, provider: c.provider.name })));
    const view = incidentView(incident, tx.tenantId);
    for (const c of connectors) {
      ops.push({ connector: c.id, action: 'open', incident: view });
      // An incident acknowledged before its severity reached this connector opens there acknowledged.
      if (incident.status === 'acknowledged') ops.push({ connector: c.id, action: 'acknowledge', incident: view });
    }
  }

  private async signal(tx: TenantTx, connectors: readonly ConnectorConfig[], incident: Incident, severityFrom: Severity, ops: NewOperation[]): Promise<void> {
    const links = new Map((await linksOf(tx, incident.id, true)).map((l) => [l.connector, l]));
    const now = this.clock.now();
    await this.open(tx, connectors.filter((c) => !links.has(c.id) && reaches(incident.severity, c)), incident, ops);
    for (const c of connectors) {
      const link = links.get(c.id);
      if (!link) continue;
      if (c.provider.updates === false || link.status === 'resolved') continue;
      const pendingFrom = link.pending_from ?? severityFrom;
      const base = (link.last_update_at ?? link.created_at).getTime();
      const due = link.update_due_at?.getTime() ?? Math.max(now, base + this.intervalMs);
      if (due <= now) {
        ops.push({ connector: c.id, action: 'update', incident: incidentView(incident, tx.tenantId), update: { signals: link.pending_signals + 1, severityFrom: pendingFrom, severityTo: incident.severity } });
        await tx.query(
          `UPDATE notify_links SET pending_signals = 0, pending_from = NULL, update_due_at = NULL, last_update_at = $4, updated_at = $4
            WHERE tenant_id = $1 AND connector = $2 AND incident_id = $3`,
          [tx.tenantId, c.id, incident.id, new Date(now)],
        );
      } else {
        await tx.query(
          `UPDATE notify_links SET pending_signals = pending_signals + 1, pending_from = $4, update_due_at = $5, updated_at = $6
            WHERE tenant_id = $1 AND connector = $2 AND incident_id = $3`,
          [tx.tenantId, c.id, incident.id, pendingFrom, new Date(due), new Date(now)],
        );
      }
    }
  }

  /**
   * One statement for any number of distinct incidents: every configured
   * link of each incident behind its new status moves to it (a resolution
   * also drops pending updates) and says what it was; each that was behind
   * gets the operation — except the links the inbound webhook making the
   * change came from (markOrigin): they move too, but nothing is sent back.
   * Links are locked in (incident, connector) order.
   */
  private async status(tx: TenantTx, connectors: readonly ConnectorConfig[], incidents: readonly Incident[], ops: NewOperation[]): Promise<void> {
    const moving = incidents.filter((i) => i.status !== 'open');
    if (moving.length === 0) return;
    const origins = originLinks.get(tx);
    const moved = await tx.query<{ incident_id: string; connector: string; was: IncidentStatus }>(
      `WITH ch AS (
         SELECT * FROM unnest($2::uuid[], $3::text[]) AS c(incident_id, status)
       ), old AS (
         SELECT l.incident_id, l.connector, l.status, l.update_due_at FROM notify_links l JOIN ch USING (incident_id)
          WHERE l.tenant_id = $1 AND l.connector = ANY($4::text[]) ORDER BY l.incident_id, l.connector FOR UPDATE OF l
       )
       UPDATE notify_links l SET
         status = CASE WHEN ${rank('old.status')} < ${rank('ch.status')} THEN ch.status ELSE l.status END,
         pending_signals = CASE WHEN ch.status = 'resolved' THEN 0 ELSE l.pending_signals END,
         pending_from = CASE WHEN ch.status = 'resolved' THEN NULL ELSE l.pending_from END,
         update_due_at = CASE WHEN ch.status = 'resolved' THEN NULL ELSE l.update_due_at END,
         updated_at = $5
        FROM old JOIN ch USING (incident_id)
       WHERE l.tenant_id = $1 AND l.incident_id = old.incident_id AND l.connector = old.connector
         AND (${rank('old.status')} < ${rank('ch.status')} OR (ch.status = 'resolved' AND old.update_due_at IS NOT NULL))
       RETURNING l.incident_id, l.connector, old.status AS was`,
      [tx.tenantId, moving.map((i) => i.id), moving.map((i) => i.status), connectors.map((c) => c.id), new Date(this.clock.now())],
    );
    const byId = new Map(moving.map((i) => [i.id, i]));
    const views = new Map<string, IncidentView>();
    for (const m of moved.rows) {
      const incident = byId.get(m.incident_id) as Incident;
      if (STATUS_RANK[m.was] >= STATUS_RANK[incident.status] || origins?.get(incident.id)?.has(m.connector)) continue;
      let view = views.get(incident.id);
      if (!view) views.set(incident.id, (view = incidentView(incident, tx.tenantId)));
      ops.push({ connector: m.connector, action: incident.status === 'resolved' ? 'resolve' : 'acknowledge', incident: view });
    }
  }
}

/** The position of a status expression in open < acknowledged < resolved (SQL). */
function rank(expr: string): string {
  return `array_position(ARRAY['open', 'acknowledged', 'resolved']::text[], ${expr}::text)`;
}

/** Per transaction, per incident: the links an inbound webhook's change came from (never sent back there). */
const originLinks = new WeakMap<TenantTx, Map<string, ReadonlySet<string>>>();

/**
 * Names the connectors whose vendor made the status change of `incident`
 * about to be applied in this transaction (an inbound webhook): their links
 * take the new status like the others, but no operation is sent to them.
 * An empty list forgets them (the incident's next change in the same
 * transaction comes from elsewhere).
 */
export function markOrigin(tx: TenantTx, incident: string, connectors: readonly string[]): void {
  let byIncident = originLinks.get(tx);
  if (!byIncident) originLinks.set(tx, (byIncident = new Map()));
  if (connectors.length === 0) byIncident.delete(incident);
  else byIncident.set(incident, new Set(connectors));
}

function reaches(severity: Severity, c: ConnectorConfig): boolean {
  return severityRank(severity) >= severityRank(c.minSeverity);
}
