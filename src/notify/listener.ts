import type { Clock } from '../core/clock.ts';
import type { IncidentChange, IncidentListener } from '../incidents/listeners.ts';
import { severityRank, type Incident, type Severity } from '../incidents/model.ts';
import type { TenantTx } from '../store/scope.ts';
import type { ConnectorConfig } from './config/connectors.ts';
import { insertLinks, linksOf, setLinksStatus, STATUS_RANK } from './links.ts';
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
 *   not have that status yet. The inbound webhook that made the change marks
 *   its own links first (never echoed back).
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

  connectorsOf(tenant: string): readonly ConnectorConfig[] {
    return this.byTenant.get(tenant) ?? [];
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

  private async status(tx: TenantTx, connectors: readonly ConnectorConfig[], incident: Incident, ops: NewOperation[]): Promise<void> {
    if (incident.status === 'open') return;
    const action = incident.status === 'resolved' ? 'resolve' : 'acknowledge';
    const configured = new Set(connectors.map((c) => c.id));
    const view = incidentView(incident, tx.tenantId);
    const resolving = incident.status === 'resolved';
    const behind: string[] = [];
    let pendingUpdates = false;
    for (const link of await linksOf(tx, incident.id, true)) {
      if (!configured.has(link.connector)) continue;
      pendingUpdates ||= link.update_due_at !== null;
      // A link already there is the inbound webhook's origin: never echoed back.
      if (STATUS_RANK[link.status] >= STATUS_RANK[incident.status]) continue;
      behind.push(link.connector);
      ops.push({ connector: link.connector, action, incident: view });
    }
    if (behind.length > 0) await setLinksStatus(tx, this.clock, incident.id, behind, incident.status);
    // A resolution drops the follow-ups still waiting for their coalesced update.
    if (resolving && pendingUpdates) await tx.query('UPDATE notify_links SET pending_signals = 0, pending_from = NULL, update_due_at = NULL WHERE tenant_id = $1 AND incident_id = $2 AND update_due_at IS NOT NULL', [tx.tenantId, incident.id]);
  }
}

function reaches(severity: Severity, c: ConnectorConfig): boolean {
  return severityRank(severity) >= severityRank(c.minSeverity);
}
