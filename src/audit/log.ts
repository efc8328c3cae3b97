import type { Clock } from '../core/clock.ts';
import type { TenantTx } from '../store/scope.ts';
import { parseJson } from '../core/json.ts';
import { canonicalTemplate, chainHash, ChainVerifier, GENESIS_HASH, type AuditRecord, type ChainVerdict, type Outcome, type AuditEvent } from './chain.ts';

export interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  outcome: Outcome;
  data?: Record<string, unknown>;
}

const AUDIT_STREAM = 'audit';

type PendingRecord = Omit<AuditRecord, 'seq'>;

/** Per transaction: the records appendAudit buffered since deferAudit (flushed by flushAudit). */
const deferred = new WeakMap<TenantTx, PendingRecord[]>();

/**
 * Appends to the tenant's chain inside the caller's transaction, so the record
 * commits (or rolls back) with the action it records. One statement: the head
 * row's update takes its lock (serializing appends per tenant while other
 * tenants proceed), yields seq and prev_hash, and the database computes the
 * SHA-256 over the canonical encoding that JS prepared around them. In a
 * transaction that called deferAudit, the record is only buffered (its time is
 * taken now) and is chained by flushAudit, which the caller runs last.
 */
export async function appendAudit(tx: TenantTx, clock: Clock, entry: AuditEntry): Promise<void> {
  const record: PendingRecord = {
    tenant_id: tx.tenantId,
    time: new Date(clock.now()).toISOString(),
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    outcome: entry.outcome,
    data: normalizeData(entry.data ?? {}),
  };
  const buffer = deferred.get(tx);
  if (buffer) {
    buffer.push(record);
    return;
  }
  await appendOne(tx, record);
}

/**
 * From now on, appendAudit in this transaction buffers its records; the
 * caller must run flushAudit before the transaction ends (records still
 * buffered then are lost with the transaction object). Used by group commits
 * (many changes in one transaction): the tenant's chain head is locked only
 * by the flush, for the last two statements before the commit, instead of
 * from the first change's record on.
 */
export function deferAudit(tx: TenantTx): void {
  if (!deferred.has(tx)) deferred.set(tx, []);
}

/**
 * Chains the records buffered since deferAudit, in the order they were
 * appended, and ends the deferral. Two statements for any number of records
 * (the head locked and read, then the rows inserted and the head moved in
 * one statement; the hashes computed here, as chainHash defines them), one
 * when a single record is buffered.
 */
export async function flushAudit(tx: TenantTx): Promise<void> {
  const records = deferred.get(tx) ?? [];
  deferred.delete(tx);
  if (records.length === 0) return;
  if (records.length === 1) return appendOne(tx, records[0] as PendingRecord);
  const head = await tx.query<{ seq: string | number; hash: string }>(
    `SELECT seq, hash FROM stream_heads WHERE tenant_id = $1 AND stream = '${AUDIT_STREAM}' FOR UPDATE`, [tx.tenantId]);
  const at = head.rows[0];
  if (!at) {
    // The tenant's first records: the head is created by the one-record append.
    for (const r of records) await appendOne(tx, r);
    return;
  }
  let seq = Number(at.seq);
  let prev = at.hash;
  const cols = { seq: [] as number[], time: [] as string[], actor: [] as string[], action: [] as string[], target: [] as string[], outcome: [] as string[], data: [] as string[], prev: [] as string[], hash: [] as string[] };
  for (const r of records) {
    seq += 1;
    const hash = chainHash({ ...r, seq }, prev);
    cols.seq.push(seq); cols.time.push(r.time); cols.actor.push(r.actor); cols.action.push(r.action); cols.target.push(r.target);
    cols.outcome.push(r.outcome); cols.data.push(JSON.stringify(r.data)); cols.prev.push(prev); cols.hash.push(hash);
    prev = hash;
  }
  await tx.query(
    `WITH ins AS (
       INSERT INTO audit_events (tenant_id, seq, time, actor, action, target, outcome, data, prev_hash, hash)
       SELECT $1, r.seq, r.time::timestamptz, r.actor, r.action, r.target, r.outcome, r.data::jsonb, r.prev_hash, r.hash
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
              AS r(seq, time, actor, action, target, outcome, data, prev_hash, hash)
     )
     UPDATE stream_heads SET seq = $11, prev_hash = $12, hash = $13 WHERE tenant_id = $1 AND stream = '${AUDIT_STREAM}'`,
    [tx.tenantId, cols.seq, cols.time, cols.actor, cols.action, cols.target, cols.outcome, cols.data, cols.prev, cols.hash, seq, cols.prev.at(-1), prev],
  );
  tx.streamGrew('audit');
}

/** One record chained by the database (see appendAudit). */
async function appendOne(tx: TenantTx, record: PendingRecord): Promise<void> {
  const t = canonicalTemplate(record);
  const values = [record.tenant_id, record.time, record.actor, record.action, record.target, record.outcome, JSON.stringify(record.data)];
  // The usual case: the head exists, a plain UPDATE (cheaper than INSERT … ON CONFLICT) moves it.
  const res = await tx.query<{ seq: number }>(
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
     RETURNING seq`,
    [...values, t.before, t.middle, t.after],
  );
  // The tenant's first record: create the head (concurrent first appends serialize on the conflict).
  if (res.rows.length === 0) await tx.query(
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
     SELECT $1, seq, $2, $3, $4, $5, $6, $7, prev_hash, hash FROM head`,
    [...values, GENESIS_HASH, t.before, t.middle, t.after],
  );
  tx.streamGrew('audit');
}

/**
 * The data object is stored as jsonb and read back for verification, so it is
 * normalized to what survives that round trip: plain JSON values only.
 */
function normalizeData(data: Record<string, unknown>): Record<string, unknown> {
  return storable(parseJson(JSON.stringify(data))) as Record<string, unknown>;
}

/** jsonb refuses NUL and unpaired surrogates, in keys as in values; they are replaced rather than fail the audited action. */
function storable(value: unknown): unknown {
  const clean = (s: string) => s.toWellFormed().replaceAll('\u0000', '\uFFFD');
  if (typeof value === 'string') return clean(value);
  if (Array.isArray(value)) return value.map(storable);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = clean(k);
    if (key === '__proto__') Object.defineProperty(out, key, { value: storable(v), writable: true, enumerable: true, configurable: true });
    else out[key] = storable(v);
  }
  return out;
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
