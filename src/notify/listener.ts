import type { Clock } from '../core/clock.ts';
import type { IncidentChange, IncidentListener } from '../incidents/listeners.ts';
import { severityRank, type Incident, type IncidentStatus, type Severity } from '../incidents/model.ts';
import type { TenantTx } from '../store/scope.ts';
import type { ConnectorConfig } from './config/connectors.ts';
import { insertLinks, linksOf, STATUS_RANK } from './links.ts';
import { enqueue, type NewOperation } from './outbox.ts';
import { incidentView } from './view.ts';

/**
 * The mirror's side of every incident change, inside the change's
 * transaction (so the outbox rows commit or roll back with it; a connector's
 * failure can never fail or delay the change itself, which only writes rows):
 *
 * - opened: an `open` on each of the tenant's connectors whose min_severity
 *   the incident reaches, and a link recording it;
 * - follow-up signal: an `open` on connectors the incident now reaches for the
 *   first time (severity rose to their min_severity); for linked connectors
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
        await this.status(tx, connectors, change.incident, ops);
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
   * One statement: every configured link of the incident behind the new
   * status moves to it (a resolution also drops pending updates) and says
   * what it was; each that was behind gets the operation — except the links
   * the inbound webhook making this change came from (originOf): they move
   * too, but nothing is sent back there.
   */
  private async status(tx: TenantTx, connectors: readonly ConnectorConfig[], incident: Incident, ops: NewOperation[]): Promise<void> {
    if (incident.status === 'open') return;
    const action = incident.status === 'resolved' ? 'resolve' : 'acknowledge';
    const origins = originLinks.get(tx) ?? new Set<string>();
    const moved = await tx.query<{ connector: string; was: IncidentStatus }>(
      `WITH old AS (
         SELECT connector, status, update_due_at FROM notify_links
          WHERE tenant_id = $1 AND incident_id = $2 AND connector = ANY($3::text[]) ORDER BY connector FOR UPDATE
       )
       UPDATE notify_links l SET
         status = CASE WHEN ${rank('old.status')} < ${rank('$4')} THEN $4 ELSE l.status END,
         pending_signals = CASE WHEN $5 THEN 0 ELSE l.pending_signals END,
         pending_from = CASE WHEN $5 THEN NULL ELSE l.pending_from END,
         update_due_at = CASE WHEN $5 THEN NULL ELSE l.update_due_at END,
         updated_at = $6
        FROM old
       WHERE l.tenant_id = $1 AND l.incident_id = $2 AND l.connector = old.connector
         AND (${rank('old.status')} < ${rank('$4')} OR ($5 AND old.update_due_at IS NOT NULL))
       RETURNING l.connector, old.status AS was`,
      [tx.tenantId, incident.id, connectors.map((c) => c.id), incident.status, incident.status === 'resolved', new Date(this.clock.now())],
    );
    const view = incidentView(incident, tx.tenantId);
    for (const m of moved.rows) {
      if (STATUS_RANK[m.was] < STATUS_RANK[incident.status] && !origins.has(m.connector)) ops.push({ connector: m.connector, action, incident: view });
    }
  }
}

/** The position of a status expression in open < acknowledged < resolved (SQL). */
function rank(expr: string): string {
  return `array_position(ARRAY['open', 'acknowledged', 'resolved']::text[], ${expr}::text)`;
}

/** Per transaction: the links an inbound webhook's change came from (never sent back there). */
const originLinks = new WeakMap<TenantTx, ReadonlySet<string>>();

/**
 * Names the connectors whose vendor made the status change about to be
 * applied in this transaction (an inbound webhook): their links take the new
 * status like the others, but no operation is sent to them.
 */
export function markOrigin(tx: TenantTx, connectors: readonly string[]): void {
  originLinks.set(tx, new Set(connectors));
}

function reaches(severity: Severity, c: ConnectorConfig): boolean {
  return severityRank(severity) >= severityRank(c.minSeverity);
}
