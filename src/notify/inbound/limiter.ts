/**
 * Rate limit for audit records of refused inbound deliveries, per source
 * address, as failed logins are limited: at most `perMinute` records a
 * minute; the ones held back are counted into the next record, so nothing
 * vanishes silently. Bounded: past 10,000 sources it starts over.
 */
export class FailureAuditLimiter {
  private readonly windows = new Map<string, { start: number; recorded: number; suppressed: number }>();
  private readonly perMinute: number;

  constructor(perMinute: number) {
    this.perMinute = perMinute;
  }

  /** Whether a record for `source` is due now; when due, how many were held back before it. */
  admit(source: string, now: number): { due: true; suppressed: number } | { due: false } {
    let w = this.windows.get(source);
    if (!w || now - w.start >= 60_000) {
      if (!w && this.windows.size >= 10_000) this.windows.clear();
      w = { start: now, recorded: 0, suppressed: w?.suppressed ?? 0 };
      this.windows.set(source, w);
    }
    if (w.recorded >= this.perMinute) {
      w.suppressed += 1;
      return { due: false };
    }
    w.recorded += 1;
    const suppressed = w.suppressed;
    w.suppressed = 0;
    return { due: true, suppressed };
  }
}
