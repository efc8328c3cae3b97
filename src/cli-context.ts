/** The composition root of the CLI: what the command tree gets in this build. */
import type { CliContext } from './cli/context.ts';
import { INTEGRATIONS } from './integrations/registry.ts';
import { newKeyFile } from './secrets/encryption-key.ts';
import { buildSecretResolver } from './secrets/setup.ts';
import { checkReferences, formatChecks } from './secrets/startup.ts';
import { migrateDatabase, openInProcessApp, startService } from './service.ts';
import { configReferences, loadConfig, renderEffectiveConfig, type Config } from './settings.ts';

/** The CLI's context in this build: the real configuration, server, in-process app and integrations. */
export const probectlContext: CliContext<Config> = {
  loadConfig: (env) => loadConfig(env),
  renderEffectiveConfig,
  async startServer(config) {
    const service = await startService(config);
    return { log: service.deps.log, closeAllConnections: () => service.app.server.closeAllConnections(), close: () => service.close() };
  },
  openInProcessApp: (config) => openInProcessApp(config),
  migrate: (config) => migrateDatabase(config),
  newEncryptionKey: (config) => newKeyFile(config),
  async checkSecrets(config) {
    const refs = configReferences(config);
    if (refs.length === 0) return { lines: [], failed: 0, total: 0 };
    const resolver = buildSecretResolver(config);
    try {
      const results = await checkReferences(resolver, refs);
      return { lines: formatChecks(results), failed: results.filter((r) => !r.ok).length, total: results.length };
    } finally {
      await resolver.close();
    }
  },
  integrations: INTEGRATIONS,
  env: process.env,
};
