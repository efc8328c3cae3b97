import { setTimeout as sleep } from 'node:timers/promises';
import { deferAudit, flushAudit } from '../../audit/log.ts';
import type { Clock } from '../../core/clock.ts';
import { ProbectlError } from '../../core/errors.ts';
import type { IncidentListener } from '../../incidents/listeners.ts';
import { isTransactionConflict, type Db } from '../../store/db.ts';
import { inTenant } from '../../store/scope.ts';
import type { InboundConfig } from '../config/connectors.ts';
import { deferEnqueue, flushEnqueue } from '../outbox.ts';
import type { InboundChange } from '../providers/types.ts';
import { applyInbound, applyInboundGroup, GroupConflict, REPLAYED, ReplayedDelivery, type InboundResult } from './apply.ts';

/** At most this many deliveries of one tenant share a transaction. */
export const MAX_GROUP = 32;
/** Tries of a delivery applied alone whose incident keeps changing under it (see InboundGroupCommit.alone). */
const ALONE_ATTEMPTS = 6;

interface Pending {
  inbound: InboundConfig;
  change: InboundChange | { ignore: string };
  signature: string | undefined;
  source: string;
  resolve(result: InboundResult): void;
  reject(err: unknown): void;
}

/**
 * Group commit of authenticated inbound deliveries (the "Inbound webhooks"
 * of docs/oncall.md): the deliveries of one tenant that arrive while that
 * tenant's transactions are busy are applied together, up to MAX_GROUP in
 * one transaction, each exactly as applyInbound applies it alone and in
 * arrival order — the outbox operations and audit records of the whole
 * group are appended by one statement each right before the commit (so the
 * tenant's chain and outbox heads are locked for two statements per group,
 * not for each delivery) and one commit makes them durable. Every delivery
 * is answered only after that commit. When the group's transaction fails
 * (one delivery's transition raced another change, the database went away),
 * each of its deliveries is applied again on its own, as if it had arrived
 * alone — its own answer, its own error — so one bad delivery never fails
 * the others. A delivery arriving while the tenant is idle starts its own
 * transaction at once (no added wait).
 *
 * One transaction per tenant at a time: a tenant's changes serialize on its
 * audit chain head anyway, and the deliveries arriving meanwhile form the next,
 * larger group. With two in flight (the second reading while the first
 * commits), groups were half as large and the database did twice the
 * transactions: 64 concurrent deliveries over ten tenants went from ~850/s to
 * ~1,000/s with one (bench/notify.ts), and one tenant stayed at ~2,700–3,000/s.
 */
export class InboundGroupCommit {
  private readonly queues = new Map<string, Pending[]>();
  /** Tenants whose drain loop is running (one each). */
  private readonly running = new Set<string>();
  private readonly db: Db;
  private readonly clock: Clock;
  private readonly listeners: readonly IncidentListener[];
  private readonly committed: (deliveries: number) => void;

  /** `committed` is told the number of deliveries each successful commit made durable (a metric). */
  constructor(db: Db, clock: Clock, listeners: readonly IncidentListener[], committed: (deliveries: number) => void = () => {}) {
    this.db = db;
    this.clock = clock;
    this.listeners = listeners;
    this.committed = committed;
  }

  /**
   * Applies one delivery in the credential's tenant (see applyInbound).
   * Resolves once it has committed; rejects with ReplayedDelivery for a
   * signature accepted before, or with the error applying it alone gave.
   */
  apply(inbound: InboundConfig, change: InboundChange | { ignore: string }, signature: string | undefined, source: string): Promise<InboundResult> {
    return new Promise<InboundResult>((resolve, reject) => {
      const tenant = inbound.tenant;
      let queue = this.queues.get(tenant);
      if (!queue) this.queues.set(tenant, (queue = []));
      queue.push({ inbound, change, signature, source, resolve, reject });
      if (!this.running.has(tenant)) void this.drain(tenant);
    });
  }

  private async drain(tenant: string): Promise<void> {
    this.running.add(tenant);
    try {
      for (;;) {
        const queue = this.queues.get(tenant);
        const group = queue?.splice(0, MAX_GROUP) ?? [];
        if (group.length === 0) break;
        await this.applyGroup(tenant, group);
      }
    } finally {
      this.running.delete(tenant);
      if (this.queues.get(tenant)?.length === 0) this.queues.delete(tenant);
    }
  }

  private async applyGroup(tenant: string, group: readonly Pending[]): Promise<void> {
    if (group.length === 1) return this.alone(group[0] as Pending);
    let results: Array<InboundResult | typeof REPLAYED>;
    try {
      results = await inTenant(this.db, tenant, async (tx) => {
        deferEnqueue(tx);
        deferAudit(tx);
        const out = await applyInboundGroup(tx, this.clock, group, this.listeners);
        // The outbox heads before the audit head: the order a single change takes them in.
        await flushEnqueue(tx, this.clock);
        await flushAudit(tx);
        return out;
      });
    } catch {
      // Nothing of the group was written: each delivery on its own, with its own answer, in arrival order
      // (all at once, they would race each other for the same incidents) — beside the tenant's next
      // groups, not in front of them: a group re-applied one by one, each delivery retried with pauses
      // while its incident races, can take seconds, and the tenant's other deliveries need not wait.
      void (async () => {
        for (const p of group) await this.alone(p);
      })();
      return;
    }
    this.committed(group.length);
    for (const [i, p] of group.entries()) {
      const r = results[i];
      if (r === REPLAYED || r === undefined) p.reject(new ReplayedDelivery('replayed delivery: this signature was accepted before'));
      else p.resolve(r);
    }
  }

  /**
   * One delivery in its own transaction. One whose incident changed after it
   * was read (another delivery, replica or API call moved it), or whose
   * transaction PostgreSQL rolled back as a deadlock or serialization failure,
   * is read and applied again, after a short jittered pause, up to ALONE_ATTEMPTS times;
   * still racing after that, it is refused with 503 PROBECTL_ERR_INBOUND_BUSY
   * and Retry-After (nothing written), so the vendor sends it again.
   */
  private async alone(p: Pending): Promise<void> {
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const result = await applyInbound(this.db, this.clock, p.inbound, p.change, p.signature, this.listeners, p.source);
          this.committed(1);
          p.resolve(result);
          return;
        } catch (err) {
          if (!(err instanceof GroupConflict) && !isTransactionConflict(err)) throw err;
          if (attempt >= ALONE_ATTEMPTS) {
            throw new ProbectlError('PROBECTL_ERR_INBOUND_BUSY', 'the incident kept changing while this delivery was applied; nothing was changed: send it again', { details: { retry_after_seconds: 1 } });
          }
          await sleep(Math.round(5 * 2 ** attempt * (0.5 + Math.random())));
        }
      }
    } catch (err) {
      p.reject(err);
    }
  }
}
