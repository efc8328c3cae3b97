import type { Clock } from '../core/clock.ts';
import type { TenantTx } from '../store/scope.ts';
import { canonicalTemplate, ChainVerifier, GENESIS_HASH, type AuditEvent, type ChainVerdict, type Outcome } from './chain.ts';

export interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  outcome: Outcome;
  data?: Record<string, unknown>;
}

const AUDIT_STREAM = 'audit';

/**
 * Appends to the tenant's chain inside the caller's transaction, so the record
 * commits (or rolls back) with the action it records. One statement: the head
 * row's update takes its lock (serializing appends per tenant while other
 * tenants proceed), yields seq and prev_hash, and the database computes the
 * SHA-256 over the canonical encoding that JS prepared around them.
 */
export async function appendAudit(tx: TenantTx, clock: Clock, entry: AuditEntry): Promise<AuditEvent> {
  const record = {
    tenant_id: tx.tenantId,
    time: new Date(clock.now()).toISOString(),
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    outcome: entry.outcome,
    data: normalizeData(entry.data ?? {}),
  };
  const t = canonicalTemplate(record);
  const values = [record.tenant_id, record.time, record.actor, record.action, record.target, record.outcome, JSON.stringify(record.data)];
  // The usual case: the head exists, a plain UPDATE (cheaper than INSERT … ON CONFLICT) moves it.
  let res = await tx.query<{ seq: number; prev_hash: string; hash: string }>(
    `WITH head AS (
       UPDATE stream_heads AS h SET
         seq = h.seq + 1,
         prev_hash = h.hash,
         hash = encode(sha256(convert_to($8 || h.hash || $9 || (h.seq + 1)::text || $10, 'UTF8')), 'hex')
       WHERE h.tenant_id = $1 AND h.stream = '${AUDIT_STREAM}'
       RETURNING seq, prev_hash, hash
     )
     INSERT INTO audit_events (tenant_id, seq, time, actor, action, target, outcome, data, prev_hash, hash)
     SELECT $1, seq, $2, $3, $4, $5, $6, $7, prev_hash, hash FROM head
     RETURNING seq, prev_hash, hash`,
    [...values, t.before, t.middle, t.after],
  );
  // The tenant's first record: create the head (concurrent first appends serialize on the conflict).
  if (res.rows.length === 0) res = await tx.query<{ seq: number; prev_hash: string; hash: string }>(
    `WITH head AS (
       INSERT INTO stream_heads AS h (tenant_id, stream, seq, prev_hash, hash)
       VALUES ($1, '${AUDIT_STREAM}', 1, $8, encode(sha256(convert_to($9 || $8 || $10 || '1' || $11, 'UTF8')), 'hex'))
       ON CONFLICT (tenant_id, stream) DO UPDATE SET
         seq = h.seq + 1,
         prev_hash = h.hash,
         hash = encode(sha256(convert_to($9 || h.hash || $10 || (h.seq + 1)::text || $11, 'UTF8')), 'hex')
       RETURNING seq, prev_hash, hash
     )
     INSERT INTO audit_events (tenant_id, seq, time, actor, action, target, outcome, data, prev_hash, hash)
     SELECT $1, seq, $2, $3, $4, $5, $6, $7, prev_hash, hash FROM head
     RETURNING seq, prev_hash, hash`,
    [...values, GENESIS_HASH, t.before, t.middle, t.after],
  );
  const row = res.rows[0] as { seq: number; prev_hash: string; hash: string };
  tx.streamGrew('audit');
  return { ...record, seq: row.seq, prev_hash: row.prev_hash, hash: row.hash };
}

/**
 * The data object is stored as jsonb and read back for verification, so it is
 * normalized to what survives that round trip: plain JSON values only.
 */
function normalizeData(data: Record<string, unknown>): Record<string, unknown> {
  // jsonb refuses NUL and unpaired surrogates; replace them rather than fail the audited action.
  return JSON.parse(JSON.stringify(data), (_key, value: unknown) =>
    typeof value === 'string' ? value.toWellFormed().replaceAll('\u0000', '\uFFFD') : value) as Record<string, unknown>;
}

interface AuditRow {
  tenant_id: string;
  seq: number;
  /** Already the canonical ISO form (formatted by the database: no Date per row). */
  time: string;
  actor: string;
  action: string;
  target: string;
  outcome: Outcome;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export const MAX_AUDIT_PAGE = 5000;

/** `time` as JavaScript's toISOString() writes it (UTC, milliseconds), formatted by the database. */
const ISO_TIME = `to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Events with seq > after, in seq order. */
export async function pageAudit(tx: TenantTx, after: number, limit: number): Promise<AuditEvent[]> {
  const res = await tx.query<AuditRow>(
    `SELECT tenant_id, seq, ${ISO_TIME} AS time, actor, action, target, outcome, data, prev_hash, hash
       FROM audit_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [tx.tenantId, after, Math.min(Math.max(limit, 1), MAX_AUDIT_PAGE)],
  );
  return res.rows.map(toEvent);
}

/** The events with these seqs, in seq order (a missing seq is simply absent). */
export async function auditBySeq(tx: TenantTx, seqs: readonly number[]): Promise<AuditEvent[]> {
  const res = await tx.query<AuditRow>(
    `SELECT tenant_id, seq, ${ISO_TIME} AS time, actor, action, target, outcome, data, prev_hash, hash
       FROM audit_events WHERE tenant_id = $1 AND seq = ANY($2::bigint[]) ORDER BY seq`,
    [tx.tenantId, [...seqs]],
  );
  return res.rows.map(toEvent);
}

function toEvent(r: AuditRow): AuditEvent {
  return { tenant_id: r.tenant_id, seq: r.seq, time: r.time, actor: r.actor, action: r.action, target: r.target, outcome: r.outcome, data: r.data, prev_hash: r.prev_hash, hash: r.hash };
}

export async function auditHead(tx: TenantTx): Promise<{ seq: number; hash: string | null } | undefined> {
  const res = await tx.query<{ seq: number; hash: string | null }>(
    `SELECT seq, hash FROM stream_heads WHERE tenant_id = $1 AND stream = '${AUDIT_STREAM}'`, [tx.tenantId]);
  return res.rows[0];
}

/** Page source for verification: the database, or an API client paging GET /v1/audit. */
export type AuditPager = (after: number) => Promise<AuditEvent[]>;

export async function verifyAudit(tenantId: string, page: AuditPager, head?: { seq: number; hash: string | null }): Promise<ChainVerdict> {
  const verifier = new ChainVerifier(tenantId);
  let after = 0;
  for (;;) {
    const events = await page(after);
    if (events.length === 0) break;
    for (const e of events) {
      if (!verifier.add(e)) return verifier.finish();
    }
    after = (events[events.length - 1] as AuditEvent).seq;
  }
  return verifier.finish(head);
}
