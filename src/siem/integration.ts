import { integration } from '../integrations/types.ts';
import { registerSiemCommands } from './commands.ts';
import { endpointHost, siemSettings, siemVars, type SiemSettings, type SiemVars } from './config.ts';
import { siemRoutes } from './routes.ts';
import { buildTarget } from './targets/build.ts';
import { siemFormatOptions, siemRuntime, startSiemExport, tokenResolver, type SiemRuntime } from './runtime.ts';

/**
 * SIEM export (docs/siem.md): the audit chain and threat signals of every
 * tenant to the operator's SIEM through the shared delivery engine.
 */
export const siem = integration<SiemSettings, SiemRuntime>({
  name: 'siem',
  description: 'SIEM export: preview, status, parked events, replay',
  config: {
    title: 'SIEM export',
    vars: siemVars,
    settings: (values, problems) => siemSettings(values as SiemVars, problems),
  },
  routes: siemRoutes,
  commands: registerSiemCommands,
  async start(settings, deps) {
    if (!deps.background) {
      // A runtime for operations only (the CLI without a server): the same target, no drainers.
      const target = buildTarget(settings, siemFormatOptions(settings, deps.version), tokenResolver(deps.secrets));
      return { runtime: siemRuntime(settings, target), summary: () => ({}), stop: () => target.close() };
    }
    const exporter = await startSiemExport(settings, {
      db: deps.db, clock: deps.clock, log: deps.log, registry: deps.registry, secrets: deps.secrets, version: deps.version, reloadIntervalMs: deps.tlsReloadIntervalMs,
    });
    return {
      runtime: exporter.runtime,
      summary: () => ({ endpoint: endpointHost(settings.endpoint), preset: settings.preset, format: settings.format, streams: settings.streams }),
      stop: () => exporter.stop(),
    };
  },
});
