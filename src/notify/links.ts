import type { Clock } from '../core/clock.ts';
import type { IncidentStatus, Severity } from '../incidents/model.ts';
import { openJson, openText, SEALED, sealJson, sealText } from '../store/sealed.ts';
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
  state: 'pending' | 'open' | 'failed' | 'skipped';
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

type StoredLink = Omit<Link, 'ref_data' | 'failure'> & { ref_data: Uint8Array | null; failure: Uint8Array | null };

/** A stored link with its sealed ref data and failure opened (errors of store/sealed.ts openText). */
function opened(tx: TenantTx, l: StoredLink): Link {
  const row = [l.connector, l.incident_id];
  return { ...l, ref_data: openJson<Record<string, string>>(tx, SEALED.linkRefData, row, l.ref_data), failure: openText(tx, SEALED.linkFailure, row, l.failure) };
}

/** Every link of an incident (in the scope's tenant). */
export async function linksOf(tx: TenantTx, incidentId: string, lock = false): Promise<Link[]> {
  const res = await tx.query<StoredLink>(`SELECT ${COLUMNS} FROM notify_links WHERE tenant_id = $1 AND incident_id = $2 ORDER BY connector${lock ? ' FOR UPDATE' : ''}`, [tx.tenantId, incidentId]);
  return res.rows.map((l) => opened(tx, l));
}

/** The links of one connector for these incidents. */
export async function connectorLinks(tx: TenantTx, connector: string, incidentIds: readonly string[]): Promise<Map<string, Link>> {
  const res = await tx.query<StoredLink>(`SELECT ${COLUMNS} FROM notify_links WHERE tenant_id = $1 AND connector = $2 AND incident_id = ANY($3::uuid[])`, [tx.tenantId, connector, [...incidentIds]]);
  return new Map(res.rows.map((l) => [l.incident_id, opened(tx, l)]));
}

/** Links for newly mirrored connectors of an incident, pending their open (one statement). */
export async function insertLinks(tx: TenantTx, clock: Clock, incidentId: string, status: IncidentStatus, connectors: ReadonlyArray<{ id: string; provider: string }>): Promise<void> {
  if (connectors.length === 0) return;
  await tx.query(
    `INSERT INTO notify_links (tenant_id, connector, incident_id, provider, state, status, created_at, updated_at)
     SELECT $1, c.id, $2, c.provider, 'pending', $3, $4, $4 FROM unnest($5::text[], $6::text[]) AS c(id, provider)
     ON CONFLICT DO NOTHING`,
    [tx.tenantId, incidentId, status, new Date(clock.now()), connectors.map((c) => c.id), connectors.map((c) => c.provider)],
  );
}

/**
 * Records the vendor's refs after opens (or lookups that found the object),
 * for several incidents of one connector at once; returns the status
 * operations that were skipped meanwhile (sent now that the open succeeded).
 */
export async function recordOpens(tx: TenantTx, clock: Clock, connector: string, opens: ReadonlyArray<{ incidentId: string; ref: ExternalRef }>): Promise<Array<{ incident_id: string; skipped_status: 'acknowledged' | 'resolved' }>> {
  if (opens.length === 0) return [];
  const res = await tx.query<{ incident_id: string; skipped_status: 'acknowledged' | 'resolved' | null }>(
    `WITH u AS (SELECT * FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[]) AS u(incident_id, ref_id, keys, data)),
          old AS (SELECT l.incident_id, l.skipped_status FROM notify_links l JOIN u USING (incident_id) WHERE l.tenant_id = $1 AND l.connector = $2)
     UPDATE notify_links l SET state = 'open', ref_id = u.ref_id, ref_keys = ARRAY(SELECT jsonb_array_elements_text(u.keys::jsonb)),
            ref_data = decode(u.data, 'base64'), failure = NULL, skipped_status = NULL, updated_at = $7
       FROM u JOIN old USING (incident_id)
      WHERE l.tenant_id = $1 AND l.connector = $2 AND l.incident_id = u.incident_id
     RETURNING l.incident_id, old.skipped_status`,
    [
      tx.tenantId, connector, opens.map((o) => o.incidentId), opens.map((o) => o.ref.id),
      opens.map((o) => JSON.stringify([...new Set([o.ref.id, ...(o.ref.aliases ?? [])])].filter((k) => k !== '').slice(0, 16))),
      opens.map((o) => sealJson(tx, SEALED.linkRefData, [connector, o.incidentId], o.ref.data ?? null)), new Date(clock.now()),
    ],
  );
  // Each recorded ref as a row of notify_link_refs, where inbound webhooks look it up (migration 0010), and
  // no other. In a statement of its own, after the UPDATE above locked the links: a concurrent recordOpens
  // of the same link (a second batch in flight, a replica taking over) has committed by now, and its refs
  // are visible here and replaced — deleted in the first statement, they were not yet, and lingered.
  await tx.query(
    `WITH l AS (SELECT incident_id, ref_keys FROM notify_links WHERE tenant_id = $1 AND connector = $2 AND incident_id = ANY ($3::uuid[])),
          gone AS (DELETE FROM notify_link_refs r USING l WHERE r.tenant_id = $1 AND r.connector = $2 AND r.incident_id = l.incident_id AND r.ref <> ALL (l.ref_keys))
     INSERT INTO notify_link_refs (tenant_id, ref, connector, incident_id)
     SELECT $1, k, $2, l.incident_id FROM l CROSS JOIN LATERAL unnest(l.ref_keys) AS k
     ON CONFLICT DO NOTHING`,
    [tx.tenantId, connector, res.rows.map((r) => r.incident_id)],
  );
  return res.rows.filter((r): r is { incident_id: string; skipped_status: 'acknowledged' | 'resolved' } => r.skipped_status !== null);
}

/**
 * A link's open that ended without a vendor object, with the reason (sealed, in `failure`):
 * `failed` — refused for good (any link whose open is not recorded); `skipped` — a pager's open
 * not sent because the incident was over first (a pending link). An open recorded meanwhile stays.
 */
export async function recordOpenEnded(tx: TenantTx, clock: Clock, connector: string, incidentId: string, state: 'failed' | 'skipped', reason: string): Promise<void> {
  const from = state === 'failed' ? "state <> 'open'" : "state = 'pending'";
  await tx.query(`UPDATE notify_links SET state = $6, failure = decode($4, 'base64'), updated_at = $5 WHERE tenant_id = $1 AND connector = $2 AND incident_id = $3 AND ${from}`,
    [tx.tenantId, connector, incidentId, sealText(tx, SEALED.linkFailure, [connector, incidentId], reason.slice(0, 1000)), new Date(clock.now()), state]);
}

/** A status operation was skipped because the open never succeeded: remembered, so a later successful open sends it. */
export async function recordSkippedStatus(tx: TenantTx, connector: string, incidentId: string, status: 'acknowledged' | 'resolved'): Promise<void> {
  await tx.query(
    `UPDATE notify_links SET skipped_status = CASE WHEN skipped_status = 'resolved' THEN skipped_status ELSE $4 END
      WHERE tenant_id = $1 AND connector = $2 AND incident_id = $3`,
    [tx.tenantId, connector, incidentId, status],
  );
}
