import type { Config } from '../../config/load.ts';
import type { RouteDef } from '../route.ts';
import { auditRoutes } from './audit.ts';
import { auditVerifyRoutes } from './audit-verify.ts';
import { healthRoutes } from './health.ts';
import { incidentRoutes } from './incidents.ts';
import { indicatorRoutes } from './indicators.ts';
import { metricsRoutes } from './metrics.ts';
import { secretsHealthRoutes } from './secrets-health.ts';
import { signalRoutes } from './signals.ts';
import { siemRoutes } from './siem.ts';
import { tenantRoutes } from './tenants.ts';
import { tokenRoutes } from './tokens.ts';

/** Every API route, in one list: the server registers it and the access test walks it. */
export function allRoutes(config: Pick<Config, 'metricsPublic'>): RouteDef[] {
  return [
    ...healthRoutes,
    ...metricsRoutes(config.metricsPublic),
    ...tenantRoutes,
    ...tokenRoutes,
    ...auditRoutes,
    ...auditVerifyRoutes,
    ...signalRoutes,
    ...incidentRoutes,
    ...indicatorRoutes,
    ...secretsHealthRoutes,
    ...siemRoutes,
  ];
}
