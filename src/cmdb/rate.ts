import { LRUCache } from 'lru-cache';
import type { Clock } from '../core/clock.ts';

/**
 * Lookups per tenant per minute (PROBECTL_CMDB_RATE_LIMIT), in fixed
 * one-minute windows: the CMDB is shared by every tenant of the install, so
 * no tenant may flood it. Windows of at most 100,000 tenants are kept.
 */
export class TenantRate {
  private readonly windows = new LRUCache<string, { start: number; count: number }>({ max: 100_000 });
  private readonly perMinute: number;
  private readonly clock: Clock;

  constructor(perMinute: number, clock: Clock) {
    this.perMinute = perMinute;
    this.clock = clock;
  }

  /**
   * Counts `lookups` (default 1; at most the per-minute limit, so any one call
   * can be allowed) of `tenant`: undefined when allowed (counted), else the
   * seconds until its window ends (nothing counted).
   */
  take(tenant: string, lookups = 1): number | undefined {
    const n = Math.min(Math.max(1, lookups), this.perMinute);
    const now = this.clock.now();
    const w = this.windows.get(tenant);
    if (!w || now - w.start >= 60_000) {
      this.windows.set(tenant, { start: now, count: n });
      return undefined;
    }
    if (w.count + n > this.perMinute) return Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000));
    w.count += n;
    return undefined;
  }
}
