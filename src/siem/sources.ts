import { auditBySeq, pageAudit } from '../audit/log.ts';
import { describeFailure } from '../delivery/batch.ts';
import type { Page, Source } from '../delivery/types.ts';
import { pageSignals, signalsBySeq } from '../incidents/incidents.ts';
import type { TenantTx } from '../store/scope.ts';
import { siemEventId, type SiemEvent } from './event.ts';
import { auditToEvent, signalToEvent } from './mapping.ts';
import type { Redactor } from './redact.ts';

/** The audit action of the record raised when events are parked (Ledger commitBatch: `<consumer>.parked`). */
const PARKED_ALARM = 'siem.parked';

export const SIEM_STREAMS = ['audit', 'threat'] as const;
export type SiemStream = (typeof SIEM_STREAMS)[number];

function mapPage<R extends { seq: number }>(rows: readonly R[], stream: SiemStream, tenant: string, map: (row: R) => SiemEvent): Page<SiemEvent> {
  const page: Page<SiemEvent> = { items: [], failed: [], last: 0 };
  for (const row of rows) {
    page.last = row.seq;
    try {
      page.items.push(map(row));
    } catch (err) {
      page.failed.push({ seq: row.seq, id: siemEventId(tenant, stream, row.seq), status: undefined, reason: `probectl could not map this record onto an event: ${describeFailure(err)}`.slice(0, 1000), response: '' });
    }
  }
  return page;
}

interface Log<R extends { seq: number }> {
  page(tx: TenantTx, after: number, limit: number): Promise<R[]>;
  bySeq(tx: TenantTx, seqs: readonly number[]): Promise<R[]>;
  map(row: R, tenant: string, redactor: Redactor): SiemEvent;
  /** The head row's name in stream_heads. */
  head: string;
  /** Table and time column of the record after the cursor (lag). */
  table: string;
  timeColumn: string;
}

const LOGS = {
  audit: { page: pageAudit, bySeq: auditBySeq, map: (r, tenant, redactor) => auditToEvent(r, tenant, { redactor }), head: 'audit', table: 'audit_events', timeColumn: 'time' } as Log<Awaited<ReturnType<typeof pageAudit>>[number]>,
  threat: { page: pageSignals, bySeq: signalsBySeq, map: (s, tenant, redactor) => signalToEvent(s, tenant, { redactor }), head: 'signals', table: 'signals', timeColumn: 'received_at' } as Log<Awaited<ReturnType<typeof pageSignals>>[number]>,
};

/**
 * A tenant's audit chain or signal log as a delivery source of canonical
 * events, each mapped and redacted as it is read and stamped with THIS
 * scope's tenant (never a value from the record). A record that cannot be
 * mapped (a time that is not RFC 3339, data nested beyond the bound) is a
 * failed item of its page (parked with the reason), never a failed page.
 */
export function siemSource(stream: SiemStream, redactor: Redactor): Source<SiemEvent> {
  const log = LOGS[stream] as Log<{ seq: number }>;
  return {
    stream,
    async read(tx, after, limit) {
      const page = mapPage(await log.page(tx, after, limit), stream, tx.tenantId, (r) => log.map(r, tx.tenantId, redactor));
      if (page.last === 0) page.last = after;
      return page;
    },
    async readBySeq(tx, seqs) {
      return mapPage(await log.bySeq(tx, seqs), stream, tx.tenantId, (r) => log.map(r, tx.tenantId, redactor));
    },
    async head(tx) {
      const res = await tx.query<{ seq: number }>('SELECT seq FROM stream_heads WHERE tenant_id = $1 AND stream = $2', [tx.tenantId, log.head]);
      return res.rows[0]?.seq ?? 0;
    },
    async oldestUnsent(tx, cursor) {
      const res = await tx.query<{ t: Date }>(`SELECT ${log.timeColumn} AS t FROM ${log.table} WHERE tenant_id = $1 AND seq = $2`, [tx.tenantId, cursor + 1]);
      return res.rows[0]?.t ?? null;
    },
    // The `siem.parked` audit records are this consumer's own alarms: parking one raises none.
    isOwnAlarm: (event) => event.category === 'audit' && event.action === PARKED_ALARM,
  };
}
