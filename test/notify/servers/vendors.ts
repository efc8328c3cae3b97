import { Jira, type JiraOptions } from './jira.ts';
import { Opsgenie, type OpsgenieOptions } from './opsgenie.ts';
import { PagerDuty, type PagerDutyOptions } from './pagerduty.ts';
import { ServiceNow, type ServiceNowOptions } from './servicenow.ts';
import { Slack, type SlackOptions } from './slack.ts';
import { Teams, type TeamsOptions } from './teams.ts';

export interface Vendors {
  pagerduty: PagerDuty;
  opsgenie: Opsgenie;
  slack: Slack;
  teams: Teams;
  servicenow: ServiceNow;
  jira: Jira;
  /** The test CA every stand-in's certificate chains to (for PROBECTL_NOTIFY_CA_FILE). */
  caPem: string;
  /** Closes every stand-in (all connections included). */
  close(): Promise<void>;
}

export interface VendorsOptions {
  pagerduty?: PagerDutyOptions;
  opsgenie?: OpsgenieOptions;
  slack?: SlackOptions;
  teams?: TeamsOptions;
  servicenow?: ServiceNowOptions;
  jira?: JiraOptions;
}

/**
 * Starts all six vendor stand-ins (see harness.ts); on a start failure the
 * ones already started are closed before the error is rethrown.
 */
export async function startVendors(opts: VendorsOptions = {}): Promise<Vendors> {
  const started: Array<{ close(): Promise<void> }> = [];
  const track = async <T extends { close(): Promise<void> }>(p: Promise<T>): Promise<T> => {
    const v = await p;
    started.push(v);
    return v;
  };
  const closeAll = async () => {
    await Promise.allSettled(started.map((s) => s.close()));
  };
  try {
    const [pagerduty, opsgenie, slack, teams, servicenow, jira] = await Promise.all([
      track(PagerDuty.start(opts.pagerduty)), track(Opsgenie.start(opts.opsgenie)), track(Slack.start(opts.slack)),
      track(Teams.start(opts.teams)), track(ServiceNow.start(opts.servicenow)), track(Jira.start(opts.jira)),
    ]);
    return { pagerduty, opsgenie, slack, teams, servicenow, jira, caPem: pagerduty.server.caPem, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
