import { LRUCache } from 'lru-cache';

/**
 * Lets an event through once per key per interval and counts the ones held
 * back in between (reported with the next one let through). Keys are kept in
 * an LRU cache of at most `maxKeys` (the least recently seen key goes first),
 * so memory stays bounded without forgetting the busy keys.
 */
export class OncePerInterval {
  private readonly seen: LRUCache<string, { at: number; skipped: number }>;
  private readonly intervalMs: number;

  constructor(intervalMs: number, maxKeys = 10_000) {
    this.intervalMs = intervalMs;
    this.seen = new LRUCache({ max: maxKeys });
  }

  /** Whether `key` is due at `now` (ms); when due, how many were held back since the last one let through. */
  check(key: string, now: number): { due: true; skipped: number } | { due: false } {
    const entry = this.seen.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.skipped += 1;
      return { due: false };
    }
    this.seen.set(key, { at: now, skipped: 0 });
    return { due: true, skipped: entry?.skipped ?? 0 };
  }
}
