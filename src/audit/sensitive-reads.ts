import type { Clock } from '../core/clock.ts';
import { OncePerInterval } from '../core/once-per-interval.ts';
import type { Principal } from '../identity/permissions.ts';
import type { TenantTx } from '../store/scope.ts';
import { appendAudit } from './log.ts';

/**
 * Records sensitive reads (audit reads, secrets health, CMDB lookups) in the
 * reader's tenant chain, once per token and action per interval, with the
 * number of reads since the last record. Without that, paging the audit log to
 * its end would never end: each page read would append a new event to read.
 */
export class SensitiveReads {
  private readonly gate: OncePerInterval;
  private readonly clock: Clock;

  constructor(clock: Clock, intervalMs: number) {
    this.clock = clock;
    this.gate = new OncePerInterval(intervalMs);
  }

  async record(tx: TenantTx, principal: Principal, action: string, target: string, data: Record<string, unknown>): Promise<void> {
    const gate = this.gate.check(`${principal.tokenId}|${action}|${target}`, this.clock.now());
    if (!gate.due) return;
    await appendAudit(tx, this.clock, {
      actor: principal.actor, action, target, outcome: 'success',
      data: { ...data, reads_since_last: gate.skipped },
    });
  }
}
