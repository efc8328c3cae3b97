import { appendAudit } from '../audit/log.ts';
import type { Clock } from '../core/clock.ts';
import type { TenantTx } from '../store/scope.ts';
import { transitionIncident, transitionIncidents } from './incidents.ts';
import { announceIncidentChange, announceIncidentChanges, type IncidentListener } from './listeners.ts';
import type { Incident, IncidentStatus } from './model.ts';

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

/** Who made a status change (see changeIncidentStatus). */
export interface StatusChangeBy { actor: string; origin?: string | undefined; data?: Record<string, unknown> }

/**
 * changeIncidentStatus for several distinct incidents at once, each from the
 * status the caller read (`from`): one statement moves them all, the
 * listeners hear them together, and each gets its audit record, in the order
 * given. Returns the changed incidents, or undefined — with nothing
 * announced or audited — when any incident is missing or no longer `from`
 * (some may have moved: the caller must roll the transaction back).
 */
export async function changeIncidentStatuses(
  tx: TenantTx, clock: Clock, changes: ReadonlyArray<{ id: string; from: IncidentStatus; to: 'acknowledged' | 'resolved'; by: StatusChangeBy }>, listeners: readonly IncidentListener[],
): Promise<Incident[] | undefined> {
  const moved = await transitionIncidents(tx, changes, new Date(clock.now()));
  if (!moved) return undefined;
  await announceIncidentChanges(listeners, tx, moved.map((t, i) => {
    const by = (changes[i] as { by: StatusChangeBy }).by;
    return { kind: 'status' as const, incident: t.incident, from: t.from, actor: by.actor, origin: by.origin };
  }));
  for (const [i, t] of moved.entries()) {
    const { to, by } = changes[i] as { to: 'acknowledged' | 'resolved'; by: StatusChangeBy };
    await appendAudit(tx, clock, {
      actor: by.actor, action: `incident.${to === 'resolved' ? 'resolve' : 'acknowledge'}`,
      target: `incident:${t.incident.id}`, outcome: 'success', data: { from: t.from, to, ...(by.data ?? {}) },
    });
  }
  return moved.map((t) => t.incident);
}
