/**
 * PagerDuty stand-in: Events API v2 (`POST /v2/enqueue`) and v3 webhook
 * deliveries (outbound, signed).
 *
 * Followed (PagerDuty/developer-docs and PagerDuty/api-schema, fetched 2026-08):
 * - docs/events-API-v2/01-Overview.md — 202 Accepted, 400 invalid (no retry),
 *   429 and 5xx (retry), 512 KB event limit
 *   (https://developer.pagerduty.com/docs/events-api-v2/overview/);
 * - docs/events-API-v2/02-Trigger-Events.md — routing_key (32 characters),
 *   event_action trigger/acknowledge/resolve, dedup_key ≤ 255, payload.summary
 *   ≤ 1024, payload.source, payload.severity critical/error/warning/info,
 *   custom_details, images (src https) and links (href); de-duplication: events
 *   apply to the open alert with the same dedup_key *and routing_key*; once
 *   resolved a trigger opens a new alert, acknowledge/resolve without an open
 *   alert are dropped (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/);
 * - reference/events-v2/openapiv3.json — 202 `{status, message, dedup_key}`;
 *   error `{status, message, errors[]}`; dedup_key "Required unless the
 *   event_type is trigger";
 * - observed 400 bodies: `{"status":"invalid event","message":"Event object is
 *   invalid","errors":["Length of 'routing_key' is incorrect (should be 32
 *   characters)"]}` (docs example) and "Invalid routing key" for an unknown key
 *   (robusta-dev/robusta#571); the wording of the other `errors[]` entries is
 *   this stand-in's own, in the same style;
 * - docs/webhooks/01-Overview.md, 02-Behavior.md, 04-Signatures.md — v3 event
 *   envelope `{event:{id, event_type, resource_type, occurred_at, agent, client,
 *   data}}`, incident data with `incident_key`, `X-Webhook-Id`, and
 *   `X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body>`, one
 *   signature per active secret, comma-separated during rotation
 *   (https://developer.pagerduty.com/docs/verifying-signatures).
 */
import { randomUUID } from 'node:crypto';
import { deliver, hex, hmacSha256Hex, isRecord, jsonBody, StandIn, type DeliverOptions, type Delivery, type VendorReply, type VendorRequest } from './harness.ts';

export type PdSeverity = 'critical' | 'error' | 'warning' | 'info';
export type PdStatus = 'triggered' | 'acknowledged' | 'resolved';

export interface PdEvent {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key: string;
  payload?: Record<string, unknown>;
  /** What the event did: opened an alert, applied to the open one, or was dropped. */
  outcome: 'opened' | 'applied' | 'dropped';
}

/** One alert (and its incident) as PagerDuty keeps it. */
export interface PdIncident {
  /** PagerDuty's incident id (e.g. PABC123), also used in webhooks. */
  id: string;
  number: number;
  routingKey: string;
  dedupKey: string;
  status: PdStatus;
  /** Trigger events applied to this alert (the first one included). */
  triggers: number;
  summary: string;
  source: string;
  severity: PdSeverity;
  customDetails: unknown;
  createdAt: string;
  history: Array<{ action: PdEvent['event_action']; at: string; via: 'api' | 'ui' }>;
}

export interface PagerDutyOptions {
  /** Valid integration (routing) keys; default one random 32-character key. */
  routingKeys?: string[];
}

const SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);
const ACTIONS = new Set(['trigger', 'acknowledge', 'resolve']);
const MAX_EVENT_BYTES = 512 * 1024;

function invalid(errors: string[]): VendorReply {
  return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } };
}

export class PagerDuty {
  readonly server: StandIn;
  readonly routingKeys: string[];
  /** Every alert opened, in order (a re-trigger after resolve opens a new one). */
  readonly incidents: PdIncident[] = [];
  /** Every accepted event, in order. */
  readonly events: PdEvent[] = [];
  private nextNumber = 1;

  private constructor(server: StandIn, routingKeys: string[]) {
    this.server = server;
    this.routingKeys = routingKeys;
  }

  static async start(opts: PagerDutyOptions = {}): Promise<PagerDuty> {
    const keys = opts.routingKeys ?? [hex(16)];
    let pd: PagerDuty | undefined;
    const server = await StandIn.start({
      name: 'pagerduty',
      handle: (req) => pd!.handle(req),
      errorReply: (status) => status === 429
        ? { status, body: '' }
        : { status, body: { status: 'error', message: 'Internal server error' } },
    });
    pd = new PagerDuty(server, keys);
    return pd;
  }

  get url(): string {
    return this.server.url;
  }
  /** The Events API endpoint, as configured in probectl. */
  get enqueueUrl(): string {
    return `${this.server.url}/v2/enqueue`;
  }
  get routingKey(): string {
    return this.routingKeys[0] as string;
  }
  close(): Promise<void> {
    return this.server.close();
  }

  /** The latest alert for a dedup key (any status). */
  incident(dedupKey: string, routingKey?: string): PdIncident | undefined {
    return this.incidents.findLast((i) => i.dedupKey === dedupKey && (routingKey === undefined || i.routingKey === routingKey));
  }

  /** Trigger events applied to all alerts of a dedup key. */
  triggers(dedupKey: string): number {
    return this.incidents.filter((i) => i.dedupKey === dedupKey).reduce((n, i) => n + i.triggers, 0);
  }

  private open(dedupKey: string, routingKey: string): PdIncident | undefined {
    return this.incidents.find((i) => i.dedupKey === dedupKey && i.routingKey === routingKey && i.status !== 'resolved');
  }

  private handle(req: VendorRequest): VendorReply {
    if (req.path !== '/v2/enqueue') return { status: 404, body: { status: 'Not Found', message: 'Not Found' } };
    if (req.method !== 'POST') return { status: 405, body: { status: 'Method Not Allowed', message: 'Method Not Allowed' } };
    if (req.raw.length > MAX_EVENT_BYTES) return invalid(['Event object is too large (should be at most 512 KB)']);
    const body = req.contentType === 'application/json' ? jsonBody(req) : undefined;
    if (!isRecord(body)) return { status: 400, body: { status: 'Unrecognized object', message: 'Event object format is unrecognized', errors: ['JSON parse error'] } };

    const errors: string[] = [];
    const rk = body.routing_key;
    if (typeof rk !== 'string' || rk === '') errors.push("'routing_key' is missing or blank");
    else {
      if (rk.length !== 32) errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
      if (!/^[A-Za-z0-9]*$/.test(rk)) errors.push("'routing_key' cannot contain non-alphanumeric characters.");
    }
    const action = body.event_action;
    if (typeof action !== 'string' || !ACTIONS.has(action)) errors.push("'event_action' is missing or invalid (must be one of trigger, acknowledge, resolve)");
    const dk = body.dedup_key;
    if (dk !== undefined && (typeof dk !== 'string' || dk === '')) errors.push("'dedup_key' must be a non-empty string");
    if (typeof dk === 'string' && dk.length > 255) errors.push("Length of 'dedup_key' is too long (should be at most 255 characters)");
    if ((action === 'acknowledge' || action === 'resolve') && dk === undefined) errors.push("'dedup_key' is required for acknowledge and resolve events");
    if (action === 'trigger') errors.push(...checkPayload(body.payload));
    errors.push(...checkContext(body.images, 'images', 'src'), ...checkContext(body.links, 'links', 'href'));
    if (body.client !== undefined && typeof body.client !== 'string') errors.push("'client' must be a string");
    if (body.client_url !== undefined && (typeof body.client_url !== 'string' || !isUrl(body.client_url))) errors.push("'client_url' must be a URL");
    if (errors.length > 0) return invalid(errors);
    if (!this.routingKeys.includes(rk as string)) return invalid(['Invalid routing key']);

    const routingKey = rk as string;
    const dedupKey = (dk as string | undefined) ?? randomUUID().replace(/-/g, '');
    const act = action as PdEvent['event_action'];
    const at = new Date().toISOString();
    let outcome: PdEvent['outcome'];
    const current = this.open(dedupKey, routingKey);
    if (act === 'trigger') {
      const p = body.payload as Record<string, unknown>;
      if (current) {
        current.triggers++;
        current.history.push({ action: act, at, via: 'api' });
        outcome = 'applied';
      } else {
        this.incidents.push({
          id: `P${hex(3).toUpperCase()}`, number: this.nextNumber++, routingKey, dedupKey, status: 'triggered', triggers: 1,
          summary: p.summary as string, source: p.source as string, severity: p.severity as PdSeverity,
          customDetails: p.custom_details, createdAt: at, history: [{ action: act, at, via: 'api' }],
        });
        outcome = 'opened';
      }
    } else if (current) {
      current.status = act === 'acknowledge' ? (current.status === 'triggered' ? 'acknowledged' : current.status) : 'resolved';
      current.history.push({ action: act, at, via: 'api' });
      outcome = 'applied';
    } else {
      outcome = 'dropped';
    }
    this.events.push({ routing_key: routingKey, event_action: act, dedup_key: dedupKey, ...(isRecord(body.payload) ? { payload: body.payload } : {}), outcome });
    return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: dedupKey } };
  }

  /**
   * A responder acknowledges or resolves in PagerDuty's UI: the alert changes
   * and a v3 webhook (`incident.acknowledged` / `incident.resolved`) is POSTed
   * to `target`, signed with every secret in `secrets` (rotation). Returns the
   * receiver's answer.
   */
  async emitWebhook(target: string, opts: { dedupKey: string; action: 'acknowledge' | 'resolve'; secrets: string[] } & DeliverOptions): Promise<Delivery> {
    const inc = this.incident(opts.dedupKey);
    if (!inc) throw new Error(`pagerduty stand-in: no alert with dedup key ${opts.dedupKey}`);
    inc.status = opts.action === 'acknowledge' ? 'acknowledged' : 'resolved';
    inc.history.push({ action: opts.action, at: new Date().toISOString(), via: 'ui' });
    const body = JSON.stringify(pagerDutyWebhookEnvelope(inc, opts.action === 'acknowledge' ? 'incident.acknowledged' : 'incident.resolved'));
    return deliver(target, body, pagerDutyWebhookHeaders(body, opts.secrets), opts);
  }
}

function isUrl(v: string): boolean {
  try {
    new URL(v);
    return true;
  } catch {
    return false;
  }
}

function checkPayload(p: unknown): string[] {
  if (!isRecord(p)) return ["'payload' is missing or is not an object"];
  const e: string[] = [];
  if (typeof p.summary !== 'string' || p.summary.trim() === '') e.push("'payload.summary' is missing or blank");
  else if ([...p.summary].length > 1024) e.push("Length of 'payload.summary' is too long (should be at most 1024 characters)");
  if (typeof p.source !== 'string' || p.source.trim() === '') e.push("'payload.source' is missing or blank");
  if (typeof p.severity !== 'string' || !SEVERITIES.has(p.severity)) e.push("'payload.severity' is invalid (must be one of critical, error, warning, info)");
  if (p.timestamp !== undefined && (typeof p.timestamp !== 'string' || Number.isNaN(Date.parse(p.timestamp)))) e.push("'payload.timestamp' must be an ISO 8601 timestamp");
  for (const f of ['component', 'group', 'class'] as const) if (p[f] !== undefined && typeof p[f] !== 'string') e.push(`'payload.${f}' must be a string`);
  if (p.custom_details !== undefined && !isRecord(p.custom_details)) e.push("'payload.custom_details' must be an object");
  return e;
}

function checkContext(v: unknown, name: 'images' | 'links', required: 'src' | 'href'): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return [`'${name}' must be an array`];
  const e: string[] = [];
  v.forEach((item, i) => {
    if (!isRecord(item) || typeof item[required] !== 'string' || !isUrl(item[required] as string)) e.push(`'${name}[${i}].${required}' is missing or is not a URL`);
    else if (name === 'images' && !(item.src as string).startsWith('https://')) e.push(`'images[${i}].src' must be served via HTTPS`);
  });
  return e;
}

/** The documented v3 webhook envelope for an incident event. */
export function pagerDutyWebhookEnvelope(inc: PdIncident, eventType: 'incident.acknowledged' | 'incident.resolved'): unknown {
  const api = 'https://api.pagerduty.com';
  const web = 'https://acme.pagerduty.com';
  const ref = (type: string, id: string, summary: string, kind: string) => ({ html_url: `${web}/${kind}/${id}`, id, self: `${api}/${kind}/${id}`, summary, type });
  return {
    event: {
      id: randomUUID(),
      event_type: eventType,
      resource_type: 'incident',
      occurred_at: new Date().toISOString(),
      agent: ref('user_reference', 'PLH1HKV', 'On-call Engineer', 'users'),
      client: null,
      data: {
        id: inc.id,
        type: 'incident',
        self: `${api}/incidents/${inc.id}`,
        html_url: `${web}/incidents/${inc.id}`,
        number: inc.number,
        status: inc.status,
        incident_key: inc.dedupKey,
        created_at: inc.createdAt,
        title: inc.summary,
        service: ref('service_reference', 'PF9KMXH', 'probectl', 'services'),
        assignees: [ref('user_reference', 'PTUXL6G', 'On-call Engineer', 'users')],
        escalation_policy: ref('escalation_policy_reference', 'PUS0KTE', 'Default', 'escalation_policies'),
        teams: [],
        priority: null,
        urgency: 'high',
        conference_bridge: null,
        resolve_reason: null,
      },
    },
  };
}

/** Headers of a v3 webhook delivery: one `v1=` signature per secret, comma-separated. */
export function pagerDutyWebhookHeaders(body: string, secrets: string[]): Record<string, string> {
  return {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': 'PagerDuty-Webhook/V3.0',
    'x-webhook-id': randomUUID(),
    'x-webhook-subscription': 'PSUBSCR',
    'x-pagerduty-signature': secrets.map((s) => `v1=${hmacSha256Hex(s, body)}`).join(','),
  };
}
