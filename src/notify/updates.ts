import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { Periodic } from '../core/periodic.ts';
import { getIncident } from '../incidents/incidents.ts';
import type { Severity } from '../incidents/model.ts';
import type { Db } from '../store/db.ts';
import { inTenant, type TenantTx } from '../store/scope.ts';
import { enqueue, type NewOperation } from './outbox.ts';
import { incidentView } from './view.ts';

const FLUSH_LIMIT = 500;
/** Signatures of accepted inbound deliveries outlive any timestamp still inside the ±5-minute window. */
const SEEN_KEEP_MS = 660_000;
const PURGE_EVERY_MS = 60_000;

/**
 * Enqueues the coalesced updates that fell due in the scope's tenant: one
 * `update` per link whose follow-up signals waited for the interval, counting
 * them and naming the severity before the first and now. Rows are claimed
 * with SKIP LOCKED and cleared in the same transaction, so replicas running
 * this together never enqueue one update twice. Returns how many.
 */
export async function flushDueUpdates(tx: TenantTx, clock: Clock, updating: ReadonlySet<string>): Promise<number> {
  const now = new Date(clock.now());
  const due = await tx.query<{ connector: string; incident_id: string; pending_signals: number; pending_from: Severity | null }>(
    `SELECT connector, incident_id, pending_signals, pending_from FROM notify_links
      WHERE tenant_id = $1 AND update_due_at IS NOT NULL AND update_due_at <= $2
      ORDER BY update_due_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
    [tx.tenantId, now, FLUSH_LIMIT],
  );
  const ops: NewOperation[] = [];
  for (const d of due.rows) {
    await tx.query(
      `UPDATE notify_links SET pending_signals = 0, pending_from = NULL, update_due_at = NULL, last_update_at = $4, updated_at = $4
        WHERE tenant_id = $1 AND connector = $2 AND incident_id = $3`,
      [tx.tenantId, d.connector, d.incident_id, now],
    );
    const incident = await getIncident(tx, d.incident_id);
    if (!incident || incident.status === 'resolved' || !updating.has(d.connector) || d.pending_signals === 0) continue;
    ops.push({
      connector: d.connector, action: 'update', incident: incidentView(incident, tx.tenantId),
      update: { signals: d.pending_signals, severityFrom: d.pending_from ?? incident.severity, severityTo: incident.severity },
    });
  }
  if (ops.length > 0) await enqueue(tx, clock, ops);
  return due.rows.length;
}

/**
 * The background side of coalesced updates: every quarter of the update
 * interval (100 ms to 5 s), each tenant with an updating connector is asked
 * for due updates; once a minute, inbound signatures older than the replay
 * window are purged.
 */
export class UpdateTicker {
  private readonly periodic: Periodic;
  private lastPurge = 0;

  constructor(opts: { db: Db; clock: Clock; log: Logger; intervalMs: number; tenants: readonly string[]; inboundTenants: readonly string[]; updating: ReadonlySet<string> }) {
    const tick = Math.min(5000, Math.max(100, Math.floor(opts.intervalMs / 4)));
    this.periodic = new Periodic(tick, async () => {
      for (const tenant of opts.tenants) {
        try {
          while ((await inTenant(opts.db, tenant, (tx) => flushDueUpdates(tx, opts.clock, opts.updating))) >= FLUSH_LIMIT) { /* next page */ }
        } catch (err) {
          opts.log.error({ tenant, err: (err as Error).message }, 'on-call mirror: coalesced updates could not be enqueued; retrying at the next tick');
        }
      }
      if (opts.clock.now() - this.lastPurge < PURGE_EVERY_MS) return;
      this.lastPurge = opts.clock.now();
      for (const tenant of opts.inboundTenants) {
        await inTenant(opts.db, tenant, (tx) => tx.query('DELETE FROM notify_inbound_seen WHERE tenant_id = $1 AND seen_at < $2', [tenant, new Date(opts.clock.now() - SEEN_KEEP_MS)]))
          .catch((err: unknown) => opts.log.warn({ tenant, err: (err as Error).message }, 'on-call mirror: could not purge old inbound signatures'));
      }
    });
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }
}
