import { integration } from '../integrations/types.ts';
import { registerNotifyCommands, registerWebhookCommands } from './commands.ts';
import { notifySettings, notifyVars, type NotifySettings, type NotifyVars } from './config/vars.ts';
import { notifyRoutes } from './routes.ts';
import { startNotify, type NotifyRuntime } from './runtime.ts';

/**
 * On-call and ITSM mirroring (docs/oncall.md): each incident paged, posted
 * and ticketed once on its tenant's connectors through the shared delivery
 * engine, acknowledgement and resolution synced both ways through signed
 * webhooks, never echoed back.
 */
export const notify = integration<NotifySettings, NotifyRuntime>({
  name: 'notify',
  description: 'On-call and ITSM connectors: status, test, failed operations',
  config: {
    title: 'On-call and ITSM connectors',
    vars: notifyVars,
    settings: (values, problems) => notifySettings(values as NotifyVars, problems),
  },
  routes: notifyRoutes,
  commands: registerNotifyCommands,
  rootCommands: registerWebhookCommands,
  async start(settings, deps) {
    const started = await startNotify(settings, deps);
    return {
      runtime: started.runtime,
      incidentListener: started.runtime.listener,
      summary: () => ({
        connectors: settings.connectors.length,
        tenants: new Set(settings.connectors.map((c) => c.tenant)).size,
        providers: [...new Set(settings.connectors.map((c) => c.provider.name))],
        inbound: settings.inbound.length,
      }),
      stop: () => started.stop(),
    };
  },
});
