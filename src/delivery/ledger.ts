import { appendAudit } from '../audit/log.ts';
import type { Clock } from '../core/clock.ts';
import { storableText } from '../core/text.ts';
import { openText, SEALED, sealText } from '../store/sealed.ts';
import type { TenantTx } from '../store/scope.ts';
import type { ParkedItem } from './types.ts';

/**
 * The durable side of the engine, per consumer (`siem`, `notify`, …), tenant
 * and stream: the cursor ("everything up to here was acknowledged or parked")
 * with its counters, and the parked items. Tables delivery_cursors and
 * delivery_parked, row-level-security scoped like every tenant table.
 */
export interface CursorRow {
  stream: string;
  cursor: number;
  delivered_total: number;
  parked_total: number;
  last_success_at: Date | null;
  last_delivered_time: Date | null;
}

export interface ParkedRow {
  stream: string;
  seq: number;
  event_id: string;
  parked_at: Date;
  status: number | null;
  reason: string;
  response: string;
  attempts: number;
}

/** The tenant's cursor of a consumer's stream, created at 0 on first use. */
export async function openCursor(tx: TenantTx, consumer: string, stream: string): Promise<CursorRow> {
  await tx.query('INSERT INTO delivery_cursors (tenant_id, consumer, stream) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [tx.tenantId, consumer, stream]);
  const res = await tx.query<CursorRow>(
    'SELECT stream, cursor, delivered_total, parked_total, last_success_at, last_delivered_time FROM delivery_cursors WHERE tenant_id = $1 AND consumer = $2 AND stream = $3',
    [tx.tenantId, consumer, stream],
  );
  return res.rows[0] as CursorRow;
}

/** The committed cursor, read only (0 before the first delivery). */
export async function currentCursor(tx: TenantTx, consumer: string, stream: string): Promise<number> {
  const res = await tx.query<{ cursor: number }>('SELECT cursor FROM delivery_cursors WHERE tenant_id = $1 AND consumer = $2 AND stream = $3', [tx.tenantId, consumer, stream]);
  return res.rows[0]?.cursor ?? 0;
}

/** Every cursor of a consumer for the scope's tenant. */
export async function cursorRows(tx: TenantTx, consumer: string): Promise<CursorRow[]> {
  const res = await tx.query<CursorRow>(
    'SELECT stream, cursor, delivered_total, parked_total, last_success_at, last_delivered_time FROM delivery_cursors WHERE tenant_id = $1 AND consumer = $2 ORDER BY stream',
    [tx.tenantId, consumer],
  );
  return res.rows;
}

/**
 * Whether this parking gets its `<consumer>.parked` audit record. The record is
 * appended to the tenant's audit chain, which is itself a stream the consumer
 * may drain: a receiver refusing everything would refuse the record too, park
 * it and raise another, without end. So the engine lets one record through per
 * stream and interval and counts the parkings held back (`notAudited`, reported
 * in the next record); every parked item is in the parked table regardless.
 */
export interface ParkAlarm {
  audit: boolean;
  notAudited: number;
}

/**
 * Moves the cursor from `from` to `to` past a delivered batch and records what
 * was parked, in one transaction, so a crash can never advance past an item
 * that is neither acknowledged nor parked. Parking raises an audit record
 * (`<consumer>.parked`) naming the parked items when `alarm.audit` says so,
 * except those whose seq is in `quiet` (the consumer's own parking alarms, see
 * Source.isOwnAlarm): no record when only those were parked. Returns false when
 * the cursor was not at `from` (another replica moved it): nothing is written then.
 */
export async function commitBatch(tx: TenantTx, clock: Clock, consumer: string, stream: string, from: number, to: number, delivered: number, lastTime: string | undefined, parked: readonly ParkedItem[], alarm: ParkAlarm = { audit: true, notAudited: 0 }, quiet: ReadonlySet<number> = new Set()): Promise<boolean> {
  const now = new Date(clock.now());
  const res = await tx.query(
    `UPDATE delivery_cursors SET cursor = $4, delivered_total = delivered_total + $5, parked_total = parked_total + $6,
            last_success_at = CASE WHEN $5::int > 0 THEN $7 ELSE last_success_at END,
            last_delivered_time = coalesce($8, last_delivered_time), updated_at = $7
      WHERE tenant_id = $1 AND consumer = $2 AND stream = $3 AND cursor = $9`,
    [tx.tenantId, consumer, stream, to, delivered, parked.length, now, lastTime ?? null, from],
  );
  if (res.rowCount !== 1) return false;
  for (const p of parked) await parkItem(tx, consumer, stream, p, now);
  const alarmed = parked.filter((p) => !quiet.has(p.seq));
  if (alarmed.length > 0 && alarm.audit) {
    await appendAudit(tx, clock, {
      actor: `system:${consumer}`, action: `${consumer}.parked`, target: `${consumer}:${stream}`, outcome: 'failure',
      data: { seqs: alarmed.map((p) => p.seq), statuses: alarmed.map((p) => p.status ?? null), reason: alarmed[0]?.reason ?? '', parkings_not_audited: alarm.notAudited },
    });
  }
  return true;
}

/** Parks one item, or records one more refusal of an item already parked. */
export async function parkItem(tx: TenantTx, consumer: string, stream: string, p: ParkedItem, at: Date): Promise<void> {
  await tx.query(
    `INSERT INTO delivery_parked (tenant_id, consumer, stream, seq, event_id, parked_at, status, reason, response)
     VALUES ($1, $2, $3, $4, $5, $6, $7, decode($8, 'base64'), decode($9, 'base64'))
     ON CONFLICT (tenant_id, consumer, stream, seq) DO UPDATE SET parked_at = EXCLUDED.parked_at, status = EXCLUDED.status,
       reason = EXCLUDED.reason, response = EXCLUDED.response, attempts = delivery_parked.attempts + 1`,
    [tx.tenantId, consumer, stream, p.seq, p.id, at, p.status ?? null, ...sealedRefusal(tx, consumer, stream, p)],
  );
}

/**
 * A refusal's reason and answer as parked rows keep them: stored as they can be (a NUL would fail the
 * commit, and the stream with it, on every attempt, were it ever kept as text), and sealed: they may echo
 * the event (docs/encryption.md).
 */
function sealedRefusal(tx: TenantTx, consumer: string, stream: string, p: ParkedItem): [string, string] {
  const row = [consumer, stream, p.seq];
  return [sealText(tx, SEALED.parkedReason, row, storableText(p.reason, 1000)), sealText(tx, SEALED.parkedResponse, row, storableText(p.response, 4000))];
}

/**
 * A parked item refused again by a re-send: its row gets the new answer and one more attempt — only while it
 * is still parked. Another replica may have delivered it (and unparked it) meanwhile: its row is never
 * brought back, so a delivered item is neither shown parked nor counted delivered a second time.
 */
export async function reparkItem(tx: TenantTx, consumer: string, stream: string, p: ParkedItem, at: Date): Promise<void> {
  await tx.query(
    `UPDATE delivery_parked SET parked_at = $5, status = $6, reason = decode($7, 'base64'), response = decode($8, 'base64'), attempts = attempts + 1
      WHERE tenant_id = $1 AND consumer = $2 AND stream = $3 AND seq = $4`,
    [tx.tenantId, consumer, stream, p.seq, at, p.status ?? null, ...sealedRefusal(tx, consumer, stream, p)],
  );
}

/** The tenant's parked items of a consumer, their stored reason and answer opened (errors of store/sealed.ts openText). */
export async function listParked(tx: TenantTx, consumer: string, limit: number): Promise<ParkedRow[]> {
  const res = await tx.query<Omit<ParkedRow, 'reason' | 'response'> & { reason: Uint8Array; response: Uint8Array }>(
    'SELECT stream, seq, event_id, parked_at, status, reason, response, attempts FROM delivery_parked WHERE tenant_id = $1 AND consumer = $2 ORDER BY stream, seq LIMIT $3',
    [tx.tenantId, consumer, limit],
  );
  return res.rows.map((r) => {
    const row = [consumer, r.stream, r.seq];
    return { ...r, reason: openText(tx, SEALED.parkedReason, row, r.reason) as string, response: openText(tx, SEALED.parkedResponse, row, r.response) as string };
  });
}

/**
 * Where the parked items are (stream and seq only), for re-sending them: a retry of many parked items must
 * not hold every stored answer (up to 5 kB each) in memory at once.
 */
export async function parkedPositions(tx: TenantTx, consumer: string, limit: number): Promise<Array<{ stream: string; seq: number }>> {
  const res = await tx.query<{ stream: string; seq: number }>(
    'SELECT stream, seq FROM delivery_parked WHERE tenant_id = $1 AND consumer = $2 ORDER BY stream, seq LIMIT $3',
    [tx.tenantId, consumer, limit],
  );
  return res.rows;
}

/**
 * After parked items were re-sent and acknowledged: out of the parked table, counted delivered, audited.
 * Only rows this call removed are counted (another retry, on this replica or another, may have removed
 * some already), so the counters never count one item twice. Returns how many it removed.
 */
export async function unpark(tx: TenantTx, clock: Clock, consumer: string, stream: string, seqs: readonly number[]): Promise<number> {
  if (seqs.length === 0) return 0;
  const removed = (await tx.query<{ seq: number }>('DELETE FROM delivery_parked WHERE tenant_id = $1 AND consumer = $2 AND stream = $3 AND seq = ANY($4::bigint[]) RETURNING seq', [tx.tenantId, consumer, stream, seqs])).rows.map((r) => r.seq);
  if (removed.length === 0) return 0;
  await tx.query(
    'UPDATE delivery_cursors SET parked_total = greatest(parked_total - $4, 0), delivered_total = delivered_total + $4 WHERE tenant_id = $1 AND consumer = $2 AND stream = $3',
    [tx.tenantId, consumer, stream, removed.length],
  );
  await appendAudit(tx, clock, { actor: `system:${consumer}`, action: `${consumer}.parked.delivered`, target: `${consumer}:${stream}`, outcome: 'success', data: { seqs: removed.sort((a, b) => a - b) } });
  return removed.length;
}
