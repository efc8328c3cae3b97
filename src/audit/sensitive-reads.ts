import type { Clock } from '../core/clock.ts';
import type { Principal } from '../identity/permissions.ts';
import type { TenantTx } from '../store/scope.ts';
import { appendAudit } from './log.ts';

const MAX_TRACKED = 10_000;

/**
 * Records sensitive reads (audit reads, secrets health, CMDB lookups) in the
 * reader's tenant chain, once per token and action per interval, with the
 * number of reads since the last record. Without that, paging the audit log to
 * its end would never end: each page read would append a new event to read.
 */
export class SensitiveReads {
  private readonly last = new Map<string, { at: number; since: number }>();

  private readonly clock: Clock;
  private readonly intervalMs: number;

  constructor(clock: Clock, intervalMs: number) {
    this.clock = clock;
    this.intervalMs = intervalMs;
  }

  async record(tx: TenantTx, principal: Principal, action: string, target: string, data: Record<string, unknown>): Promise<void> {
    const key = `${principal.tokenId}|${action}|${target}`;
    const now = this.clock.now();
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.intervalMs) {
      seen.since += 1;
      return;
    }
    if (!seen && this.last.size >= MAX_TRACKED) this.last.clear();
    this.last.set(key, { at: now, since: 0 });
    await appendAudit(tx, this.clock, {
      actor: principal.actor, action, target, outcome: 'success',
      data: { ...data, reads_since_last: seen?.since ?? 0 },
    });
  }
}
