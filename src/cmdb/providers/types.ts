import type { ConfigurationItem } from '../../incidents/configuration-items.ts';
import type { CmdbKey } from '../keys.ts';

/** The CMDB could not answer (unreachable, timed out, refused, throttled, malformed): served stale or 503, never a core failure. */
export class CmdbUnavailable extends Error {
  /** The CMDB asked to wait (429/503 Retry-After), in ms. */
  readonly retryAfterMs: number | undefined;
  constructor(reason: string, retryAfterMs?: number) {
    super(reason);
    this.name = 'CmdbUnavailable';
    this.retryAfterMs = retryAfterMs;
  }
}

/** A JSON GET on the CMDB with probectl's credential; throws CmdbUnavailable naming scheme and host only. */
export type CmdbGet = (url: URL, signal: AbortSignal) => Promise<unknown>;

/**
 * One CMDB (src/cmdb/providers/<name>.ts): read-only lookups of a validated
 * key. `lookup` makes the provider's documented requests through `get` and
 * maps what they answer; it throws CmdbUnavailable when the CMDB cannot
 * answer, and answers [] when it knows no CI for the key.
 */
export interface CmdbProvider {
  readonly name: 'servicenow' | 'netbox';
  lookup(key: CmdbKey, signal: AbortSignal): Promise<ConfigurationItem[]>;
}
