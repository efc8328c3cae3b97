import { LRUCache } from 'lru-cache';
import type { Clock } from '../core/clock.ts';
import type { CiAnswer, ConfigurationItem } from '../incidents/configuration-items.ts';
import { cmdbKey, type CmdbKey } from './keys.ts';
import { CmdbUnavailable, type CmdbProvider } from './providers/types.ts';

interface Entry {
  readonly items: readonly ConfigurationItem[];
  /** When the CMDB answered (clock ms). */
  readonly fetchedAt: number;
}

export interface CmdbLookupOptions {
  provider: CmdbProvider;
  clock: Clock;
  /** Use a positive answer this long (PROBECTL_CMDB_CACHE_TTL). */
  ttlMs: number;
  /** Use an answer with no CI this long (PROBECTL_CMDB_NEGATIVE_TTL). */
  negativeTtlMs: number;
  /** Most keys cached (PROBECTL_CMDB_CACHE_MAX). */
  max: number;
  /** Deadline of one lookup, all its requests (PROBECTL_CMDB_TIMEOUT). */
  timeoutMs: number;
  /** Told of each lookup's result and each request to the CMDB (metrics). */
  onResult?: (result: 'hit' | 'miss' | 'stale' | 'unavailable' | 'not-a-key') => void;
  onRequest?: (outcome: 'ok' | 'failed') => void;
  /** Told why a request to the CMDB failed (a CmdbUnavailable message: scheme, host, status; never a credential). */
  onFailure?: (reason: string) => void;
}

/**
 * CMDB lookups through a bounded LRU cache with TTL (lru-cache): a fresh
 * entry answers without a request; concurrent lookups of one key while it is
 * being fetched share that one request (lru-cache's fetch coalesces them);
 * answers with no CI are cached for the shorter negative TTL. When the CMDB
 * fails or times out, an expired entry is kept and served marked `stale`;
 * with no entry the answer is `unavailable` (the lookup route's 503). When it
 * answers 429 or 503 with Retry-After (capped at 10 minutes, http.ts), no
 * key is asked about before then: lookups answer stale or unavailable. Only
 * valid keys (keys.ts) ever reach the CMDB; anything else answers
 * `not-a-key` without a request.
 */
export class CmdbLookup {
  private readonly cache: LRUCache<string, Entry, CmdbKey>;
  private readonly opts: CmdbLookupOptions;
  /** The CMDB asked to wait (429/503 Retry-After): until then (clock ms) no request is made, failing with `waitReason`. */
  private waitUntil = 0;
  private waitReason = '';

  constructor(opts: CmdbLookupOptions) {
    this.opts = opts;
    this.cache = new LRUCache<string, Entry, CmdbKey>({
      max: opts.max,
      ttl: opts.ttlMs,
      ttlResolution: 0,
      perf: { now: () => opts.clock.now() },
      // A failing CMDB: keep the expired entry and serve it (marked stale below).
      allowStaleOnFetchRejection: true,
      noDeleteOnFetchRejection: true,
      // An in-flight fetch evicted by LRU pressure (other keys filling the cache) goes on and still answers its
      // waiting lookups: only PROBECTL_CMDB_TIMEOUT ends a request, never lru-cache's abort signal (and
      // allowStaleOnFetchAbort stays off: it would answer the waiting lookups at once with nothing).
      ignoreFetchAbort: true,
      fetchMethod: async (_key, _stale, { options, context }) => {
        // A throttling CMDB is not asked again before its Retry-After: every key would otherwise send one more request.
        if (opts.clock.now() < this.waitUntil) throw new CmdbUnavailable(`${this.waitReason}; not asked again before its Retry-After (${Math.ceil((this.waitUntil - opts.clock.now()) / 1000)} s)`);
        const deadline = AbortSignal.timeout(opts.timeoutMs);
        try {
          const items = await opts.provider.lookup(context, deadline);
          opts.onRequest?.('ok');
          if (items.length === 0) options.ttl = opts.negativeTtlMs;
          return { items, fetchedAt: opts.clock.now() };
        } catch (err) {
          opts.onRequest?.('failed');
          const failure = deadline.aborted ? new CmdbUnavailable(`the CMDB gave no answer within ${opts.timeoutMs} ms`) : err;
          if (failure instanceof CmdbUnavailable && failure.retryAfterMs !== undefined && failure.retryAfterMs > 0) {
            this.waitUntil = Math.max(this.waitUntil, opts.clock.now() + failure.retryAfterMs);
            this.waitReason = failure.message;
          }
          opts.onFailure?.(failure instanceof CmdbUnavailable ? failure.message : `unexpected ${(failure as Error).name ?? 'error'}`);
          throw failure;
        }
      },
    });
  }

  /**
   * The CIs of one target (an IP, host name, FQDN or URL; keys.ts). Never
   * rejects for a CMDB failure: `unavailable` or `stale` say so.
   */
  async lookup(target: string): Promise<CiAnswer & { key?: CmdbKey }> {
    const key = cmdbKey(target);
    if (!key) {
      this.opts.onResult?.('not-a-key');
      return { state: 'not-a-key', items: [], reason: 'not an IP address, host name or URL: not looked up' };
    }
    const status: LRUCache.Status<string, Entry, CmdbKey> = {};
    try {
      const entry = await this.cache.fetch(`${key.kind}:${key.value}`, { context: key, status });
      // Nothing cached and the fetch failed: lru-cache answers undefined and keeps the reason in status.fetchError.
      if (!entry) throw status.fetchError instanceof CmdbUnavailable ? status.fetchError : new CmdbUnavailable(`the CMDB gave no answer${status.fetchError instanceof Error ? ` (${status.fetchError.name})` : ''}`);
      if (status.returnedStale) {
        this.opts.onResult?.('stale');
        const reason = status.fetchError instanceof CmdbUnavailable ? status.fetchError.message : 'the CMDB failed';
        return { key, state: 'stale', items: entry.items, fetched_at: new Date(entry.fetchedAt).toISOString(), reason };
      }
      this.opts.onResult?.(status.fetch === 'hit' ? 'hit' : 'miss');
      return { key, state: 'ok', items: entry.items };
    } catch (err) {
      if (!(err instanceof CmdbUnavailable)) throw err;
      this.opts.onResult?.('unavailable');
      return { key, state: 'unavailable', items: [], reason: err.message };
    }
  }

  /** The CIs cached for a target (fresh or stale), without asking the CMDB; [] when nothing is cached or it is not a key. */
  cached(target: string): readonly ConfigurationItem[] {
    const key = cmdbKey(target);
    return key ? (this.cache.peek(`${key.kind}:${key.value}`, { allowStale: true })?.items ?? []) : [];
  }

  /** Keys held (fresh or stale). */
  get size(): number {
    return this.cache.size;
  }
}
