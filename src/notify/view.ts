import type { Incident } from '../incidents/model.ts';
import { incidentKey } from './providers/shared/keys.ts';
import type { IncidentView } from './providers/types.ts';

/** The incident as connectors show it (providers/types.ts IncidentView), stamped with the scope's tenant. */
export function incidentView(i: Incident, tenant: string): IncidentView {
  return {
    id: i.id, key: incidentKey(i.id), tenant, title: i.title, severity: i.severity, status: i.status,
    target: i.target, kindFamily: i.kind_family, signalCount: i.signal_count, openedAt: i.opened_at,
  };
}
