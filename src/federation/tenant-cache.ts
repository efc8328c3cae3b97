/**
 * Bytes V8 keeps for a string's chars: one per char, two when any char is past U+00FF
 * (the whole string is then two-byte). For cost functions: a count of chars alone lets a
 * sender double what a bound holds with one such char per label value.
 */
export function textBytes(s: string): number {
  return /[^\u0000-\u00ff]/.test(s) ? 2 * s.length : s.length;
}

/** One tenant's entries and what they hold (count, and size in the caller's unit). */
export interface TenantEntries<V, K = string> {
  readonly entries: Map<K, V>;
  size: number;
  held: number;
  /**
   * A number no other tenant's entries share, changed whenever these are emptied: a caller
   * holding on to an entry (remote-write's predicted next label set) knows it is still held
   * while the epoch it saw it under is the current one.
   */
  epoch: number;
  /**
   * The caller's data about these entries in the current epoch (upstream/splice.ts: its
   * label-set marks), dropped whenever the entries are emptied, so that it is held no longer
   * than they are (a tenant emptied by another's adds may never come back).
   */
  attached: unknown;
}

/** The last epoch handed out (TenantEntries.epoch). */
let epochs = 0;

/**
 * A cache of per-tenant entries bounded by count and by an estimated size, shared
 * fairly: when adding would pass a bound, the tenant holding the most — entries
 * for the count bound, size for the size bound — is emptied (the one adding, when
 * that is itself), so a tenant churning through new entries never costs the other
 * tenants theirs. Reads are plain Map lookups (the hot path of remote-write);
 * eviction runs only on a full cache.
 */
export class TenantBoundedCache<V, K = string> {
  private readonly tenants = new Map<string, TenantEntries<V, K>>();
  private size = 0;
  private held = 0;
  private readonly max: number;
  private readonly maxHeld: number;
  private readonly costOf: (key: K, value: V) => number;

  /**
   * `max`: entries in all; `maxHeld`: the sum of `costOf(key, value)` in all (an
   * entry costing more than that is never held).
   */
  constructor(max: number, maxHeld: number, costOf: (key: K, value: V) => number) {
    this.max = max;
    this.maxHeld = maxHeld;
    this.costOf = costOf;
  }

  /** The tenant's entries (created empty). */
  forTenant(tenant: string): TenantEntries<V, K> {
    let t = this.tenants.get(tenant);
    if (!t) {
      t = { entries: new Map(), size: 0, held: 0, epoch: ++epochs, attached: undefined };
      this.tenants.set(tenant, t);
    }
    return t;
  }

  /** Adds or replaces `key` in the tenant's entries, first emptying the largest tenants while a bound would be passed. */
  add(t: TenantEntries<V, K>, key: K, value: V): void {
    const cost = this.costOf(key, value);
    if (cost > this.maxHeld) return;
    const old = t.entries.get(key);
    if (old !== undefined) {
      t.entries.delete(key);
      const was = this.costOf(key, old);
      t.size--;
      t.held -= was;
      this.size--;
      this.held -= was;
    }
    for (;;) {
      // Past the count bound the tenant with the most entries gives way (one tenant's few
      // large entries must not pay for another's churn of small ones); past the size bound,
      // the one holding the most.
      const byCount = this.size >= this.max;
      if (!byCount && this.held + cost <= this.maxHeld) break;
      let biggest = t;
      for (const x of this.tenants.values()) if (byCount ? x.size > biggest.size : x.held > biggest.held) biggest = x;
      if (biggest.size === 0) break;
      this.size -= biggest.size;
      this.held -= biggest.held;
      biggest.entries.clear();
      biggest.size = 0;
      biggest.held = 0;
      biggest.epoch = ++epochs;
      biggest.attached = undefined;
    }
    t.entries.set(key, value);
    t.size++;
    t.held += cost;
    this.size++;
    this.held += cost;
  }

  /** Empties every tenant. */
  clear(): void {
    this.tenants.clear();
    this.size = 0;
    this.held = 0;
  }
}
