import type { Clock } from '../../core/clock.ts';
import type { ConfigurationItem } from '../../incidents/configuration-items.ts';
import type { IncidentStatus, Severity } from '../../incidents/model.ts';

/**
 * The contract of an on-call / ITSM provider (PagerDuty, Opsgenie/JSM, Slack,
 * Teams, ServiceNow, Jira, webhook): one folder per provider under
 * src/notify/providers/<name>/, one line in the provider registry. A
 * provider only builds requests for its vendor and classifies the answers;
 * it never loops, sleeps or retries (the delivery engine's one retry loop
 * does), never logs, and never puts a secret in a message it returns. One
 * bounded exception: Opsgenie/JSM poll Get Request Status for a few seconds
 * after a 202 (opsgenie/status.ts), within the caller's signal.
 */

/** The incident as a connector shows it (built by the notify core from the incident row). */
export interface IncidentView {
  readonly id: string;
  /**
   * Stable key of the incident at every vendor, derived from the incident id
   * (`probectl-<incident id>`): the PagerDuty dedup_key, the Opsgenie alias,
   * the ServiceNow correlation_id, the Jira label, the webhook's key.
   */
  readonly key: string;
  readonly tenant: string;
  readonly title: string;
  readonly severity: Severity;
  readonly status: IncidentStatus;
  readonly target: string;
  readonly kindFamily: string;
  readonly signalCount: number;
  /** RFC 3339. */
  readonly openedAt: string;
  /**
   * The CMDB's configuration items of the incident's target, on an open when
   * CMDB correlation is on and answered within its enrichment deadline
   * (docs/cmdb.md); absent otherwise. Text from the CMDB: untrusted, clipped
   * by each provider.
   */
  readonly cis?: readonly ConfigurationItem[];
  /** Why the CMDB's CIs are missing or only cached ones are shown (rate limited, CMDB unavailable); absent when it answered. */
  readonly cisUnavailable?: string;
}

export type NotifyAction = 'open' | 'update' | 'acknowledge' | 'resolve';

/**
 * What a connector keeps about the incident at the vendor, recorded when the
 * open succeeds: the page's dedup key, the alert's alias, the message's
 * channel and ts, the ticket's sys_id and number, the key.
 */
export interface ExternalRef {
  /** The vendor's id of the object (shown in status; matched by inbound webhooks). */
  readonly id: string;
  /** Whatever else the provider needs for later operations (strings only; never a secret). */
  readonly data?: Readonly<Record<string, string>>;
  /**
   * Other ids the vendor may name the object by in an inbound webhook or a
   * portable `{"external_ref"}` body (the ticket's number beside its sys_id,
   * the numeric id beside its key). Optional; never a secret.
   */
  readonly aliases?: readonly string[];
}

/** One operation on one connector. */
export interface Operation {
  readonly action: NotifyAction;
  readonly incident: IncidentView;
  /** The ref recorded by the open; undefined for an open (and for an update/ack/resolve whose open never succeeded). */
  readonly ref: ExternalRef | undefined;
  /** For `update`: what happened since the last message (coalesced follow-up signals). */
  readonly update?: { readonly signals: number; readonly severityFrom: Severity; readonly severityTo: Severity };
  /** Stable across retries and restarts (the outbox row's id): the webhook's Idempotency-Key, Slack's metadata. */
  readonly idempotencyKey: string;
}

/** An HTTP answer, or a failure below HTTP (reset, refused, timeout, TLS) that the provider classifies. */
export type VendorAnswer =
  | { kind: 'answered'; status: number; headers: Readonly<Record<string, string | string[] | undefined>>; body: Buffer }
  | { kind: 'failed'; reason: string; /** TLS verification failed: needs the operator. */ alarm?: boolean };

/** The hardened HTTPS client a provider calls its vendor through (certificate validation never disabled; PROBECTL_NOTIFY_CA_FILE added). */
export interface VendorHttp {
  request(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: URL, opts: { headers?: Record<string, string>; json?: unknown; body?: Buffer; signal?: AbortSignal | undefined }): Promise<VendorAnswer>;
}

/** One configured connector as its provider sees it. */
export interface ConnectorEndpoint {
  /** The vendor URL with probectl's own options removed (passthrough providers keep the rest of the query). */
  readonly url: URL;
  /** probectl's options from the endpoint's query string, validated by the provider at startup. */
  readonly options: Readonly<Record<string, string>>;
  /** The secret (routing key, GenieKey, bot token, `user:password`, webhook signing secret, Teams `sig`), resolved at use time; undefined when the entry gave none. */
  secret(): Promise<string | undefined>;
  readonly http: VendorHttp;
  readonly clock: Clock;
}

/** What one attempt of an operation came to (classified in exactly one place per provider). */
export type OperationResult =
  /** Done; for an open, the ref to record. */
  | { kind: 'ok'; ref?: ExternalRef | undefined }
  /** 5xx, 429 (with Retry-After), timeouts, resets: retried with backoff. */
  | { kind: 'retryable'; reason: string; retryAfterMs?: number | undefined }
  /** A permanent refusal (400, 404 of a deleted object…): the operation is marked failed (status, metric, audit, `notify failed`). */
  | { kind: 'permanent'; reason: string; status?: number | undefined }
  /** 401/403 or a misconfiguration of the connector: paused with an alarm, retried, nothing skipped. */
  | { kind: 'paused'; reason: string };

/** A status change an inbound webhook asks for, found under the inbound credential's tenant only. */
export interface InboundChange {
  /** The external ref id the vendor names (ticket sys_id or number, issue key, page dedup key, alert alias)… */
  readonly ref?: string | undefined;
  /** …or the incident key (`probectl-<id>`) when the vendor echoes it. */
  readonly incidentKey?: string | undefined;
  readonly status: 'acknowledged' | 'resolved';
}

/** A probectl option of a provider, read from the endpoint's query string. */
export interface OptionSpec {
  readonly name: string;
  /** Shown in docs and in the startup error for a bad value. */
  readonly accepts: string;
  /** Throws a plain Error with a message (never echoing a secret) for a bad value. */
  parse?(value: string): string;
}

export interface NotifyProvider {
  readonly name: 'pagerduty' | 'opsgenie' | 'slack' | 'teams' | 'servicenow' | 'jira' | 'webhook';
  /** The default `min_severity`: warning for pagers, info for chat and tickets. */
  readonly defaultMinSeverity: Severity;
  /** Its probectl options (besides `min_severity`, which every provider takes). */
  readonly options: readonly OptionSpec[];
  /** Whether other query parameters belong to the vendor URL and are passed through (slack, teams, webhook) or refused at startup. */
  readonly passthroughQuery: boolean;
  /**
   * Whether correlated follow-up signals produce coalesced `update`
   * operations (chat threads, tickets, the generic webhook). Pagers set
   * false: a follow-up never re-pages and sends them nothing. Default true.
   */
  readonly updates?: boolean;
  /**
   * A pager (PagerDuty, Opsgenie): an open wakes someone. An open whose
   * incident is already resolved when it can be sent (the vendor was down,
   * or the incident resolved within the drain's delay) is skipped with the
   * reason: nobody is paged for an incident that is over. The resolve after
   * it is still sent, by the incident key (the dedup key / alias): it closes
   * an alert a trigger whose answer was lost may have opened, and is a no-op
   * otherwise. Chat and tickets still get both, for the record. Default false.
   */
  readonly pages?: boolean;
  /**
   * A query parameter of the vendor URL that is itself a credential and may
   * come from the entry's secret instead (Teams Workflows: `sig`). When the
   * endpoint omits it, the notify core sets it from the resolved secret on
   * every request to the endpoint's URL (never on the URL the provider sees,
   * logs or shows). Optional.
   */
  readonly urlSecretParam?: string;
  /** Startup checks of the endpoint and options beyond the common ones; each problem a message (no secret, no query value). */
  validate?(url: URL, options: Readonly<Record<string, string>>, secretGiven: boolean): string[];
  /** The endpoint as logs, errors and status may show it: scheme and host (and a non-secret path at most), never tokens, `sig` or path credentials. */
  display(url: URL): string;
  /** One attempt of an operation. */
  perform(op: Operation, ep: ConnectorEndpoint, signal: AbortSignal | undefined): Promise<OperationResult>;
  /**
   * Before an open: finds the object a previous attempt may already have
   * created (a lost response, a crash before the commit) — ServiceNow by
   * correlation_id, Jira by label, Slack Web API by message metadata in the
   * channel's history. Omitted where the vendor is idempotent by key
   * (PagerDuty, Opsgenie, webhook) or cannot be searched (Slack incoming
   * webhooks, Teams).
   */
  lookup?(incident: IncidentView, ep: ConnectorEndpoint, signal: AbortSignal | undefined): Promise<{ kind: 'found'; ref: ExternalRef } | { kind: 'none' } | Exclude<OperationResult, { kind: 'ok' }>>;
  /**
   * Inbound: the vendor's own signature scheme (Jira `X-Hub-Signature`,
   * PagerDuty `X-PagerDuty-Signature`), checked over the raw body before it is
   * parsed. `absent` when the request carries no such header.
   */
  verifyVendorSignature?(rawBody: Buffer, headers: Readonly<Record<string, string | string[] | undefined>>, secret: string): 'valid' | 'invalid' | 'absent';
  /** Inbound: the vendor's webhook body → the change it asks for, or why it is ignored (answered 2xx). Never throws. */
  parseInbound?(body: unknown): InboundChange | { ignore: string };
}
