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
    // The format the preset and endpoint choose while PROBECTL_SIEM_FORMAT is unset (export on or off).
    effective(values): Record<string, string> {
      // Judged as if export were on, with a stand-in token where a preset needs one (only the format is read).
      const v = values as SiemVars;
      const chosen = siemSettings({ ...v, enabled: true, token: v.token ?? { scheme: 'literal', value: 'unset' } }, []);
      return chosen ? { PROBECTL_SIEM_FORMAT: chosen.format } : {};
    },
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
