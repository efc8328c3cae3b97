import type { TenantTx } from '../store/scope.ts';
import { cursorRows } from './ledger.ts';

/**
 * The durable logs consumers drain, by the stream names they give them, with
 * where their head and record times live: the audit chain (`audit`) and the
 * signal log (`threat`). A read-only view for code that must not depend on a
 * consumer (the metrics federation's own series): it reads only the
 * database.
 */
const LOGS: Readonly<Record<string, { head: string; table: string; timeColumn: string }>> = {
  audit: { head: 'audit', table: 'audit_events', timeColumn: 'time' },
  threat: { head: 'signals', table: 'signals', timeColumn: 'received_at' },
};

/** One stream of a consumer for the scope's tenant: its cursor, counters and lag. */
export interface StreamProgress {
  readonly stream: string;
  readonly cursor: number;
  readonly deliveredTotal: number;
  readonly parkedTotal: number;
  /** Records after the cursor; undefined when the stream's log is not one this module knows. */
  readonly lagEvents: number | undefined;
  /** Age in seconds of the oldest record after the cursor (0 when caught up); undefined as lagEvents. */
  readonly lagSeconds: number | undefined;
}

/**
 * Every stream of `consumer` that has a cursor in the scope's tenant, read in
 * the caller's transaction (so the tenant's row-level security applies).
 * `nowMs` is the time lag is measured against.
 */
export async function consumerProgress(tx: TenantTx, consumer: string, nowMs: number): Promise<StreamProgress[]> {
  const out: StreamProgress[] = [];
  for (const row of await cursorRows(tx, consumer)) {
    const log = LOGS[row.stream];
    let lagEvents: number | undefined;
    let lagSeconds: number | undefined;
    if (log) {
      const head = await tx.query<{ seq: number }>('SELECT seq FROM stream_heads WHERE tenant_id = $1 AND stream = $2', [tx.tenantId, log.head]);
      lagEvents = Math.max(0, (head.rows[0]?.seq ?? 0) - row.cursor);
      lagSeconds = 0;
      if (lagEvents > 0) {
        const next = await tx.query<{ t: Date }>(`SELECT ${log.timeColumn} AS t FROM ${log.table} WHERE tenant_id = $1 AND seq = $2`, [tx.tenantId, row.cursor + 1]);
        const t = next.rows[0]?.t;
        if (t) lagSeconds = Math.max(0, Math.round((nowMs - t.getTime()) / 1000));
      }
    }
    out.push({ stream: row.stream, cursor: row.cursor, deliveredTotal: row.delivered_total, parkedTotal: row.parked_total, lagEvents, lagSeconds });
  }
  return out;
}
