/**
 * Lets an event through once per key per interval and counts the ones held
 * back in between (reported with the next one let through). The map is
 * bounded: past `maxKeys` it starts over rather than grow without limit.
 */
export class OncePerInterval {
  private readonly seen = new Map<string, { at: number; skipped: number }>();
  private readonly intervalMs: number;
  private readonly maxKeys: number;

  constructor(intervalMs: number, maxKeys = 10_000) {
    this.intervalMs = intervalMs;
    this.maxKeys = maxKeys;
  }

  /** Whether `key` is due at `now`; when due, how many were held back since the last one let through. */
  check(key: string, now: number): { due: true; skipped: number } | { due: false } {
    const entry = this.seen.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.skipped += 1;
      return { due: false };
    }
    if (!entry && this.seen.size >= this.maxKeys) this.seen.clear();
    this.seen.set(key, { at: now, skipped: 0 });
    return { due: true, skipped: entry?.skipped ?? 0 };
  }
}
