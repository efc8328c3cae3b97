import { readFileSync } from 'node:fs';
import { Counter, type Registry } from 'prom-client';
import { HttpClient } from '../core/http/client.ts';
import type { ConfigurationItem, IncidentEnricher } from '../incidents/configuration-items.ts';
import type { IntegrationStartDeps } from '../integrations/types.ts';
import type { CmdbSettings } from './config.ts';
import { cmdbGet } from './http.ts';
import { CmdbLookup } from './lookup.ts';
import { netboxProvider } from './providers/netbox.ts';
import { serviceNowProvider } from './providers/servicenow.ts';
import type { CmdbProvider } from './providers/types.ts';
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

/** The CIs of several targets within `deadlineMs`, deduplicated by id: what the CMDB answered in time (stale included), [] otherwise. */
export function enricher(lookup: CmdbLookup, deadlineMs: number): IncidentEnricher {
  return {
    async configurationItems(_tenant, targets) {
      const all = Promise.all([...new Set(targets)].slice(0, 20).map((t) => lookup.lookup(t))).catch(() => []);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), deadlineMs);
      });
      try {
        const answers = await Promise.race([all, late]);
        if (!answers) return [];
        const seen = new Map<string, ConfigurationItem>();
        for (const a of answers) for (const item of a.items) if (!seen.has(`${item.provider}:${item.id}`)) seen.set(`${item.provider}:${item.id}`, item);
        return [...seen.values()].slice(0, 10);
      } catch {
        return [];
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Starts CMDB correlation: one hardened client (PROBECTL_CMDB_CA_FILE added to the roots), the provider, the cache, metrics. */
export function startCmdb(settings: CmdbSettings, deps: Pick<IntegrationStartDeps, 'clock' | 'registry' | 'secrets' | 'version'>): { runtime: CmdbRuntime; stop(): Promise<void> } {
  const ca = settings.caFile ? [readFileSync(settings.caFile, 'utf8')] : [];
  const client = new HttpClient({ tls: { ca }, timeoutMs: settings.timeoutMs, connections: settings.connections, maxResponseBytes: 1_048_576 });
  const secret = settings.secret;
  const authorization = async (): Promise<string> => authorizationFor(settings.provider, secret ? await deps.secrets.use(secret, (b) => b.toString('utf8')) : '');
  const get = cmdbGet(client, `probectl/${deps.version}`, authorization);
  const provider: CmdbProvider = settings.provider === 'servicenow' ? serviceNowProvider(settings.url, settings.table, get) : netboxProvider(settings.url, get);
  const metrics = cmdbMetrics(deps.registry);
  const lookup = new CmdbLookup({
    provider, clock: deps.clock, ttlMs: settings.cacheTtlMs, negativeTtlMs: settings.negativeTtlMs, max: settings.cacheMax, timeoutMs: settings.timeoutMs,
    onResult: (result) => metrics.lookups.inc({ result }),
    onRequest: (outcome) => metrics.requests.inc({ outcome }),
  });
  return {
    runtime: { settings, lookup, rate: new TenantRate(settings.ratePerMinute, deps.clock), enricher: enricher(lookup, settings.enrichTimeoutMs) },
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
