import type { Clock } from '../core/clock.ts';
import { newId } from '../core/ids.ts';
import type { DeliveryItem, Page, Source } from '../delivery/types.ts';
import type { Severity } from '../incidents/model.ts';
import { openJson, SEALED, sealJson, sealText } from '../store/sealed.ts';
import type { TenantTx } from '../store/scope.ts';
import type { IncidentView, NotifyAction } from './providers/types.ts';

/**
 * The durable outbox: per tenant and connector, a gapless log of operations
 * (table notify_outbox, head `notify:<connector>` in stream_heads), written in
 * the transaction of the incident change that causes them, and drained by the
 * shared delivery engine as the connector's stream.
 */

export interface UpdateDetail {
  readonly signals: number;
  readonly severityFrom: Severity;
  readonly severityTo: Severity;
}

/** One outbox row as the engine delivers it. `id` is the operation's idempotency key (Idempotency-Key, Slack metadata). */
export interface NotifyItem extends DeliveryItem {
  readonly tenant: string;
  readonly connector: string;
  readonly incidentId: string;
  readonly action: NotifyAction;
  readonly incident: IncidentView;
  readonly update: UpdateDetail | undefined;
}

export interface NewOperation {
  readonly connector: string;
  readonly action: NotifyAction;
  readonly incident: IncidentView;
  readonly update?: UpdateDetail;
}

export const headStream = (connector: string): string => `notify:${connector}`;

/**
 * Appends operations to their connectors' outboxes in the caller's
 * transaction, in one statement, and wakes the drainers once it commits: the
 * heads move (their row locks, taken in connector order, serialize appends
 * per connector, so each seq stays gapless) and the rows are inserted. Call it
 * late in the transaction: the heads stay locked until the commit.
 */
export async function enqueue(tx: TenantTx, clock: Clock, ops: readonly NewOperation[]): Promise<void> {
  if (ops.length === 0) return;
  const buffer = deferred.get(tx);
  if (buffer) {
    buffer.push(...ops);
    return;
  }
  await enqueueNow(tx, clock, ops);
}

/** Per transaction: the operations enqueue buffered since deferEnqueue (appended by flushEnqueue). */
const deferred = new WeakMap<TenantTx, NewOperation[]>();

/**
 * From now on, enqueue in this transaction buffers its operations; the
 * caller must run flushEnqueue before the transaction ends. For group
 * commits (many incident changes in one transaction): the connectors' heads
 * are then locked by one statement near the commit, not from the first
 * change on.
 */
export function deferEnqueue(tx: TenantTx): void {
  if (!deferred.has(tx)) deferred.set(tx, []);
}

/** Appends the operations buffered since deferEnqueue, in order, in one statement, and ends the deferral. */
export async function flushEnqueue(tx: TenantTx, clock: Clock): Promise<void> {
  const ops = deferred.get(tx) ?? [];
  deferred.delete(tx);
  if (ops.length > 0) await enqueueNow(tx, clock, ops);
}

async function enqueueNow(tx: TenantTx, clock: Clock, ops: readonly NewOperation[]): Promise<void> {
  const ids = ops.map(() => newId());
  // The incident view and the update's detail are sealed (docs/encryption.md), bound to the operation's id.
  const sealed = ops.map((o, i) => {
    const row = [o.connector, ids[i]];
    return { incident: sealJson(tx, SEALED.outboxIncident, row, o.incident) as string, detail: sealJson(tx, SEALED.outboxDetail, row, o.update ?? null) };
  });
  await tx.query(
    `WITH ops AS (
       SELECT * FROM unnest($2::text[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS o(connector, id, incident_id, action, incident, detail, ord)
     ), counts AS (
       SELECT connector, count(*)::bigint AS n FROM ops GROUP BY connector ORDER BY connector
     ), heads AS (
       INSERT INTO stream_heads AS h (tenant_id, stream, seq) SELECT $1, 'notify:' || connector, n FROM counts ORDER BY connector
       ON CONFLICT (tenant_id, stream) DO UPDATE SET seq = h.seq + EXCLUDED.seq RETURNING stream, seq
     )
     INSERT INTO notify_outbox (tenant_id, connector, seq, id, incident_id, action, incident, detail, created_at)
     SELECT $1, o.connector, h.seq - c.n + row_number() OVER (PARTITION BY o.connector ORDER BY o.ord), o.id, o.incident_id, o.action, decode(o.incident, 'base64'), decode(o.detail, 'base64'), $8
       FROM ops o JOIN counts c USING (connector) JOIN heads h ON h.stream = 'notify:' || o.connector`,
    [
      tx.tenantId, ops.map((o) => o.connector), ids, ops.map((o) => o.incident.id), ops.map((o) => o.action),
      sealed.map((v) => v.incident), sealed.map((v) => v.detail), new Date(clock.now()),
    ],
  );
  for (const connector of new Set(ops.map((o) => o.connector))) tx.streamGrew(connector);
}

interface OutboxRow {
  seq: number; id: string; incident_id: string; action: NotifyAction; incident: Uint8Array; detail: Uint8Array | null; created_at: Date;
}

const COLUMNS = 'seq, id, incident_id, action, incident, detail, created_at';

/**
 * `seq = ANY($3) AND seq BETWEEN $4 AND $5` for a batch of seqs: the range keeps the
 * lookup an index range on (tenant_id, connector, seq) whatever the planner believes
 * of the table's size (on an outbox analyzed while small it otherwise read every row
 * of the connector and filtered them by the array).
 */
const SEQS = 'seq = ANY($3::bigint[]) AND seq BETWEEN $4 AND $5';
function seqParams(tenant: string, connector: string, seqs: Iterable<number>): [string, string, number[], number, number] {
  const list = [...seqs];
  return [tenant, connector, list, ...seqRange(list)];
}

/** The lowest and highest of a batch's seqs; [0, -1] (an empty range) for none. */
function seqRange(seqs: readonly number[]): [number, number] {
  if (seqs.length === 0) return [0, -1];
  let lo = seqs[0] as number;
  let hi = lo;
  for (const q of seqs) {
    if (q < lo) lo = q;
    else if (q > hi) hi = q;
  }
  return [lo, hi];
}

/**
 * The rows as delivery items, their sealed payloads opened. A row that does not open (an unknown key, a wrong
 * key) throws PROBECTL_ERR_ENCRYPTION_*: the drainer stops on it and says so, never sends garbage.
 */
function toPage(tx: TenantTx, rows: readonly OutboxRow[], connector: string, after: number): Page<NotifyItem> {
  const tenant = tx.tenantId;
  const page: Page<NotifyItem> = { items: [], failed: [], last: after };
  for (const r of rows) {
    page.last = r.seq;
    const row = [connector, r.id];
    const incident = openJson<IncidentView>(tx, SEALED.outboxIncident, row, r.incident) as IncidentView;
    // The view is re-stamped with the scope's tenant: never a value from the row's JSON.
    page.items.push({
      seq: r.seq, id: r.id, time: r.created_at.toISOString(), tenant, connector, incidentId: r.incident_id, action: r.action,
      incident: { ...incident, tenant }, update: openJson<UpdateDetail>(tx, SEALED.outboxDetail, row, r.detail) ?? undefined,
    });
  }
  return page;
}

/** A connector's outbox as a delivery source: the stream is the connector id; only its tenant has it. */
export function outboxSource(connector: string, tenant: string): Source<NotifyItem> {
  return {
    stream: connector,
    tenants: [tenant],
    async read(tx, after, limit) {
      const res = await tx.query<OutboxRow>(`SELECT ${COLUMNS} FROM notify_outbox WHERE tenant_id = $1 AND connector = $2 AND seq > $3 ORDER BY seq LIMIT $4`, [tx.tenantId, connector, after, limit]);
      return toPage(tx, res.rows, connector, after);
    },
    async readBySeq(tx, seqs) {
      const res = await tx.query<OutboxRow>(`SELECT ${COLUMNS} FROM notify_outbox WHERE tenant_id = $1 AND connector = $2 AND ${SEQS} ORDER BY seq`, seqParams(tx.tenantId, connector, seqs));
      return toPage(tx, res.rows, connector, 0);
    },
    async head(tx) {
      const res = await tx.query<{ seq: number }>('SELECT seq FROM stream_heads WHERE tenant_id = $1 AND stream = $2', [tx.tenantId, headStream(connector)]);
      return res.rows[0]?.seq ?? 0;
    },
    async oldestUnsent(tx, cursor) {
      const res = await tx.query<{ t: Date }>('SELECT created_at AS t FROM notify_outbox WHERE tenant_id = $1 AND connector = $2 AND seq = $3', [tx.tenantId, connector, cursor + 1]);
      return res.rows[0]?.t ?? null;
    },
  };
}

/** Marks operations finished (sent, or skipped with the reason): a batch re-sent after a crash skips them. */
export async function markDone(tx: TenantTx, clock: Clock, connector: string, seqs: readonly number[], result: 'sent' | 'skipped', reason: string | null): Promise<void> {
  if (seqs.length === 0) return;
  // The reason is sealed per operation (bound to its id), so it is written row by row from the ids.
  const rows = reason === null ? seqs.map((seq) => ({ seq, reason: null }))
    : (await tx.query<{ seq: number; id: string }>(`SELECT seq, id FROM notify_outbox WHERE tenant_id = $1 AND connector = $2 AND ${SEQS}`, seqParams(tx.tenantId, connector, seqs)))
      .rows.map((r) => ({ seq: r.seq, reason: sealText(tx, SEALED.outboxReason, [connector, r.id], reason.slice(0, 1000)) }));
  const [lo, hi] = seqRange(seqs);
  await tx.query(
    `UPDATE notify_outbox o SET done_at = $4, result = $5, reason = decode(u.reason, 'base64')
       FROM unnest($3::bigint[], $6::text[]) AS u(seq, reason) WHERE o.tenant_id = $1 AND o.connector = $2 AND o.seq = u.seq AND o.seq BETWEEN $7 AND $8`,
    [tx.tenantId, connector, rows.map((r) => r.seq), new Date(clock.now()), result, rows.map((r) => r.reason), lo, hi]);
}

/** Which of these operations are already finished. */
export async function doneSeqs(tx: TenantTx, connector: string, seqs: readonly number[]): Promise<Set<number>> {
  const res = await tx.query<{ seq: number }>(`SELECT seq FROM notify_outbox WHERE tenant_id = $1 AND connector = $2 AND ${SEQS} AND done_at IS NOT NULL`, seqParams(tx.tenantId, connector, seqs));
  return new Set(res.rows.map((r) => r.seq));
}
