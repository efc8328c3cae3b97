/**
 * ServiceNow stand-in: the Table API on the `incident` table, and the outbound
 * POST a customer's business rule makes when an incident changes.
 *
 * Followed:
 * - Table API (https://docs.servicenow.com/bundle/utah-api-reference/page/integrate/inbound-rest/concept/c_TableAPI.html):
 *   `/api/now/table/{table}` (and versioned `/api/now/v1|v2/table/…`), GET list
 *   with `sysparm_query` (encoded query: `field=value`, `^` AND, `^OR`, `!=`,
 *   `IN`, `STARTSWITH`, `LIKE`, `ISEMPTY`, `ORDERBY…`), `sysparm_limit`,
 *   `sysparm_offset`, `sysparm_fields`, `sysparm_display_value`; POST 201,
 *   GET/PUT/PATCH `/{sys_id}` 200, DELETE 204; every answer `{"result": …}`,
 *   every error `{"error":{"message","detail"},"status":"failure"}`; values are
 *   strings; unknown fields in a body are ignored; an encoded-query condition
 *   on an unknown field is ignored (instance default
 *   glide.invalid_query.returns_no_rows=false) — recorded in `invalidQueries`;
 * - measured envelopes: 401 `{"error":{"message":"User Not Authenticated",
 *   "detail":"Required to provide Auth information"},"status":"failure"}`
 *   (Basic or OAuth bearer missing/wrong), 400 "Invalid table x" / "Table x
 *   does not exist", 404 "No Record found" / "Record doesn't exist or ACL
 *   restricts the record retrieval";
 * - incident fields: state 1 New, 2 In Progress, 3 On Hold, 6 Resolved,
 *   7 Closed, 8 Canceled; impact and urgency 1–3 with the priority matrix;
 *   close_code choices of current releases (Duplicate, Known error, No
 *   resolution provided, Resolved by caller/change/problem/request, Solution
 *   provided, Workaround provided, User error); `work_notes` is a journal
 *   field: a write appends an entry, a read returns "";
 * - the base data policy "Make close info mandatory when resolved or closed":
 *   a write that leaves state 6 or 7 without close_code and close_notes is
 *   refused with 403 "Data Policy Exception: The following fields are
 *   mandatory: Resolution code, Resolution notes" (DefectDojo docs; the
 *   403 + wording are widely quoted).
 * Stand-in choices: `incident` is the only table; `requireShortDescription`
 * (default on) models the common data policy on short_description;
 * `strictChoices` (default on) answers 400 for a value outside a choice list,
 * where an instance would store it silently; string fields over their
 * dictionary length are truncated as the instance does (recorded in
 * `truncated`).
 */
import { randomBytes } from 'node:crypto';
import { basicAuth, deliver, isRecord, jsonBody, probectlAuthHeaders, schemeToken, StandIn, type DeliverOptions, type Delivery, type InboundAuth, type VendorReply, type VendorRequest } from './harness.ts';

export interface SnJournalEntry {
  field: 'work_notes' | 'comments';
  value: string;
  at: string;
}

export interface SnRecord {
  /** Every field, as the Table API shows it (strings). */
  fields: Record<string, string>;
  journal: SnJournalEntry[];
}

export interface ServiceNowOptions {
  users?: Array<{ user: string; password: string }>;
  bearerTokens?: string[];
  requireShortDescription?: boolean;
  strictChoices?: boolean;
  invalidQueryReturnsNoRows?: boolean;
  closeCodes?: string[];
  /**
   * A customer write ACL with the condition "state is not Closed or Canceled" (a common
   * one): a change of such a ticket is refused with 403 "ACL Exception Update Failed due
   * to security constraints", the Table API's answer when no write ACL passes.
   */
  closedReadOnly?: boolean;
  /**
   * The integration user may create and read incidents but has no write ACL on incident at
   * all (e.g. a custom role without itil): every change is refused with the same 403 "ACL
   * Exception Update Failed due to security constraints".
   */
  noWrite?: boolean;
}

export const CLOSE_CODES = ['Duplicate', 'Known error', 'No resolution provided', 'Resolved by caller', 'Resolved by change', 'Resolved by problem', 'Resolved by request', 'Solution provided', 'Workaround provided', 'User error'];
const STATES: Record<string, string> = { 1: 'New', 2: 'In Progress', 3: 'On Hold', 6: 'Resolved', 7: 'Closed', 8: 'Canceled' };
const LEVELS: Record<string, string> = { 1: '1 - High', 2: '2 - Medium', 3: '3 - Low' };
const PRIORITY: Record<string, string> = { '1,1': '1', '1,2': '2', '1,3': '3', '2,1': '2', '2,2': '3', '2,3': '4', '3,1': '3', '3,2': '4', '3,3': '5' };
const PRIORITY_LABELS: Record<string, string> = { 1: '1 - Critical', 2: '2 - High', 3: '3 - Moderate', 4: '4 - Low', 5: '5 - Planning' };
const MAX_LENGTH: Record<string, number> = { short_description: 160, description: 4000, correlation_id: 100, correlation_display: 100, close_notes: 4000, category: 40, subcategory: 40 };
const WRITABLE = new Set(['short_description', 'description', 'impact', 'urgency', 'state', 'correlation_id', 'correlation_display', 'close_code', 'close_notes', 'caller_id', 'category', 'subcategory', 'assignment_group', 'assigned_to', 'cmdb_ci', 'contact_type', 'business_service', 'hold_reason', 'work_notes', 'comments']);
const READ_ONLY = ['sys_id', 'number', 'priority', 'active', 'opened_at', 'opened_by', 'resolved_at', 'resolved_by', 'closed_at', 'closed_by', 'sys_created_on', 'sys_created_by', 'sys_updated_on', 'sys_updated_by', 'sys_mod_count', 'sys_class_name', 'incident_state'];
const FIELDS = new Set([...WRITABLE, ...READ_ONLY]);

function failure(status: number, message: string, detail: string | null): VendorReply {
  return { status, body: { error: { message, detail }, status: 'failure' } };
}
function glideDate(d = new Date()): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

export class ServiceNow {
  readonly server: StandIn;
  readonly users: Array<{ user: string; password: string }>;
  readonly bearerTokens: string[];
  /** Records by sys_id, in insertion order. */
  readonly records = new Map<string, SnRecord>();
  /** Encoded-query conditions ignored because their field does not exist. */
  readonly invalidQueries: string[] = [];
  /** Body fields ignored because the table has no such field. */
  readonly ignoredFields: string[] = [];
  readonly truncated: string[] = [];
  private readonly opts: ServiceNowOptions;
  private nextNumber = 10001;

  private constructor(server: StandIn, opts: ServiceNowOptions) {
    this.server = server;
    this.opts = opts;
    this.users = opts.users ?? [{ user: 'probectl.integration', password: `pw-${randomBytes(9).toString('base64url')}` }];
    this.bearerTokens = opts.bearerTokens ?? [];
  }

  static async start(opts: ServiceNowOptions = {}): Promise<ServiceNow> {
    let sn: ServiceNow | undefined;
    const server = await StandIn.start({
      name: 'servicenow',
      handle: (req) => sn!.handle(req),
      errorReply: (status) => status === 429
        ? failure(429, 'Rate limit exceeded', 'The rate limit for this user has been exceeded')
        : failure(status, 'Service Unavailable', 'The instance is not available'),
    });
    sn = new ServiceNow(server, opts);
    return sn;
  }

  get url(): string {
    return this.server.url;
  }
  /** `https://…/api/now/table/incident`. */
  get tableUrl(): string {
    return `${this.server.url}/api/now/table/incident`;
  }
  get user(): { user: string; password: string } {
    return this.users[0] as { user: string; password: string };
  }
  close(): Promise<void> {
    return this.server.close();
  }

  /** Records whose correlation_id equals `id`. */
  find(correlationId: string): SnRecord[] {
    return [...this.records.values()].filter((r) => r.fields.correlation_id === correlationId);
  }
  record(sysId: string): SnRecord | undefined {
    return this.records.get(sysId);
  }

  private authenticated(req: VendorRequest): boolean {
    const basic = basicAuth(req);
    if (basic) return this.users.some((u) => u.user === basic[0] && u.password === basic[1]);
    const bearer = schemeToken(req, 'Bearer');
    return bearer !== undefined && this.bearerTokens.includes(bearer);
  }

  private handle(req: VendorRequest): VendorReply {
    const m = /^\/api\/now(?:\/v[12])?\/table\/([^/]+)(?:\/([^/]+))?$/.exec(req.path);
    if (!m) return failure(400, 'Requested URI does not represent any resource', null);
    if (!this.authenticated(req)) return { ...failure(401, 'User Not Authenticated', 'Required to provide Auth information'), headers: { 'www-authenticate': 'BASIC realm="Service-now"' } };
    const table = m[1] as string;
    if (table !== 'incident') return failure(400, `Invalid table ${table}`, `Table ${table} does not exist`);
    const sysId = m[2];
    const display = req.query.get('sysparm_display_value') === 'true';
    const fieldsParam = req.query.get('sysparm_fields');
    const fieldList = fieldsParam ? fieldsParam.split(',').map((f) => f.trim()).filter((f) => f !== '') : undefined;

    if (req.method === 'GET' && sysId === undefined) {
      let list = this.query(req.query.get('sysparm_query') ?? '');
      const total = list.length;
      const offset = Number(req.query.get('sysparm_offset') ?? 0);
      const limit = req.query.get('sysparm_limit') === null ? 10000 : Number(req.query.get('sysparm_limit'));
      list = list.slice(offset, offset + limit);
      return { status: 200, headers: { 'x-total-count': String(total) }, body: { result: list.map((r) => this.view(r, fieldList, display)) } };
    }
    if (sysId !== undefined) {
      const rec = this.records.get(sysId);
      if (req.method === 'GET') return rec ? { status: 200, body: { result: this.view(rec, fieldList, display) } } : failure(404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval");
      if (req.method === 'DELETE') {
        if (!rec) return failure(404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval");
        this.records.delete(sysId);
        return { status: 204 };
      }
      if (req.method !== 'PUT' && req.method !== 'PATCH') return failure(405, 'Method not Supported', `${req.method} is not supported for this resource`);
      if (!rec) return failure(404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval");
      if (this.opts.noWrite || (this.opts.closedReadOnly && (rec.fields.state === '7' || rec.fields.state === '8'))) return failure(403, 'Operation Failed', 'ACL Exception Update Failed due to security constraints');
      const body = this.body(req);
      if ('status' in body) return body;
      const problem = this.write(rec, body.values, false);
      return problem ?? { status: 200, body: { result: this.view(rec, fieldList, display) } };
    }
    if (req.method !== 'POST') return failure(405, 'Method not Supported', `${req.method} is not supported for this resource`);
    const body = this.body(req);
    if ('status' in body) return body;
    const now = glideDate();
    const sys = randomBytes(16).toString('hex');
    const rec: SnRecord = {
      fields: {
        sys_id: sys, number: `INC${String(this.nextNumber).padStart(7, '0')}`, short_description: '', description: '', impact: '3', urgency: '3',
        priority: '5', state: '1', incident_state: '1', active: 'true', correlation_id: '', correlation_display: '', close_code: '', close_notes: '',
        work_notes: '', comments: '', caller_id: '', category: 'inquiry', subcategory: '', assignment_group: '', assigned_to: '', cmdb_ci: '',
        contact_type: '', business_service: '', hold_reason: '', opened_at: now, opened_by: this.user.user, resolved_at: '', resolved_by: '',
        closed_at: '', closed_by: '', sys_created_on: now, sys_created_by: this.user.user, sys_updated_on: now, sys_updated_by: this.user.user,
        sys_mod_count: '0', sys_class_name: 'incident',
      },
      journal: [],
    };
    const problem = this.write(rec, body.values, true);
    if (problem) return problem;
    this.nextNumber++;
    this.records.set(sys, rec);
    return { status: 201, headers: { location: `${this.server.url}/api/now/table/incident/${sys}` }, body: { result: this.view(rec, fieldList, display) } };
  }

  private body(req: VendorRequest): { values: Record<string, string> } | VendorReply {
    if (req.contentType !== 'application/json') return failure(415, 'Unsupported Media Type', `Content-Type ${req.contentType || '(none)'} is not supported; use application/json`);
    const b = jsonBody(req);
    if (!isRecord(b)) return failure(400, 'Exception while reading request', 'The payload is not valid JSON.');
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(b)) {
      if (!FIELDS.has(k)) {
        this.ignoredFields.push(k);
        continue;
      }
      if (!WRITABLE.has(k)) continue;
      const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : isRecord(v) && typeof v.value === 'string' ? v.value : undefined;
      if (s !== undefined) values[k] = s;
    }
    return { values };
  }

  /** Applies a write; returns the refusal, if any, without changing the record. */
  private write(rec: SnRecord, values: Record<string, string>, insert: boolean): VendorReply | undefined {
    const strict = this.opts.strictChoices ?? true;
    const choice = (field: string, allowed: readonly string[]) => {
      const v = values[field];
      return v !== undefined && v !== '' && !allowed.includes(v) ? failure(400, 'Invalid choice value', `'${v}' is not a valid choice for field '${field}' (${allowed.join(', ')})`) : undefined;
    };
    if (strict) {
      const bad = choice('state', Object.keys(STATES)) ?? choice('impact', ['1', '2', '3']) ?? choice('urgency', ['1', '2', '3']) ?? choice('close_code', this.opts.closeCodes ?? CLOSE_CODES);
      if (bad) return bad;
    }
    const next: Record<string, string> = { ...rec.fields };
    const notes: SnJournalEntry[] = [];
    for (const [k, raw] of Object.entries(values)) {
      if (k === 'work_notes' || k === 'comments') {
        if (raw.trim() !== '') notes.push({ field: k, value: raw, at: glideDate() });
        continue;
      }
      const max = MAX_LENGTH[k];
      let v = raw;
      if (max !== undefined && [...v].length > max) {
        v = [...v].slice(0, max).join('');
        this.truncated.push(k);
      }
      next[k] = v;
    }
    const missing: string[] = [];
    if (insert && (this.opts.requireShortDescription ?? true) && (next.short_description ?? '').trim() === '') missing.push('Short description');
    if (next.state === '6' || next.state === '7') {
      if ((next.close_code ?? '') === '') missing.push('Resolution code');
      if ((next.close_notes ?? '').trim() === '') missing.push('Resolution notes');
    }
    if (missing.length > 0) return failure(403, 'Operation Failed', `Data Policy Exception: \n\tThe following fields are mandatory: ${missing.join(', ')}\n`);
    const now = glideDate();
    next.priority = PRIORITY[`${next.impact},${next.urgency}`] ?? next.priority ?? '5';
    next.incident_state = next.state as string;
    if (next.state === '6' && rec.fields.state !== '6') {
      next.resolved_at = now;
      next.resolved_by = this.user.user;
    }
    if (next.state === '7' && rec.fields.state !== '7') {
      next.closed_at = now;
      next.closed_by = this.user.user;
    }
    next.active = next.state === '7' || next.state === '8' ? 'false' : 'true';
    if (!insert) next.sys_mod_count = String(Number(rec.fields.sys_mod_count) + 1);
    next.sys_updated_on = now;
    rec.fields = next;
    rec.journal.push(...notes);
    return undefined;
  }

  private view(rec: SnRecord, fields: string[] | undefined, display: boolean): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(rec.fields)) {
      if (fields && !fields.includes(k)) continue;
      if (!display) out[k] = v;
      else if (k === 'state' || k === 'incident_state') out[k] = STATES[v] ?? v;
      else if (k === 'impact' || k === 'urgency') out[k] = LEVELS[v] ?? v;
      else if (k === 'priority') out[k] = PRIORITY_LABELS[v] ?? v;
      else out[k] = v;
    }
    return out;
  }

  /** Evaluates an encoded query over the incident table. */
  private query(q: string): SnRecord[] {
    const ph = '\u0000';
    const parts = q.replace(/\^\^/g, ph).split('^').map((p) => p.replace(new RegExp(ph, 'g'), '^')).filter((p) => p !== '' && p !== 'EQ');
    const groups: Array<Array<(r: SnRecord) => boolean>> = [];
    const order: Array<{ field: string; desc: boolean }> = [];
    let invalid = false;
    for (const part of parts) {
      const ob = /^ORDERBY(DESC)?(.+)$/.exec(part);
      if (ob) {
        if (FIELDS.has(ob[2] as string)) order.push({ field: ob[2] as string, desc: ob[1] !== undefined });
        continue;
      }
      const or = part.startsWith('OR');
      const cond = this.condition(or ? part.slice(2) : part);
      if (!cond) {
        invalid = true;
        continue;
      }
      if (or && groups.length > 0) (groups.at(-1) as Array<(r: SnRecord) => boolean>).push(cond);
      else groups.push([cond]);
    }
    if (invalid && this.opts.invalidQueryReturnsNoRows) return [];
    let list = [...this.records.values()].filter((r) => groups.every((g) => g.some((c) => c(r))));
    for (const o of order.reverse()) list = [...list].sort((a, b) => (a.fields[o.field] ?? '').localeCompare(b.fields[o.field] ?? '') * (o.desc ? -1 : 1));
    return list;
  }

  private condition(text: string): ((r: SnRecord) => boolean) | undefined {
    const m = /^([a-z_][a-z0-9_.]*?)(ISNOTEMPTY|ISEMPTY|NOT IN|IN|NOT LIKE|LIKE|STARTSWITH|ENDSWITH|!=|=)(.*)$/.exec(text);
    if (!m || !FIELDS.has(m[1] as string)) {
      this.invalidQueries.push(text);
      return undefined;
    }
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const get = (r: SnRecord) => r.fields[field] ?? '';
    switch (op) {
      case '=': return (r) => get(r) === value;
      case '!=': return (r) => get(r) !== value;
      case 'IN': return (r) => value.split(',').includes(get(r));
      case 'NOT IN': return (r) => !value.split(',').includes(get(r));
      case 'LIKE': return (r) => get(r).toLowerCase().includes(value.toLowerCase());
      case 'NOT LIKE': return (r) => !get(r).toLowerCase().includes(value.toLowerCase());
      case 'STARTSWITH': return (r) => get(r).startsWith(value);
      case 'ENDSWITH': return (r) => get(r).endsWith(value);
      case 'ISEMPTY': return (r) => get(r) === '';
      default: return (r) => get(r) !== '';
    }
  }

  /**
   * A service-desk agent changes the incident in ServiceNow (bypassing the
   * Table API, but under the same data policy); throws when refused.
   */
  changeFromUi(sysId: string, values: Record<string, string>): SnRecord {
    const rec = this.records.get(sysId);
    if (!rec) throw new Error(`servicenow stand-in: no record ${sysId}`);
    const problem = this.write(rec, values, false);
    if (problem) throw new Error(`servicenow stand-in refused the change: ${JSON.stringify(problem.body)}`);
    return rec;
  }

  /**
   * The customer's business rule: POST `{"sys_id","number","state"}` for a
   * record to `target`, with probectl's inbound headers.
   */
  emitBusinessRule(target: string, opts: { sysId: string; auth: InboundAuth } & DeliverOptions): Promise<Delivery> {
    const rec = this.records.get(opts.sysId);
    if (!rec) throw new Error(`servicenow stand-in: no record ${opts.sysId}`);
    const body = JSON.stringify({ sys_id: rec.fields.sys_id, number: rec.fields.number, state: rec.fields.state });
    return deliver(target, body, { 'content-type': 'application/json', 'user-agent': 'ServiceNow/1.0', ...probectlAuthHeaders(opts.auth, body) }, opts);
  }
}
