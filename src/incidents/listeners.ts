import type { TenantTx } from '../store/scope.ts';
import type { Incident, IncidentStatus, Severity, Signal } from './model.ts';

/**
 * A change of an incident, as an integration that mirrors incidents sees it,
 * inside the transaction that makes the change (so what it records — an
 * outbox row — commits or rolls back with the change itself).
 */
export type IncidentChange =
  /** A signal opened a new incident. */
  | { kind: 'opened'; incident: Incident; signal: Signal }
  /** A correlated follow-up signal joined an open incident; `severityFrom` is the severity before it. */
  | { kind: 'signal'; incident: Incident; signal: Signal; severityFrom: Severity }
  /**
   * The status changed (acknowledged, resolved) through the API or an inbound
   * webhook. `actor` is the audit actor; `origin` names the inbound credential
   * the change came through, so it is never sent back there.
   */
  | { kind: 'status'; incident: Incident; from: IncidentStatus; actor: string; origin?: string | undefined };

/** Called for every incident change, inside its transaction; a throw rolls the change back. */
export interface IncidentListener {
  incidentChanged(tx: TenantTx, change: IncidentChange): Promise<void>;
  /** Several changes of distinct incidents at once (a group commit); without it, incidentChanged is called for each. */
  incidentsChanged?(tx: TenantTx, changes: readonly IncidentChange[]): Promise<void>;
}

/** Calls every listener in order. */
export async function announceIncidentChange(listeners: readonly IncidentListener[], tx: TenantTx, change: IncidentChange): Promise<void> {
  for (const l of listeners) await l.incidentChanged(tx, change);
}

/** Calls every listener in order with changes of distinct incidents: at once where it takes several, else one by one. */
export async function announceIncidentChanges(listeners: readonly IncidentListener[], tx: TenantTx, changes: readonly IncidentChange[]): Promise<void> {
  if (changes.length === 0) return;
  for (const l of listeners) {
    if (l.incidentsChanged) await l.incidentsChanged(tx, changes);
    else for (const change of changes) await l.incidentChanged(tx, change);
  }
}
