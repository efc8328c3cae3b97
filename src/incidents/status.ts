import { appendAudit } from '../audit/log.ts';
import type { Clock } from '../core/clock.ts';
import type { TenantTx } from '../store/scope.ts';
import { transitionIncident } from './incidents.ts';
import { announceIncidentChange, type IncidentListener } from './listeners.ts';
import type { Incident } from './model.ts';

/**
 * Acknowledges or resolves an incident of the scope's tenant, inside the
 * caller's transaction: the transition, its audit record (`incident.acknowledge`
 * / `incident.resolve`, actor as given) and the listeners (on-call mirrors),
 * together. Asking for the status it already has changes nothing and tells no
 * one. `origin` names the inbound credential the change came through, so a
 * mirror never sends it back there. Returns undefined for an unknown incident;
 * throws PROBECTL_ERR_INCIDENT_TRANSITION for a change its status does not allow.
 */
export async function changeIncidentStatus(
  tx: TenantTx, clock: Clock, id: string, to: 'acknowledged' | 'resolved',
  by: { actor: string; origin?: string | undefined; data?: Record<string, unknown> }, listeners: readonly IncidentListener[],
): Promise<{ incident: Incident; changed: boolean } | undefined> {
  const t = await transitionIncident(tx, id, to, new Date(clock.now()));
  if (!t) return undefined;
  if (t.changed) {
    await announceIncidentChange(listeners, tx, { kind: 'status', incident: t.incident, from: t.from, actor: by.actor, origin: by.origin });
    // The audit record last: the tenant's chain head stays locked from the append to the commit, so the
    // less that runs after it, the more status changes of one tenant commit per second.
    await appendAudit(tx, clock, {
      actor: by.actor, action: `incident.${to === 'resolved' ? 'resolve' : 'acknowledge'}`,
      target: `incident:${t.incident.id}`, outcome: 'success', data: { from: t.from, to, ...(by.data ?? {}) },
    });
  }
  return { incident: t.incident, changed: t.changed };
}
