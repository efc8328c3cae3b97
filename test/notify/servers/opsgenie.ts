/**
 * Opsgenie stand-in: the Alert API v2 at `/v2/alerts` and, on the same server,
 * Jira Service Management's operations integration API at
 * `/jsm/ops/integration/v2/alerts` (same GenieKey scheme and bodies); plus the
 * outgoing-webhook emitter.
 *
 * Followed:
 * - Opsgenie Alert API (https://docs.opsgenie.com/docs/alert-api): requests are
 *   processed asynchronously, valid ones answered 202
 *   `{"result":"Request will be processed","took","requestId"}`; Get Request
 *   Status `GET /v2/alerts/requests/:requestId` → `{data:{success, action,
 *   processedAt, integrationId, isSuccess, status, alertId, alias}, took,
 *   requestId}` ("Created alert", "Alert does not exist"); create fields and
 *   limits: message mandatory ≤ 130, alias ≤ 512, description ≤ 15000,
 *   responders, visibleTo, actions ≤ 10 × 50, tags ≤ 20 × 50, details ≤ 8000
 *   characters in total, entity ≤ 512, source ≤ 100, priority P1–P5 (default
 *   P3), user ≤ 100, note ≤ 25000; acknowledge / close / notes at
 *   `/v2/alerts/:identifier/<action>?identifierType=id|alias|tiny` with
 *   optional user, source, note (https://docs.opsgenie.com/docs/alerts-and-alert-fields);
 * - opsgenie/opsgenie-go-sdk-v2 (client/client.go, alert/*.go): request paths
 *   and the error body `{message, took, requestId, errors{field: reason}}`;
 * - observed answers: 422 `{"message":"Request body is not processable. Please
 *   check the errors.","errors":{…}}` (opsgenie-go-sdk tests); 401 `{"message":
 *   "Could not authenticate"}` for an unknown key and 422 "Key format is not
 *   valid!" for a malformed one (streaak/keyhacks#124, opsgenie/opsgenie-lamp#50);
 *   403 `{"code":40301,"message":"To perform this action, use an API key from
 *   an API integration."}` for an account key (K-Phoen/backstage-plugin-opsgenie#68);
 *   404 "Request not found. It might not be processed, yet." while a request
 *   is pending; that both services *reject* a message over 130 characters
 *   (elastic/kibana#291698);
 * - JSM operations integration events API (Atlassian Postman collection
 *   developer.atlassian.com/cloud/jira/service-desk-ops/jira-service-desk-ops.1.postman.json,
 *   https://developer.atlassian.com/cloud/jira/service-desk-ops/rest/v1/api-group-integration-events/):
 *   create / acknowledge / close / add note / request status under
 *   `/jsm/ops/integration/v2/alerts` with `Authorization: GenieKey`;
 *   `identifierType=alias` works there too (JSDCLOUD-14179); there is no GET of
 *   an alert on the integration API;
 * - outgoing webhook payload (https://docs.opsgenie.com/docs/sample-alert-action-data):
 *   `{source:{name,type}, alert:{alertId, message, alias, tinyId, tags,
 *   createdAt, updatedAt, username, userId, source, entity}, action,
 *   integrationId, integrationName}`. Opsgenie and JSM do not sign these; the
 *   emitter adds probectl's inbound headers (custom headers on the integration).
 *
 * Rate limiting answers 429 with X-RateLimit-State: THROTTLED
 * (https://docs.opsgenie.com/docs/api-rate-limiting); its body is this
 * stand-in's own.
 */
import { randomUUID } from 'node:crypto';
import { deliver, isRecord, jsonBody, probectlAuthHeaders, schemeToken, StandIn, type DeliverOptions, type Delivery, type InboundAuth, type VendorReply, type VendorRequest } from './harness.ts';

export type OgApi = 'opsgenie' | 'jsm';

export interface OgAlert {
  id: string;
  tinyId: string;
  alias: string;
  message: string;
  description: string | undefined;
  priority: 'P1' | 'P2' | 'P3' | 'P4' | 'P5';
  status: 'open' | 'closed';
  acknowledged: boolean;
  /** De-duplication count: creates with the alias of an open alert increment it. */
  count: number;
  tags: string[];
  details: Record<string, string>;
  entity: string | undefined;
  source: string | undefined;
  notes: string[];
  api: OgApi;
  createdAt: string;
  updatedAt: string;
}

export interface OgRequestStatus {
  requestId: string;
  action: 'Create' | 'Acknowledge' | 'Close' | 'AddNote';
  api: OgApi;
  processedAt: string;
  isSuccess: boolean;
  status: string;
  alertId: string;
  alias: string;
}

export interface OpsgenieOptions {
  /** Integration API keys (UUIDs) allowed to act on alerts; default one. */
  apiKeys?: string[];
  /** Account-level keys: authenticated, but 403 40301 on alert actions. */
  accountKeys?: string[];
  /** Delay before a request is processed (async); default 0 (processed before the 202 is sent). Changeable later: `og.processDelayMs`. */
  processDelayMs?: number;
}

/** An asynchronous failure to inject: the next request of this action is accepted (202) and then fails with this status text. */
export interface OgAsyncFailure {
  action: OgRequestStatus['action'];
  status: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PRIORITIES = new Set(['P1', 'P2', 'P3', 'P4', 'P5']);
const RESPONDER_TYPES = new Set(['team', 'user', 'escalation', 'schedule']);
const PREFIXES: Array<[OgApi, string]> = [['jsm', '/jsm/ops/integration/v2/alerts'], ['opsgenie', '/v2/alerts']];
const INTEGRATION_ID = 'c9cec2cb-e782-4ebb-bc1d-1b2fa703cf03';

function took(): number {
  return Math.round(Math.random() * 100) / 1000;
}
function ogError(status: number, message: string, extra: Record<string, unknown> = {}): VendorReply {
  return { status, body: { message, took: took(), requestId: randomUUID(), ...extra } };
}
function unprocessable(errors: Record<string, string>): VendorReply {
  return ogError(422, 'Request body is not processable. Please check the errors.', { errors });
}

export class Opsgenie {
  readonly server: StandIn;
  readonly apiKeys: string[];
  readonly accountKeys: string[];
  readonly alerts: OgAlert[] = [];
  /** Every accepted (202) request, in order, processed or not. */
  readonly accepted: Array<{ requestId: string; action: OgRequestStatus['action']; api: OgApi }> = [];
  /** Processed requests by id. */
  readonly processed = new Map<string, OgRequestStatus>();
  /** Delay before an accepted request is processed; while pending, its status answers 404. */
  processDelayMs: number;
  private readonly failures: OgAsyncFailure[] = [];
  private nextTiny = 1;
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(server: StandIn, opts: OpsgenieOptions) {
    this.server = server;
    this.apiKeys = opts.apiKeys ?? [randomUUID()];
    this.accountKeys = opts.accountKeys ?? [];
    this.processDelayMs = opts.processDelayMs ?? 0;
  }

  static async start(opts: OpsgenieOptions = {}): Promise<Opsgenie> {
    let og: Opsgenie | undefined;
    const server = await StandIn.start({
      name: 'opsgenie',
      handle: (req) => og!.handle(req),
      errorReply: (status) => status === 429
        ? { ...ogError(429, 'You are making too many requests! To avoid errors, we recommend you limit requests.'), headers: { 'x-ratelimit-state': 'THROTTLED', 'x-ratelimit-reason': 'INTEGRATION', 'x-ratelimit-period-in-sec': '60' } }
        : ogError(status, 'Internal Server Error'),
    });
    og = new Opsgenie(server, opts);
    return og;
  }

  get url(): string {
    return this.server.url;
  }
  /** `https://…/v2/alerts` — the Opsgenie endpoint. */
  get opsgenieUrl(): string {
    return `${this.server.url}/v2/alerts`;
  }
  /** `https://…/jsm/ops/integration/v2/alerts` — the JSM endpoint. */
  get jsmUrl(): string {
    return `${this.server.url}/jsm/ops/integration/v2/alerts`;
  }
  get apiKey(): string {
    return this.apiKeys[0] as string;
  }
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await this.server.close();
  }

  /**
   * The next requests of these actions are accepted with 202 and then fail
   * when processed (`isSuccess: false` with the status text; nothing changes),
   * as Opsgenie reports e.g. an unknown responder team.
   */
  failAsync(...failures: OgAsyncFailure[]): void {
    this.failures.push(...failures);
  }

  /** The latest alert with this alias. */
  alert(alias: string): OgAlert | undefined {
    return this.alerts.findLast((a) => a.alias === alias);
  }

  private find(identifier: string, type: string): OgAlert | undefined {
    if (type === 'alias') return this.alerts.find((a) => a.alias === identifier && a.status === 'open') ?? this.alert(identifier);
    if (type === 'tiny') return this.alerts.findLast((a) => a.tinyId === identifier);
    return this.alerts.find((a) => a.id === identifier);
  }

  private handle(req: VendorRequest): VendorReply {
    const match = PREFIXES.find(([, p]) => req.path === p || req.path.startsWith(`${p}/`));
    if (!match) return ogError(404, 'Could not find resource');
    const [api, prefix] = match;
    const rest = req.path.slice(prefix.length).split('/').filter((s) => s !== '').map(decodeURIComponent);

    const key = schemeToken(req, 'GenieKey');
    if (key === undefined || key === '') return ogError(401, 'Could not authenticate');
    if (!UUID.test(key)) return ogError(422, 'Key format is not valid!');
    if (this.accountKeys.includes(key)) return ogError(403, 'To perform this action, use an API key from an API integration.', { code: 40301 });
    if (!this.apiKeys.includes(key)) return ogError(401, 'Could not authenticate');

    if (req.method === 'GET' && rest[0] === 'requests' && rest.length === 2) {
      const st = this.processed.get(rest[1] as string);
      if (!st || st.api !== api) return ogError(404, 'Request not found. It might not be processed, yet.');
      return { status: 200, body: { data: { success: st.isSuccess, action: st.action, processedAt: st.processedAt, integrationId: INTEGRATION_ID, isSuccess: st.isSuccess, status: st.status, alertId: st.alertId, alias: st.alias }, took: took(), requestId: randomUUID() } };
    }
    if (req.method === 'GET' && rest.length === 1 && api === 'opsgenie') {
      const type = req.query.get('identifierType') ?? 'id';
      const a = this.find(rest[0] as string, type);
      if (!a) return ogError(404, 'Alert does not exist');
      return { status: 200, body: { data: publicAlert(a), took: took(), requestId: randomUUID() } };
    }
    if (req.method !== 'POST') return ogError(405, 'Method not allowed');
    if (req.contentType !== 'application/json') return ogError(415, 'Unsupported Media Type: use application/json');
    const body = req.raw.length === 0 ? {} : jsonBody(req);
    if (!isRecord(body)) return unprocessable({ body: 'Could not parse request body as JSON' });

    if (rest.length === 0) {
      const errors = validateCreate(body);
      if (Object.keys(errors).length > 0) return unprocessable(errors);
      return this.accept(api, 'Create', () => this.create(api, body));
    }
    if (rest.length !== 2) return ogError(404, 'Could not find resource');
    const [identifier, action] = rest as [string, string];
    const identifierType = req.query.get('identifierType') ?? 'id';
    if (!['id', 'alias', 'tiny'].includes(identifierType)) return unprocessable({ identifierType: `Invalid identifierType: ${identifierType}` });
    const errors = validateAction(body, action === 'notes');
    if (Object.keys(errors).length > 0) return unprocessable(errors);
    if (action === 'acknowledge') return this.accept(api, 'Acknowledge', () => this.act(identifier, identifierType, 'Acknowledge', body));
    if (action === 'close') return this.accept(api, 'Close', () => this.act(identifier, identifierType, 'Close', body));
    if (action === 'notes') return this.accept(api, 'AddNote', () => this.act(identifier, identifierType, 'AddNote', body));
    return ogError(404, 'Could not find resource');
  }

  /** Answers 202 at once; the work runs now (delay 0) or after the configured delay. */
  private accept(api: OgApi, action: OgRequestStatus['action'], work: () => Omit<OgRequestStatus, 'requestId' | 'action' | 'api' | 'processedAt'>): VendorReply {
    const requestId = randomUUID();
    this.accepted.push({ requestId, action, api });
    const run = () => {
      const i = this.failures.findIndex((f) => f.action === action);
      const outcome = i >= 0 ? { isSuccess: false, status: this.failures.splice(i, 1)[0]!.status, alertId: '', alias: '' } : work();
      this.processed.set(requestId, { requestId, action, api, processedAt: new Date().toISOString(), ...outcome });
    };
    if (this.processDelayMs === 0) run();
    else {
      const t = setTimeout(() => {
        this.timers.delete(t);
        run();
      }, this.processDelayMs);
      this.timers.add(t);
    }
    return { status: 202, body: { result: 'Request will be processed', took: took(), requestId } };
  }

  private create(api: OgApi, b: Record<string, unknown>): Omit<OgRequestStatus, 'requestId' | 'action' | 'api' | 'processedAt'> {
    const now = new Date().toISOString();
    const alias = typeof b.alias === 'string' && b.alias !== '' ? b.alias : (b.message as string);
    const open = this.alerts.find((a) => a.alias === alias && a.status === 'open');
    if (open) {
      open.count++;
      open.updatedAt = now;
      return { isSuccess: true, status: 'Alert is deduplicated', alertId: open.id, alias };
    }
    const a: OgAlert = {
      id: randomUUID(), tinyId: String(this.nextTiny++), alias, message: b.message as string,
      description: b.description as string | undefined, priority: ((b.priority as string | undefined) ?? 'P3') as OgAlert['priority'],
      status: 'open', acknowledged: false, count: 1, tags: (b.tags as string[] | undefined) ?? [],
      details: (b.details as Record<string, string> | undefined) ?? {}, entity: b.entity as string | undefined,
      source: b.source as string | undefined, notes: typeof b.note === 'string' ? [b.note] : [], api, createdAt: now, updatedAt: now,
    };
    this.alerts.push(a);
    return { isSuccess: true, status: 'Created alert', alertId: a.id, alias };
  }

  private act(identifier: string, type: string, action: 'Acknowledge' | 'Close' | 'AddNote', b: Record<string, unknown>): Omit<OgRequestStatus, 'requestId' | 'action' | 'api' | 'processedAt'> {
    const a = this.find(identifier, type);
    if (!a) return { isSuccess: false, status: 'Alert does not exist', alertId: '', alias: '' };
    a.updatedAt = new Date().toISOString();
    if (typeof b.note === 'string' && b.note !== '') a.notes.push(b.note);
    if (action === 'Acknowledge') {
      if (a.status === 'closed') return { isSuccess: false, status: 'Alert is already closed', alertId: a.id, alias: a.alias };
      a.acknowledged = true;
      return { isSuccess: true, status: 'Acknowledged alert', alertId: a.id, alias: a.alias };
    }
    if (action === 'Close') {
      a.status = 'closed';
      return { isSuccess: true, status: 'Closed alert', alertId: a.id, alias: a.alias };
    }
    return { isSuccess: true, status: 'Added note', alertId: a.id, alias: a.alias };
  }

  /**
   * A responder acknowledges or closes the alert in Opsgenie/JSM: the alert
   * changes and the outgoing webhook (action Acknowledge/Close) is POSTed to
   * `target` with probectl's inbound headers. Returns the receiver's answer.
   */
  async emitWebhook(target: string, opts: { alias: string; action: 'Acknowledge' | 'Close'; auth: InboundAuth } & DeliverOptions): Promise<Delivery> {
    const a = this.alert(opts.alias);
    if (!a) throw new Error(`opsgenie stand-in: no alert with alias ${opts.alias}`);
    if (opts.action === 'Acknowledge') a.acknowledged = true;
    else a.status = 'closed';
    a.updatedAt = new Date().toISOString();
    const body = JSON.stringify(opsgenieWebhookPayload(a, opts.action));
    return deliver(target, body, { 'content-type': 'application/json; charset=UTF-8', ...probectlAuthHeaders(opts.auth, body) }, opts);
  }
}

function publicAlert(a: OgAlert): Record<string, unknown> {
  return {
    id: a.id, tinyId: a.tinyId, alias: a.alias, message: a.message, status: a.status, acknowledged: a.acknowledged,
    isSeen: false, tags: a.tags, snoozed: false, count: a.count, createdAt: a.createdAt, updatedAt: a.updatedAt,
    source: a.source ?? '', owner: '', priority: a.priority, responders: [], integration: { id: INTEGRATION_ID, name: 'probectl', type: 'API' },
    ...(a.description !== undefined ? { description: a.description } : {}), details: a.details, entity: a.entity ?? '',
  };
}

/** The documented outgoing-webhook body for an alert action. */
export function opsgenieWebhookPayload(a: OgAlert, action: 'Acknowledge' | 'Close'): unknown {
  return {
    source: { name: '', type: 'web' },
    alert: {
      updatedAt: Date.parse(a.updatedAt) * 1_000_000, tags: a.tags, message: a.message, username: 'oncall@example.com',
      alertId: a.id, source: a.source ?? '', alias: a.alias, tinyId: a.tinyId, createdAt: Date.parse(a.createdAt),
      userId: 'daed1180-0ce8-438b-8f8e-57e1a5920a2d', entity: a.entity ?? '',
    },
    action,
    integrationId: INTEGRATION_ID,
    integrationName: a.api === 'jsm' ? 'probectl (JSM)' : 'probectl',
  };
}

/** A length as Opsgenie's Java service counts it (String.length(): UTF-16 code units, so an emoji counts two). */
function len(v: unknown): number {
  return typeof v === 'string' ? v.length : 0;
}

function stringField(errors: Record<string, string>, b: Record<string, unknown>, name: string, max: number, label: string): void {
  const v = b[name];
  if (v === undefined) return;
  if (typeof v !== 'string') errors[name] = `${label} must be a string.`;
  else if (len(v) > max) errors[name] = `${label} can not be longer than ${max} characters.`;
}

function validateCreate(b: Record<string, unknown>): Record<string, string> {
  const e: Record<string, string> = {};
  if (typeof b.message !== 'string' || b.message.trim() === '') e.message = 'Message can not be empty.';
  else if (len(b.message) > 130) e.message = 'Message can not be longer than 130 characters.';
  stringField(e, b, 'alias', 512, 'Alias');
  stringField(e, b, 'description', 15000, 'Description');
  stringField(e, b, 'entity', 512, 'Entity');
  stringField(e, b, 'source', 100, 'Source');
  stringField(e, b, 'user', 100, 'User');
  stringField(e, b, 'note', 25000, 'Note');
  if (b.priority !== undefined && (typeof b.priority !== 'string' || !PRIORITIES.has(b.priority))) e.priority = `Invalid priority: ${String(b.priority)}. Possible values: P1, P2, P3, P4, P5.`;
  const list = (name: 'tags' | 'actions', maxItems: number, maxLen: number) => {
    const v = b[name];
    if (v === undefined) return;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) e[name] = `${name} must be a list of strings.`;
    else if (v.length > maxItems) e[name] = `${name} can not have more than ${maxItems} items.`;
    else if (v.some((x) => len(x) > maxLen)) e[name] = `${name} items can not be longer than ${maxLen} characters.`;
  };
  list('tags', 20, 50);
  list('actions', 10, 50);
  if (b.details !== undefined) {
    if (!isRecord(b.details) || !Object.values(b.details).every((v) => typeof v === 'string')) e.details = 'Details must be a map of string keys to string values.';
    else if (Object.entries(b.details).reduce((n, [k, v]) => n + len(k) + len(v), 0) > 8000) e.details = 'Details can not be longer than 8000 characters in total.';
  }
  for (const name of ['responders', 'visibleTo'] as const) {
    const v = b[name];
    if (v === undefined) continue;
    if (!Array.isArray(v)) e[name] = `${name} must be a list.`;
    else v.forEach((r, i) => {
      if (!isRecord(r) || typeof r.type !== 'string' || !RESPONDER_TYPES.has(r.type)) e[`${name}#type`] = `Invalid recipient type '${isRecord(r) ? String(r.type) : ''}'`;
      else if (r.id === undefined && r.name === undefined && r.username === undefined) e[`${name}[${i}]`] = 'Responder must have an id, name or username.';
    });
  }
  return e;
}

function validateAction(b: Record<string, unknown>, noteRequired: boolean): Record<string, string> {
  const e: Record<string, string> = {};
  stringField(e, b, 'user', 100, 'User');
  stringField(e, b, 'source', 100, 'Source');
  stringField(e, b, 'note', 25000, 'Note');
  if (noteRequired && (typeof b.note !== 'string' || b.note === '')) e.note = 'Note can not be empty.';
  return e;
}
