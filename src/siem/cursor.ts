import { appendAudit, auditBySeq, pageAudit } from '../audit/log.ts';
import type { Clock } from '../core/clock.ts';
import { pageSignals, signalsBySeq } from '../incidents/incidents.ts';
import type { TenantTx } from '../store/scope.ts';
import type { ParkedEvent } from './deliver.ts';
import type { SiemEvent } from './event.ts';
import { isProbectlError } from '../core/errors.ts';
import { siemEventId } from './event.ts';
import { auditToEvent, signalToEvent } from './mapping.ts';
import type { Redactor } from './redact.ts';

export type SiemStream = 'audit' | 'threat';

export interface DeliveryRow {
  stream: SiemStream;
  cursor: number;
  delivered_total: number;
  parked_total: number;
  last_success_at: Date | null;
  last_delivered_time: Date | null;
}

/** The tenant's cursor for a stream, created at 0 on first use. */
export async function readCursor(tx: TenantTx, stream: SiemStream): Promise<DeliveryRow> {
  await tx.query('INSERT INTO siem_delivery (tenant_id, stream) VALUES ($1, $2) ON CONFLICT DO NOTHING', [tx.tenantId, stream]);
  const res = await tx.query<DeliveryRow>(
    'SELECT stream, cursor, delivered_total, parked_total, last_success_at, last_delivered_time FROM siem_delivery WHERE tenant_id = $1 AND stream = $2',
    [tx.tenantId, stream],
  );
  return res.rows[0] as DeliveryRow;
}

/** The committed cursor, read only (0 before the first delivery). */
export async function currentCursor(tx: TenantTx, stream: SiemStream): Promise<number> {
  const res = await tx.query<{ cursor: number }>('SELECT cursor FROM siem_delivery WHERE tenant_id = $1 AND stream = $2', [tx.tenantId, stream]);
  return res.rows[0]?.cursor ?? 0;
}

export async function deliveryRows(tx: TenantTx): Promise<DeliveryRow[]> {
  const res = await tx.query<DeliveryRow>(
    'SELECT stream, cursor, delivered_total, parked_total, last_success_at, last_delivered_time FROM siem_delivery WHERE tenant_id = $1 ORDER BY stream', [tx.tenantId]);
  return res.rows;
}

/** The newest seq of a tenant's stream (its gapless head). */
export async function streamHead(tx: TenantTx, stream: SiemStream): Promise<number> {
  const res = await tx.query<{ seq: number }>(
    'SELECT seq FROM stream_heads WHERE tenant_id = $1 AND stream = $2', [tx.tenantId, stream === 'audit' ? 'audit' : 'signals']);
  return res.rows[0]?.seq ?? 0;
}

/** When the oldest undelivered event was recorded (lag in seconds), or null when caught up. */
export async function oldestPendingTime(tx: TenantTx, stream: SiemStream, cursor: number): Promise<Date | null> {
  const res = stream === 'audit'
    ? await tx.query<{ t: Date }>('SELECT time AS t FROM audit_events WHERE tenant_id = $1 AND seq = $2', [tx.tenantId, cursor + 1])
    : await tx.query<{ t: Date }>('SELECT received_at AS t FROM signals WHERE tenant_id = $1 AND seq = $2', [tx.tenantId, cursor + 1]);
  return res.rows[0]?.t ?? null;
}

/**
 * A page of a tenant's stream: the records that mapped onto canonical events,
 * and those that could not be read, mapped or redacted (parked with the
 * reason, never retried in a loop). `last` is the highest seq of the page.
 */
export interface EventPage {
  events: SiemEvent[];
  failed: ParkedEvent[];
  last: number;
}

function mapPage<R extends { seq: number }>(rows: readonly R[], stream: SiemStream, tenant: string, map: (row: R) => SiemEvent): EventPage {
  const page: EventPage = { events: [], failed: [], last: 0 };
  for (const row of rows) {
    page.last = row.seq;
    try {
      page.events.push(map(row));
    } catch (err) {
      const why = isProbectlError(err) ? err.message : `${(err as Error | undefined)?.name ?? 'Error'}: ${(err as Error | undefined)?.message ?? String(err)}`;
      page.failed.push({ seq: row.seq, id: siemEventId(tenant, stream, row.seq), status: undefined, reason: `probectl could not map this record onto an event: ${why}`.slice(0, 1000), response: '' });
    }
  }
  return page;
}

/**
 * Reads up to `limit` records after `after` and maps them onto canonical
 * events stamped with THIS scope's tenant (never a value from the record).
 * A record that cannot be mapped (a time that is not RFC 3339, data nested
 * beyond the bound) lands in `failed` instead of failing the page.
 */
export async function readEvents(tx: TenantTx, stream: SiemStream, after: number, limit: number, redactor: Redactor): Promise<EventPage> {
  const page = stream === 'audit'
    ? mapPage(await pageAudit(tx, after, limit), stream, tx.tenantId, (r) => auditToEvent(r, tx.tenantId, { redactor }))
    : mapPage(await pageSignals(tx, after, limit), stream, tx.tenantId, (s) => signalToEvent(s, tx.tenantId, { redactor }));
  if (page.last === 0) page.last = after;
  return page;
}

/** Events by seq (parked re-sends), in one query; unmappable ones land in `failed` again. */
export async function readEventsBySeq(tx: TenantTx, stream: SiemStream, seqs: readonly number[], redactor: Redactor): Promise<EventPage> {
  if (stream === 'audit') return mapPage(await auditBySeq(tx, seqs), stream, tx.tenantId, (r) => auditToEvent(r, tx.tenantId, { redactor }));
  return mapPage(await signalsBySeq(tx, seqs), stream, tx.tenantId, (s) => signalToEvent(s, tx.tenantId, { redactor }));
}

/**
 * Moves the cursor past a delivered batch and records what was parked, in
 * one transaction, so a crash can never advance past an event that is
 * neither acknowledged nor parked. Parking raises an audit record.
 */
export async function commitBatch(tx: TenantTx, clock: Clock, stream: SiemStream, from: number, to: number, delivered: number, lastTime: string | undefined, parked: readonly ParkedEvent[]): Promise<boolean> {
  const now = new Date(clock.now());
  const res = await tx.query(
    `UPDATE siem_delivery SET cursor = $3, delivered_total = delivered_total + $4, parked_total = parked_total + $5,
            last_success_at = $6, last_delivered_time = coalesce($7, last_delivered_time), updated_at = $6
      WHERE tenant_id = $1 AND stream = $2 AND cursor = $8`,
    [tx.tenantId, stream, to, delivered, parked.length, now, lastTime ?? null, from],
  );
  if (res.rowCount !== 1) return false;
  for (const p of parked) await parkEvent(tx, stream, p, now);
  if (parked.length > 0) {
    await appendAudit(tx, clock, {
      actor: 'system:siem', action: 'siem.parked', target: `siem:${stream}`, outcome: 'failure',
      data: { seqs: parked.map((p) => p.seq), statuses: parked.map((p) => p.status ?? null), reason: parked[0]?.reason ?? '' },
    });
  }
  return true;
}

export async function parkEvent(tx: TenantTx, stream: SiemStream, p: ParkedEvent, at: Date): Promise<void> {
  await tx.query(
    `INSERT INTO siem_parked (tenant_id, stream, seq, event_id, parked_at, status, reason, response)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (tenant_id, stream, seq) DO UPDATE SET parked_at = EXCLUDED.parked_at, status = EXCLUDED.status,
       reason = EXCLUDED.reason, response = EXCLUDED.response, attempts = siem_parked.attempts + 1`,
    [tx.tenantId, stream, p.seq, p.id, at, p.status ?? null, p.reason.slice(0, 1000), p.response.slice(0, 4000)],
  );
}

export interface ParkedRow {
  stream: SiemStream;
  seq: number;
  event_id: string;
  parked_at: Date;
  status: number | null;
  reason: string;
  response: string;
  attempts: number;
}

export async function listParked(tx: TenantTx, limit: number): Promise<ParkedRow[]> {
  const res = await tx.query<ParkedRow>(
    'SELECT stream, seq, event_id, parked_at, status, reason, response, attempts FROM siem_parked WHERE tenant_id = $1 ORDER BY stream, seq LIMIT $2',
    [tx.tenantId, limit],
  );
  return res.rows;
}

/** After a parked event was re-sent and acknowledged. */
export async function unpark(tx: TenantTx, stream: SiemStream, seqs: readonly number[], clock: Clock): Promise<void> {
  if (seqs.length === 0) return;
  await tx.query('DELETE FROM siem_parked WHERE tenant_id = $1 AND stream = $2 AND seq = ANY($3::bigint[])', [tx.tenantId, stream, seqs]);
  await tx.query('UPDATE siem_delivery SET parked_total = greatest(parked_total - $3, 0), delivered_total = delivered_total + $3 WHERE tenant_id = $1 AND stream = $2', [tx.tenantId, stream, seqs.length]);
  await appendAudit(tx, clock, { actor: 'system:siem', action: 'siem.parked.delivered', target: `siem:${stream}`, outcome: 'success', data: { seqs: [...seqs] } });
}

