import { ProbectlError } from '../core/errors.ts';
import { isUuid } from '../core/ids.ts';
import type { TenantTx } from '../store/scope.ts';
import type { Incident, IncidentStatus, Severity, Signal } from './model.ts';

interface IncidentRow {
  id: string; tenant_id: string; correlation_key: string; kind_family: string; target: string; title: string;
  status: IncidentStatus; severity: Severity; signal_count: number; opened_at: Date; updated_at: Date;
  last_signal_at: Date; acknowledged_at: Date | null; resolved_at: Date | null;
}

const INCIDENT_COLUMNS = 'id, tenant_id, correlation_key, kind_family, target, title, status, severity, signal_count, opened_at, updated_at, last_signal_at, acknowledged_at, resolved_at';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

function toIncident(r: IncidentRow): Incident {
  return {
    id: r.id, tenant: r.tenant_id, correlation_key: r.correlation_key, kind_family: r.kind_family, target: r.target,
    title: r.title, status: r.status, severity: r.severity, signal_count: r.signal_count,
    opened_at: r.opened_at.toISOString(), updated_at: r.updated_at.toISOString(), last_signal_at: r.last_signal_at.toISOString(),
    acknowledged_at: iso(r.acknowledged_at), resolved_at: iso(r.resolved_at),
  };
}

export interface IncidentQuery {
  status?: IncidentStatus | undefined;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string | undefined;
}

export function encodeIncidentCursor(i: Pick<Incident, 'opened_at' | 'id'>): string {
  return Buffer.from(`${i.opened_at}|${i.id}`).toString('base64url');
}

/** Accepts exactly what encodeIncidentCursor produces, so nothing else reaches the query (a 400, never a database error). */
function decodeCursor(cursor: string): { openedAt: Date; id: string } {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const at = new Date(m?.[1] ?? '');
  if (!m || Number.isNaN(at.getTime()) || at.toISOString() !== m[1] || !isUuid(m[2] as string)) {
    throw new ProbectlError('PROBECTL_ERR_VALIDATION', 'cursor is malformed; pass next_cursor from a previous page unchanged');
  }
  return { openedAt: at, id: m[2] as string };
}

/** Newest first. */
export async function listIncidents(tx: TenantTx, q: IncidentQuery): Promise<{ incidents: Incident[]; next_cursor: string | null }> {
  const params: unknown[] = [tx.tenantId];
  const where = ['tenant_id = $1'];
  if (q.status) {
    params.push(q.status);
    where.push(`status = $${params.length}`);
  }
  if (q.cursor) {
    const c = decodeCursor(q.cursor);
    params.push(c.openedAt, c.id);
    where.push(`(opened_at, id) < ($${params.length - 1}, $${params.length})`);
  }
  params.push(q.limit);
  const res = await tx.query<IncidentRow>(
    `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE ${where.join(' AND ')} ORDER BY opened_at DESC, id DESC LIMIT $${params.length}`, params);
  const incidents = res.rows.map(toIncident);
  const last = incidents[incidents.length - 1];
  return { incidents, next_cursor: incidents.length === q.limit && last ? encodeIncidentCursor(last) : null };
}

export async function getIncident(tx: TenantTx, id: string): Promise<Incident | undefined> {
  const res = await tx.query<IncidentRow>(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE tenant_id = $1 AND id = $2`, [tx.tenantId, id]);
  const row = res.rows[0];
  return row ? toIncident(row) : undefined;
}

interface SignalRow {
  tenant_id: string; seq: number; id: string; kind: string; severity: Severity; confidence: number; target: string;
  title: string; attributes: Record<string, unknown>; received_at: Date; incident_id: string;
}

/** Which of these incidents (ids of the scope's tenant) are resolved now. */
export async function resolvedIncidents(tx: TenantTx, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const res = await tx.query<{ id: string }>("SELECT id FROM incidents WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND status = 'resolved'", [tx.tenantId, [...ids]]);
  return new Set(res.rows.map((r) => r.id));
}

export function toSignal(r: SignalRow): Signal {
  return {
    id: r.id, seq: r.seq, tenant: r.tenant_id, kind: r.kind, severity: r.severity, confidence: r.confidence, target: r.target,
    title: r.title, attributes: r.attributes, received_at: r.received_at.toISOString(), incident_id: r.incident_id,
  };
}

export const SIGNAL_COLUMNS = 'tenant_id, seq, id, kind, severity, confidence, target, title, attributes, received_at, incident_id';

export async function incidentSignals(tx: TenantTx, incidentId: string, limit = 1000): Promise<Signal[]> {
  const res = await tx.query<SignalRow>(
    `SELECT ${SIGNAL_COLUMNS} FROM signals WHERE tenant_id = $1 AND incident_id = $2 ORDER BY seq LIMIT $3`, [tx.tenantId, incidentId, limit]);
  return res.rows.map(toSignal);
}

/** Signals with seq > after, in seq order: the threat stream SIEM export drains. */
export async function pageSignals(tx: TenantTx, after: number, limit: number): Promise<Signal[]> {
  const res = await tx.query<SignalRow>(
    `SELECT ${SIGNAL_COLUMNS} FROM signals WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [tx.tenantId, after, limit]);
  return res.rows.map(toSignal);
}

/** The signals with these seqs, in seq order. */
export async function signalsBySeq(tx: TenantTx, seqs: readonly number[]): Promise<Signal[]> {
  const res = await tx.query<SignalRow>(
    `SELECT ${SIGNAL_COLUMNS} FROM signals WHERE tenant_id = $1 AND seq = ANY($2::bigint[]) ORDER BY seq`, [tx.tenantId, [...seqs]]);
  return res.rows.map(toSignal);
}

const ALLOWED: Record<IncidentStatus, readonly IncidentStatus[]> = {
  open: ['acknowledged', 'resolved'],
  acknowledged: ['resolved'],
  resolved: [],
};

export interface Transition {
  incident: Incident;
  from: IncidentStatus;
  changed: boolean;
}

/**
 * Moves several distinct incidents, each from the status the caller read to
 * `to`, in one statement: the rows are locked in id order (so two such
 * statements never deadlock), and each moves only if its locked status is
 * still `from` and the move is allowed. Returns the transitions in the
 * order given, or undefined when any incident is missing or its status is
 * no longer `from` (then some may have moved: the caller rolls the
 * transaction back and applies the changes one by one).
 */
export async function transitionIncidents(tx: TenantTx, changes: ReadonlyArray<{ id: string; from: IncidentStatus; to: 'acknowledged' | 'resolved' }>, at: Date): Promise<Transition[] | undefined> {
  if (changes.length === 0) return [];
  if (changes.some((c) => !ALLOWED[c.from].includes(c.to))) return undefined;
  const res = await tx.query<IncidentRow & { was: IncidentStatus }>(
    `WITH ch AS (
       SELECT * FROM unnest($2::uuid[], $3::text[], $4::text[]) AS c(id, was, status)
     ), locked AS (
       SELECT i.id FROM incidents i JOIN ch USING (id) WHERE i.tenant_id = $1 AND i.status = ch.was ORDER BY i.id FOR UPDATE OF i
     )
     UPDATE incidents i SET status = ch.status, updated_at = $5,
        acknowledged_at = CASE WHEN ch.status = 'acknowledged' THEN $5 ELSE i.acknowledged_at END,
        resolved_at = CASE WHEN ch.status = 'resolved' THEN $5 ELSE i.resolved_at END
       FROM ch JOIN locked USING (id)
      WHERE i.tenant_id = $1 AND i.id = ch.id AND i.status = ch.was
      RETURNING ${INCIDENT_COLUMNS.split(', ').map((c) => `i.${c}`).join(', ')}, ch.was`,
    [tx.tenantId, changes.map((c) => c.id), changes.map((c) => c.from), changes.map((c) => c.to), at],
  );
  if (res.rows.length !== changes.length) return undefined;
  const byId = new Map(res.rows.map((r) => [r.id, r]));
  return changes.map((c) => ({ incident: toIncident(byId.get(c.id) as IncidentRow), from: c.from, changed: true }));
}

/**
 * Moves an incident to `to`. Asking for the status it already has changes
 * nothing; a resolved incident stays resolved (a new signal opens a new one).
 */
export async function transitionIncident(tx: TenantTx, id: string, to: 'acknowledged' | 'resolved', at: Date): Promise<Transition | undefined> {
  const res = await tx.query<IncidentRow>(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tx.tenantId, id]);
  const row = res.rows[0];
  if (!row) return undefined;
  const from = row.status;
  if (from === to) return { incident: toIncident(row), from, changed: false };
  if (!ALLOWED[from].includes(to)) {
    throw new ProbectlError('PROBECTL_ERR_INCIDENT_TRANSITION', `incident is ${from}; it cannot become ${to}`);
  }
  const updated = await tx.query<IncidentRow>(
    `UPDATE incidents SET status = $3, updated_at = $4,
        acknowledged_at = CASE WHEN $3 = 'acknowledged' THEN $4 ELSE acknowledged_at END,
        resolved_at = CASE WHEN $3 = 'resolved' THEN $4 ELSE resolved_at END
      WHERE tenant_id = $1 AND id = $2 RETURNING ${INCIDENT_COLUMNS}`,
    [tx.tenantId, id, to, at],
  );
  return { incident: toIncident(updated.rows[0] as IncidentRow), from, changed: true };
}
