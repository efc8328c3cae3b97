import { appendAudit } from '../../audit/log.ts';
import type { Clock } from '../../core/clock.ts';
import { getIncident } from '../../incidents/incidents.ts';
import type { IncidentListener } from '../../incidents/listeners.ts';
import { changeIncidentStatus } from '../../incidents/status.ts';
import type { Db } from '../../store/db.ts';
import { inTenant, type TenantTx } from '../../store/scope.ts';
import type { InboundConfig } from '../config/connectors.ts';
import { linksOf, setLinkStatus, STATUS_RANK } from '../links.ts';
import { incidentIdOfKey } from '../providers/shared/keys.ts';
import type { InboundChange } from '../providers/types.ts';

export type InboundResult =
  | { result: 'applied' | 'unchanged'; incident: string; status: string }
  | { result: 'unknown_ref' | 'ambiguous_ref' }
  | { result: 'ignored'; reason: string };

/** Thrown inside the apply transaction when the delivery's signature was accepted before (nothing is written). */
export class ReplayedDelivery extends Error {}

const clipRef = (s: string | undefined): string | null => (s === undefined ? null : s.slice(0, 256));

async function noop(tx: TenantTx, clock: Clock, inbound: InboundConfig, result: InboundResult, change: InboundChange | undefined, source: string): Promise<InboundResult> {
  await appendAudit(tx, clock, {
    actor: `inbound:${inbound.id}`, action: 'notify.inbound.noop', target: `notify:inbound:${inbound.id}`,
    outcome: result.result === 'unknown_ref' || result.result === 'ambiguous_ref' ? 'failure' : 'success',
    data: { inbound: inbound.id, provider: inbound.provider.name, source, ...result, ref: clipRef(change?.ref), incident_key: clipRef(change?.incidentKey), status: change?.status ?? null },
  });
  return result;
}

/**
 * Applies an authenticated inbound change in one transaction of the
 * credential's tenant — never a tenant named by the payload: an HMAC
 * signature is recorded first (a second delivery of it is a replay, and
 * nothing is written); the link is found by the vendor's ref (or the incident
 * key) among that tenant's links of the credential's provider; the links it
 * came from are marked with the new status (so it is never echoed back); the
 * incident changes through changeIncidentStatus (audited, actor
 * `inbound:<id>`, origin = the inbound id), whose listeners sync every other
 * linked connector through the outbox. A repeated or unknown delivery is a
 * no-op, recorded in the audit log (`notify.inbound.noop`).
 */
export async function applyInbound(
  db: Db, clock: Clock, inbound: InboundConfig, change: InboundChange | { ignore: string }, signature: string | undefined,
  listeners: readonly IncidentListener[], source: string,
): Promise<InboundResult> {
  return inTenant(db, inbound.tenant, async (tx) => {
    if (signature !== undefined) {
      const seen = await tx.query('INSERT INTO notify_inbound_seen (tenant_id, inbound, signature, seen_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [tx.tenantId, inbound.id, signature, new Date(clock.now())]);
      if (seen.rowCount === 0) throw new ReplayedDelivery('replayed delivery: this signature was accepted before');
    }
    if ('ignore' in change) return noop(tx, clock, inbound, { result: 'ignored', reason: change.ignore }, undefined, source);
    const keyed = [change.incidentKey, change.ref].map((k) => (k === undefined ? undefined : incidentIdOfKey(k))).filter((k): k is string => k !== undefined);
    const found = await tx.query<{ connector: string; incident_id: string; status: 'open' | 'acknowledged' | 'resolved' }>(
      `SELECT connector, incident_id, status FROM notify_links
        WHERE tenant_id = $1 AND provider = $2 AND (ref_keys @> ARRAY[$3::text] OR incident_id = ANY($4::uuid[]))
        ORDER BY connector`,
      [tx.tenantId, inbound.provider.name, change.ref ?? '', keyed],
    );
    const named = change.incidentKey === undefined ? undefined : incidentIdOfKey(change.incidentKey);
    const links = named === undefined ? found.rows : found.rows.filter((l) => l.incident_id === named);
    const ids = [...new Set(links.map((l) => l.incident_id))];
    if (ids.length === 0) return noop(tx, clock, inbound, { result: 'unknown_ref' }, change, source);
    if (ids.length > 1) return noop(tx, clock, inbound, { result: 'ambiguous_ref' }, change, source);
    const id = ids[0] as string;
    // The incident row first, then its links: the order every incident change takes (no deadlock with a concurrent one).
    await tx.query('SELECT 1 FROM incidents WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tx.tenantId, id]);
    const incident = await getIncident(tx, id);
    if (!incident) return noop(tx, clock, inbound, { result: 'unknown_ref' }, change, source);
    if (STATUS_RANK[incident.status] >= STATUS_RANK[change.status]) return noop(tx, clock, inbound, { result: 'unchanged', incident: id, status: incident.status }, change, source);
    const origins = new Set(links.map((l) => l.connector));
    for (const l of await linksOf(tx, id, true)) {
      if (origins.has(l.connector) && STATUS_RANK[l.status] < STATUS_RANK[change.status]) await setLinkStatus(tx, clock, l.connector, id, change.status, change.status === 'resolved');
    }
    const changed = await changeIncidentStatus(tx, clock, id, change.status, {
      actor: `inbound:${inbound.id}`, origin: inbound.id,
      data: { via: 'inbound webhook', inbound: inbound.id, provider: inbound.provider.name, ref: clipRef(change.ref ?? change.incidentKey), source },
    }, listeners);
    return { result: changed?.changed ? 'applied' : 'unchanged', incident: id, status: changed?.incident.status ?? incident.status };
  });
}
