import { cmdb } from '../cmdb/integration.ts';
import { notify } from '../notify/integration.ts';
import { metrics } from '../federation/integration.ts';
import { siem } from '../siem/integration.ts';
import type { Integration } from './types.ts';

/**
 * Every integration, one line each. The configuration loader, the server
 * (routes, background work, GET /v1/integrations), the CLI (`probectl
 * <name> …`) and docs/configuration.md loop over this list.
 */
export const INTEGRATIONS: readonly Integration[] = [
  siem,
  notify,
  metrics,
  cmdb,
];

/** An integration by name. */
export function integrationNamed(name: string): Integration | undefined {
  return INTEGRATIONS.find((i) => i.name === name);
}
