import { jira } from './jira/index.ts';
import { opsgenie } from './opsgenie/index.ts';
import { pagerduty } from './pagerduty/index.ts';
import { servicenow } from './servicenow/index.ts';
import { slack } from './slack/index.ts';
import { teams } from './teams/index.ts';
import type { NotifyProvider } from './types.ts';
import { webhook } from './webhook/index.ts';

/**
 * Every on-call / ITSM provider, one line each (a provider is its folder
 * here plus its line). The configuration (PROBECTL_NOTIFY_CONNECTORS), the
 * delivery sink and the inbound route find providers only through this list.
 */
export const NOTIFY_PROVIDERS: readonly NotifyProvider[] = [
  pagerduty,
  opsgenie,
  slack,
  teams,
  servicenow,
  jira,
  webhook,
];

export function providerNamed(name: string): NotifyProvider | undefined {
  return NOTIFY_PROVIDERS.find((p) => p.name === name);
}
