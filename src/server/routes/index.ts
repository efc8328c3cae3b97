import type { RouteDef as GenericRouteDef } from '../../integrations/route.ts';
import { INTEGRATIONS } from '../../integrations/registry.ts';
import type { IntegrationRouteDeps } from '../../integrations/types.ts';
import type { AppDeps } from '../deps.ts';
import type { RouteDef } from '../route.ts';
import { agentRoutes } from './agents.ts';
import { auditRoutes } from './audit.ts';
import { auditVerifyRoutes } from './audit-verify.ts';
import { healthRoutes } from './health.ts';
import { incidentRoutes } from './incidents.ts';
import { indicatorRoutes } from './indicators.ts';
import { integrationRoutes } from './integrations.ts';
import { keyRoutes } from './keys.ts';
import { metricsRoutes } from './metrics.ts';
import { secretsHealthRoutes } from './secrets-health.ts';
import { signalRoutes } from './signals.ts';
import { tenantRoutes } from './tenants.ts';
import { tokenRoutes } from './tokens.ts';

/** The core API routes (the server's own). */
export function coreRoutes(config: { metricsPublic: boolean }): RouteDef[] {
  return [
    ...healthRoutes,
    ...metricsRoutes(config.metricsPublic),
    ...tenantRoutes,
    ...tokenRoutes,
    ...auditRoutes,
    ...auditVerifyRoutes,
    ...signalRoutes,
    ...incidentRoutes,
    ...agentRoutes,
    ...indicatorRoutes,
    ...secretsHealthRoutes,
    ...keyRoutes,
    ...integrationRoutes,
  ];
}

/** A route with how to give its handler its dependencies: the server's own, or its integration's. */
export interface MountedRoute {
  def: GenericRouteDef<unknown>;
  deps(app: AppDeps): unknown;
}

/** What an integration's routes get: the shared services and the integration's own runtime (undefined while it is off). */
export function integrationDeps(app: AppDeps, name: string): IntegrationRouteDeps<unknown> {
  return {
    db: app.db, clock: app.clock, log: app.log, secrets: app.secrets, providerTenantId: app.providerTenantId,
    runtime: app.integrations.get(name)?.runtime, incidentListeners: app.ingest.listeners ?? [], sensitiveReads: app.sensitiveReads,
  };
}

/** Every API route with its dependencies: the core routes, then each registered integration's. */
export function mountedRoutes(config: { metricsPublic: boolean }): MountedRoute[] {
  return [
    ...coreRoutes(config).map((def) => ({ def: def as GenericRouteDef<unknown>, deps: (app: AppDeps) => app })),
    ...INTEGRATIONS.flatMap((i) => i.routes.map((def) => ({ def: def as GenericRouteDef<unknown>, deps: (app: AppDeps) => integrationDeps(app, i.name) }))),
  ];
}

/** Every API route, in one list: the access and input tests walk it. */
export function allRoutes(config: { metricsPublic: boolean }): GenericRouteDef<unknown>[] {
  return mountedRoutes(config).map((r) => r.def);
}
