import type { Clock } from '../core/clock.ts';
import type { IncidentStatus, Severity } from '../incidents/model.ts';
import type { TenantTx } from '../store/scope.ts';
import type { ExternalRef } from './providers/types.ts';

/**
 * An incident's mirror at one connector instance (table notify_links): its
 * state, the external ref, the status last sent there, and the follow-up
 * signals waiting for the next coalesced update.
 */
export interface Link {
  connector: string;
  incident_id: string;
  provider: string;
  state: 'pending' | 'open' | 'failed';
  status: IncidentStatus;
  ref_id: string | null;
  ref_keys: string[];
  ref_data: Record<string, string> | null;
  failure: string | null;
  skipped_status: 'acknowledged' | 'resolved' | null;
  pending_signals: number;
  pending_from: Severity | null;
  last_update_at: Date | null;
  update_due_at: Date | null;
  created_at: Date;
}

const COLUMNS = 'connector, incident_id, provider, state, status, ref_id, ref_keys, ref_data, failure, skipped_status, pending_signals, pending_from, last_update_at, update_due_at, created_at';

export const STATUS_RANK: Readonly<Record<IncidentStatus, number>> = { open: 0, acknowledged: 1, resolved: 2 };

/** The ref recorded for a link, as providers get it. */
export function refOf(link: Link): ExternalRef | undefined {
  if (link.ref_id === null) return undefined;
  const aliases = link.ref_keys.filter((k) => k !== link.ref_id);
  return { id: link.ref_id, ...(link.ref_data ? { data: link.ref_data } : {}), ...(aliases.length > 0 ? { aliases } : {}) };
}

/** Every link of an incident (in the scope's tenant). */
export async function linksOf(tx: TenantTx, incidentId: string, lock = false): Promise<Link[]> {
  const res = await tx.query<Link>(`SELECT ${COLUMNS} FROM notify_links WHERE tenant_id = $1 AND incident_id = $2 ORDER BY connector${lock ? ' FOR UPDATE' : ''}`, [tx.tenantId, incidentId]);
  return res.rows;
}

/** The links of one connector for these incidents. */
export async function connectorLinks(tx: TenantTx, connector: string, incidentIds: readonly string[]): Promise<Map<string, Link>> {
  const res = await tx.query<Link>(`SELECT ${COLUMNS} FROM notify_links WHERE tenant_id = $1 AND connector = $2 AND incident_id = ANY($3::uuid[])`, [tx.tenantId, connector, [...incidentIds]]);
  return new Map(res.rows.map((l) => [l.incident_id, l]));
}

export async function insertLink(tx: TenantTx, clock: Clock, l: { connector: string; incidentId: string; provider: string; status: IncidentStatus }): Promise<void> {
  const now = new Date(clock.now());
  await tx.query(
    `INSERT INTO notify_links (tenant_id, connector, incident_id, provider, state, status, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6) ON CONFLICT DO NOTHING`,
    [tx.tenantId, l.connector, l.incidentId, l.provider, l.status, now],
  );
}

/** Records the vendor's ref after an open (or a lookup that found the object); returns the link as it was. */
export async function recordOpen(tx: TenantTx, clock: Clock, connector: string, incidentId: string, ref: ExternalRef): Promise<Link | undefined> {
  const before = (await tx.query<Link>(`SELECT ${COLUMNS} FROM notify_links WHERE tenant_id = $1 AND connector = $2 AND incident_id = $3 FOR UPDATE`, [tx.tenantId, connector, incidentId])).rows[0];
  const keys = [...new Set([ref.id, ...(ref.aliases ?? [])])].filter((k) => k !== '').slice(0, 16);
  await tx.query(
    `UPDATE notify_links SET state = 'open', ref_id = $4, ref_keys = $5, ref_data = $6, failure = NULL, skipped_status = NULL, updated_at = $7
      WHERE tenant_id = $1 AND connector = $2 AND incident_id = $3`,
    [tx.tenantId, connector, incidentId, ref.id, keys, ref.data ? JSON.stringify(ref.data) : null, new Date(clock.now())],
  );
  return before;
}

export async function recordFailure(tx: TenantTx, clock: Clock, connector: string, incidentId: string, reason: string): Promise<void> {
  await tx.query(`UPDATE notify_links SET state = 'failed', failure = $4, updated_at = $5 WHERE tenant_id = $1 AND connector = $2 AND incident_id = $3 AND state <> 'open'`,
    [tx.tenantId, connector, incidentId, reason.slice(0, 1000), new Date(clock.now())]);
}

/** A status operation was skipped because the open never succeeded: remembered, so a later successful open sends it. */
export async function recordSkippedStatus(tx: TenantTx, connector: string, incidentId: string, status: 'acknowledged' | 'resolved'): Promise<void> {
  await tx.query(
    `UPDATE notify_links SET skipped_status = CASE WHEN skipped_status = 'resolved' THEN skipped_status ELSE $4 END
      WHERE tenant_id = $1 AND connector = $2 AND incident_id = $3`,
    [tx.tenantId, connector, incidentId, status],
  );
}

/** Sets the status a link is known to have (sent there, or coming from there). */
export async function setLinkStatus(tx: TenantTx, clock: Clock, connector: string, incidentId: string, status: IncidentStatus, clearUpdates: boolean): Promise<void> {
  await tx.query(
    `UPDATE notify_links SET status = $4, updated_at = $5${clearUpdates ? ', pending_signals = 0, pending_from = NULL, update_due_at = NULL' : ''}
      WHERE tenant_id = $1 AND connector = $2 AND incident_id = $3`,
    [tx.tenantId, connector, incidentId, status, new Date(clock.now())],
  );
}
