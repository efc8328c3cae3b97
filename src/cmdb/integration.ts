import { integration } from '../integrations/types.ts';
import { registerCmdbCommands } from './commands.ts';
import { formatDuration } from '../core/duration.ts';
import { cmdbSettings, cmdbVars, type CmdbSettings, type CmdbVars } from './config.ts';
import { cmdbRoutes } from './routes.ts';
import { startCmdb, type CmdbRuntime } from './runtime.ts';

/**
 * CMDB correlation (docs/cmdb.md): read-only lookups of configuration items
 * in ServiceNow or NetBox for incidents, agents and connector payloads,
 * cached and coalesced; a down CMDB serves stale answers and never breaks a
 * core flow. Off until PROBECTL_CMDB_PROVIDER is set.
 */
export const cmdb = integration<CmdbSettings, CmdbRuntime>({
  name: 'cmdb',
  description: 'CMDB correlation: lookup <key> shows the configuration items of an IP address, host name, FQDN or URL (an incident\'s and an agent\'s are in the API: GET /v1/incidents/{id}/cis, GET /v1/agents/{id}/ci)',
  config: {
    title: 'CMDB correlation (ServiceNow, NetBox)',
    vars: cmdbVars,
    settings: (values, problems) => cmdbSettings(values as CmdbVars, problems),
    // Defaults that follow a shorter PROBECTL_CMDB_CACHE_TTL / PROBECTL_CMDB_TIMEOUT (cmdbSettings).
    effective(values): Record<string, string> {
      const on = cmdbSettings(values as CmdbVars, []);
      return on ? { PROBECTL_CMDB_NEGATIVE_TTL: formatDuration(on.negativeTtlMs), PROBECTL_CMDB_ENRICH_TIMEOUT: formatDuration(on.enrichTimeoutMs) } : {};
    },
  },
  routes: cmdbRoutes,
  commands: registerCmdbCommands,
  async start(settings, deps) {
    const started = startCmdb(settings, deps);
    return {
      runtime: started.runtime,
      incidentEnricher: started.runtime.enricher,
      summary: () => ({ provider: settings.provider, url: settings.url.origin, cache_ttl_ms: settings.cacheTtlMs, cache_max: settings.cacheMax }),
      stop: () => started.stop(),
    };
  },
});
