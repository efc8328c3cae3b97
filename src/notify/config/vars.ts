import type { ConfigProblem, SectionValue } from '../../config/section.ts';
import { caBundleFile, duration, int, type VarSpec } from '../../config/vars.ts';
import type { RetryPolicy } from '../../core/retry/policy.ts';
import { redactRef } from '../../secrets/ref.ts';
import { connectorConfigs, inboundConfigs, type ConnectorConfig, type InboundConfig } from './connectors.ts';
import { parseConnectorEntries, parseInboundEntries, type ConnectorEntry, type InboundEntry, type SecretField } from './entries.ts';

function shownSecret(s: SecretField): string {
  return s.kind === 'ref' ? redactRef(s.ref) : s.kind === 'absent' ? '(none)' : '(invalid)';
}

/** Scheme and host of an endpoint as written, never its path or query (which may hold credentials). */
function shownEndpoint(text: string): string {
  try {
    const u = new URL(text);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(not a URL)';
  }
}

/**
 * A list variable whose entries carry their own problems: parsing never throws
 * (notifySettings reports every bad entry at once), the value is secret (never
 * quoted in an error) and `config check` shows each entry with its endpoint's
 * host and the redacted secret reference only.
 */
function entryList<E>(name: string, opts: { doc: string; accepts: string; parse: (raw: string) => E[]; show: (e: E) => string }): VarSpec<readonly E[]> {
  return {
    name, doc: opts.doc, accepts: opts.accepts, defaultText: undefined, secret: true,
    parse: (raw) => Object.freeze(raw === undefined || raw.trim() === '' ? [] : opts.parse(raw)),
    show: (v) => (v.length === 0 ? '(none)' : v.map(opts.show).join(',')),
  };
}

export const notifyVars = {
  connectors: entryList<ConnectorEntry>('PROBECTL_NOTIFY_CONNECTORS', {
    accepts: 'comma-separated <tenant-uuid>|<provider>|<endpoint>|<secret> (providers: pagerduty, opsgenie, slack, teams, servicenow, jira, webhook)',
    doc: 'On-call and ITSM connectors, each an instance firing only for its tenant: the provider, its https:// endpoint (probectl\'s options such as `min_severity` in the query string, removed before calling the vendor) and its secret (routing key, API key, token, `user:password`, signing secret; everything after the third `|`; may be a secret reference, resolved at use time). See docs/oncall.md.',
    parse: parseConnectorEntries,
    show: (e) => `${e.tenant}|${e.provider}|${shownEndpoint(e.endpoint)}|${shownSecret(e.secret)}`,
  }),
  inbound: entryList<InboundEntry>('PROBECTL_NOTIFY_INBOUND', {
    accepts: 'comma-separated <id>:<tenant-uuid>:<provider>[@<connector>[+<connector>…]]:<secret>',
    doc: 'Inbound webhook credentials: POST /ingest/itsm/<provider>/<id> is accepted when signed with the secret (X-Probectl-Signature), carrying it (X-Probectl-Token) or signed the vendor\'s way (Jira X-Hub-Signature, PagerDuty X-PagerDuty-Signature); the change applies to that tenant only, and only to links of the connectors it names after the provider (`jira@site-b`, by connector_name or id; required when the tenant has two or more connectors of the provider, else its only one). The secret may be a reference. An id listed twice (same tenant and provider) rotates its secret: both are accepted, the later one signs (docs/oncall.md).',
    parse: parseInboundEntries,
    show: (e) => `${e.id}:${e.tenant}:${e.provider}${e.connectors ? `@${e.connectors.join('+')}` : ''}:${shownSecret(e.secret)}`,
  }),
  caFile: caBundleFile('PROBECTL_NOTIFY_CA_FILE', { doc: 'PEM bundle of a private CA trusted for connector endpoints, in addition to the system roots. Validation is never disabled.' }),
  updateInterval: duration('PROBECTL_NOTIFY_UPDATE_INTERVAL', { default: '5m', minMs: 100, maxMs: 86_400_000, doc: 'At most one coalesced update per incident and connector (chat threads, tickets, webhook) per interval, counting the follow-up signals and saying whether severity rose. Pagers never get updates.' }),
  batchSize: int('PROBECTL_NOTIFY_BATCH_SIZE', { default: 50, min: 1, max: 1000, doc: 'Operations of one connector read and delivered together (each is its own vendor request).' }),
  concurrency: int('PROBECTL_NOTIFY_CONCURRENCY', { default: 8, min: 1, max: 64, doc: 'Incidents of one connector whose operations are sent at once (one incident\'s operations always go in order).' }),
  pollInterval: duration('PROBECTL_NOTIFY_POLL_INTERVAL', { default: '1s', minMs: 50, maxMs: 300_000, doc: 'How often drainers look for new operations when no wake-up arrived (an incident change wakes its connectors at once).' }),
  timeout: duration('PROBECTL_NOTIFY_TIMEOUT', { default: '10s', minMs: 100, maxMs: 600_000, doc: 'Deadline of one vendor request; a timeout is retried.' }),
  retryBase: duration('PROBECTL_NOTIFY_RETRY_BASE', { default: '1s', minMs: 10, maxMs: 600_000, doc: 'First retry backoff; doubles per attempt with full jitter.' }),
  retryMax: duration('PROBECTL_NOTIFY_RETRY_MAX', { default: '5m', minMs: 100, maxMs: 3_600_000, doc: 'Longest backoff between retries (5xx, 429, timeouts and connection errors are retried without limit; a Retry-After is honoured).' }),
  bufferOperations: int('PROBECTL_NOTIFY_BUFFER_OPERATIONS', { default: 5000, min: 100, max: 1_000_000, doc: 'Operations read from the outbox and not yet delivered, across every connector of the process (backpressure beyond; nothing is dropped).' }),
  rebalanceInterval: duration('PROBECTL_NOTIFY_REBALANCE_INTERVAL', { default: '10s', minMs: 1000, maxMs: 600_000, doc: 'How often a replica announces itself and re-balances which connectors it drains (each connector is drained by one replica at a time).' }),
};

export type NotifyVars = SectionValue<typeof notifyVars>;

export interface NotifySettings {
  readonly connectors: readonly ConnectorConfig[];
  readonly inbound: readonly InboundConfig[];
  readonly caFile: string | undefined;
  readonly updateIntervalMs: number;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly pollIntervalMs: number;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly bufferOperations: number;
  readonly rebalanceIntervalMs: number;
}

/**
 * Validates the notify variables together: every connector and inbound entry
 * (one problem per fault, by position and provider, never a secret or a query
 * value), the retry bounds. Returns the settings when at least one connector
 * is configured and nothing is wrong; undefined otherwise (on-call mirroring
 * is off until configured). Tenants are checked against the database at start.
 */
export function notifySettings(v: NotifyVars, problems: ConfigProblem[]): NotifySettings | undefined {
  const before = problems.length;
  const push = (variable: string, accepts: string) => (problem: string) => problems.push({ variable, problem, accepts });
  const connectors = connectorConfigs(v.connectors, push('PROBECTL_NOTIFY_CONNECTORS', '<tenant-uuid>|<provider>|https://…[?options]|<secret> (docs/oncall.md)'));
  const connectorsValid = problems.length === before;
  const inbound = inboundConfigs(v.inbound, connectors, connectorsValid, push('PROBECTL_NOTIFY_INBOUND', '<id>:<tenant-uuid>:<provider>[@<connector>[+<connector>…]]:<secret>, the provider having a connector of that tenant (named after "@" when it has two or more)'));
  if (v.retryBase > v.retryMax) problems.push({ variable: 'PROBECTL_NOTIFY_RETRY_BASE', problem: 'larger than PROBECTL_NOTIFY_RETRY_MAX', accepts: 'a base no larger than the maximum' });
  if (problems.length > before || connectors.length === 0) return undefined;
  return {
    connectors, inbound, caFile: v.caFile, updateIntervalMs: v.updateInterval, batchSize: v.batchSize, concurrency: v.concurrency,
    pollIntervalMs: v.pollInterval, timeoutMs: v.timeout,
    retry: { baseMs: v.retryBase, capMs: v.retryMax, maxAttempts: Number.POSITIVE_INFINITY, maxRetryAfterMs: Math.max(v.retryMax, 300_000) },
    bufferOperations: v.bufferOperations, rebalanceIntervalMs: v.rebalanceInterval,
  };
}

