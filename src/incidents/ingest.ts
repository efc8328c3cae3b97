import type { Clock } from '../core/clock.ts';
import type { Db } from '../store/db.ts';
import { inTenant, type TenantTx } from '../store/scope.ts';
import { ingestSignals, type IngestResult } from './correlator.ts';
import type { IncidentListener } from './listeners.ts';
import { correlationKey, type SignalInput } from './model.ts';

export interface IngestDeps {
  db: Db;
  clock: Clock;
  incidentWindowMs: number;
  onIngested?: (tenantId: string, family: string, incidentOpened: boolean) => void;
  /** Integrations that mirror incidents (on-call): told of every change inside its transaction. */
  listeners?: readonly IncidentListener[];
}

/** Stores signals for one tenant and correlates them, in one transaction with whatever produced them. */
export async function ingestForTenant(deps: IngestDeps, tenantId: string, produce: (tx: TenantTx) => Promise<readonly SignalInput[]>): Promise<IngestResult[]> {
  const results = await inTenant(deps.db, tenantId, async (tx) => ingestSignals(tx, deps.clock, deps.incidentWindowMs, await produce(tx), deps.listeners ?? []));
  for (const r of results) deps.onIngested?.(tenantId, correlationKey(r.signal.kind, r.signal.target).family, r.incidentOpened);
  return results;
}
