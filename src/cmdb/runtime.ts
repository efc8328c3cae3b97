import { readFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../core/clock.ts';
import { HttpClient } from '../core/http/client.ts';
import type { ConfigurationItem, IncidentEnricher } from '../incidents/configuration-items.ts';
import type { IntegrationStartDeps } from '../integrations/types.ts';
import type { CmdbSettings } from './config.ts';
import { cmdbGet } from './http.ts';
import { CmdbLookup } from './lookup.ts';
import { netboxProvider } from './providers/netbox.ts';
import { serviceNowProvider } from './providers/servicenow.ts';
import { CmdbUnavailable, type CmdbProvider } from './providers/types.ts';
import { TenantRate } from './rate.ts';

/** What the CMDB routes and the enricher use. */
export interface CmdbRuntime {
  readonly settings: CmdbSettings;
  readonly lookup: CmdbLookup;
  readonly rate: TenantRate;
  readonly enricher: IncidentEnricher;
}

/**
 * The Authorization header for the provider's credential, resolved at use
 * time: ServiceNow `user:password` as HTTP Basic, anything else as an OAuth
 * bearer; NetBox v2 tokens (`nbt_…`) as `Bearer`, v1 tokens as `Token`.
 */
export function authorizationFor(provider: CmdbSettings['provider'], secret: string): string {
  if (provider === 'servicenow') return secret.includes(':') ? `Basic ${Buffer.from(secret, 'utf8').toString('base64')}` : `Bearer ${secret}`;
  return secret.startsWith('nbt_') ? `Bearer ${secret}` : `Token ${secret}`;
}

/** After an enrichment found the CMDB slow or down, enrichments only read the cache for this long (ms). */
export const ENRICH_BACKOFF_MS = 30_000;
/** How long an incident's first enrichment covers its other connectors' (and retried opens') enrichments against the rate (ms). */
export const ENRICH_CHARGED_MS = 10 * 60_000;
/** Most targets and CIs of one enrichment. */
const ENRICH_TARGETS = 20;
const ENRICH_ITEMS = 10;

function distinct(items: Iterable<ConfigurationItem>): ConfigurationItem[] {
  const seen = new Map<string, ConfigurationItem>();
  for (const item of items) if (!seen.has(`${item.provider}:${item.id}`)) seen.set(`${item.provider}:${item.id}`, item);
  return [...seen.values()].slice(0, ENRICH_ITEMS);
}

/**
 * The CIs of a new incident's targets for its notification (IncidentEnricher):
 * resolves within `deadlineMs` (PROBECTL_CMDB_ENRICH_TIMEOUT), never rejects.
 * - Each new incident's enrichment counts one lookup against the tenant's
 *   PROBECTL_CMDB_RATE_LIMIT, like an API lookup, however many connectors
 *   page it (each connector's open asks again, within ENRICH_CHARGED_MS of the
 *   first without a second charge); over it, no CI is added and the payload
 *   says "rate limited".
 * - When a lookup misses the deadline or finds the CMDB unavailable, the next
 *   ENRICH_BACKOFF_MS of enrichments ask nothing: they use what is cached
 *   (fresh or stale) at once, marked unavailable, so an incident storm against
 *   a hanging CMDB waits for one deadline, not one per pool slot in turn.
 */
export function enricher(lookup: CmdbLookup, deadlineMs: number, rate: TenantRate, clock: Clock): IncidentEnricher {
  let skipUntil = 0;
  let skipReason = '';
  // Incidents whose enrichment was already counted against their tenant's rate (one per incident, not per connector).
  const charged = new LRUCache<string, true>({ max: 100_000, ttl: ENRICH_CHARGED_MS, ttlResolution: 0, perf: { now: () => clock.now() } });
  const backOff = (reason: string): void => {
    skipUntil = clock.now() + ENRICH_BACKOFF_MS;
    skipReason = reason;
  };
  return {
    async configurationItems(tenant, targets, incident) {
      const wanted = [...new Set(targets)].slice(0, ENRICH_TARGETS);
      const chargeKey = incident === undefined ? undefined : `${tenant}\u0000${incident}`;
      if (chargeKey === undefined || !charged.has(chargeKey)) {
        const wait = rate.take(tenant);
        if (wait !== undefined) return { items: [], unavailable: `rate limited (PROBECTL_CMDB_RATE_LIMIT); CMDB not asked` };
        if (chargeKey !== undefined) charged.set(chargeKey, true);
      }
      if (clock.now() < skipUntil) return { items: distinct(wanted.flatMap((t) => lookup.cached(t))), unavailable: `CMDB unavailable (${skipReason}); cached CIs only` };
      const all = Promise.all(wanted.map((t) => lookup.lookup(t))).catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), deadlineMs);
      });
      try {
        const answers = await Promise.race([all, late]);
        if (answers === 'late') {
          backOff(`no answer within ${deadlineMs} ms`);
          return { items: distinct(wanted.flatMap((t) => lookup.cached(t))), unavailable: `CMDB unavailable (no answer within ${deadlineMs} ms)` };
        }
        if (!answers) return { items: [], unavailable: 'CMDB unavailable' };
        const failed = answers.find((a) => a.state === 'unavailable' || a.state === 'stale');
        if (failed && 'reason' in failed) backOff(failed.reason);
        return { items: distinct(answers.flatMap((a) => a.items)), ...(failed && 'reason' in failed ? { unavailable: `CMDB unavailable (${failed.reason})` } : {}) };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Starts CMDB correlation: one hardened client (PROBECTL_CMDB_CA_FILE added to the roots), the provider, the cache, metrics. */
export function startCmdb(settings: CmdbSettings, deps: Pick<IntegrationStartDeps, 'clock' | 'log' | 'registry' | 'secrets' | 'version'>): { runtime: CmdbRuntime; stop(): Promise<void> } {
  const ca = settings.caFile ? [readFileSync(settings.caFile, 'utf8')] : [];
  const client = new HttpClient({ tls: { ca }, timeoutMs: settings.timeoutMs, connections: settings.connections, maxResponseBytes: 1_048_576 });
  const secret = settings.secret;
  const authorization = async (): Promise<string> => {
    const value = secret ? await deps.secrets.use(secret, (b) => b.toString('utf8')) : '';
    // A resolved reference is checked as startup checks a literal: never a control character into a header.
    if (/[\u0000-\u001f\u007f]/.test(value)) throw new CmdbUnavailable('the resolved PROBECTL_CMDB_SECRET holds a line break or another control character');
    return authorizationFor(settings.provider, value);
  };
  const get = cmdbGet(client, `probectl/${deps.version}`, authorization);
  const provider: CmdbProvider = settings.provider === 'servicenow' ? serviceNowProvider(settings.url, settings.table, get) : netboxProvider(settings.url, get);
  const metrics = cmdbMetrics(deps.registry);
  const lookup = new CmdbLookup({
    provider, clock: deps.clock, ttlMs: settings.cacheTtlMs, negativeTtlMs: settings.negativeTtlMs, max: settings.cacheMax, timeoutMs: settings.timeoutMs,
    onResult: (result) => metrics.lookups.inc({ result }),
    onRequest: (outcome) => metrics.requests.inc({ outcome }),
    onFailure: (reason) => deps.log.warn({ provider: settings.provider, reason }, 'cmdb: lookup failed'),
  });
  const rate = new TenantRate(settings.ratePerMinute, deps.clock);
  return {
    runtime: { settings, lookup, rate, enricher: enricher(lookup, settings.enrichTimeoutMs, rate, deps.clock) },
    stop: () => client.close(),
  };
}

function cmdbMetrics(registry: Registry) {
  const registers = [registry];
  return {
    lookups: new Counter({ name: 'probectl_cmdb_lookups_total', help: 'CMDB lookups by result (hit: fresh cache entry, miss: asked the CMDB, stale: CMDB failed and the last answer was served, unavailable: CMDB failed with nothing cached, not-a-key: not looked up).', labelNames: ['result'] as const, registers }),
    requests: new Counter({ name: 'probectl_cmdb_requests_total', help: 'Lookups sent to the CMDB (one per key however many callers asked at once) by outcome.', labelNames: ['outcome'] as const, registers }),
  };
}
