/**
 * ServiceNow CMDB stand-in: the Table API read side on CMDB tables.
 *
 * Followed:
 * - Table API GET `/api/now/table/{table}` (https://docs.servicenow.com/bundle/utah-api-reference/page/integrate/inbound-rest/concept/c_TableAPI.html):
 *   `sysparm_query`, `sysparm_fields`, `sysparm_limit`, `sysparm_offset`,
 *   `sysparm_display_value` (`true` | `false` | `all`: `all` answers every
 *   field as `{"display_value", "value"}`), `sysparm_exclude_reference_link`,
 *   `sysparm_no_count`; answers `{"result": [...]}` with `X-Total-Count`
 *   (unless sysparm_no_count) and a `Link` header with rel="next" when more
 *   rows exist; errors `{"error":{"message","detail"},"status":"failure"}`;
 *   401 "User Not Authenticated" without valid Basic or OAuth bearer.
 * - Encoded queries (https://servicenow.github.io/sdk/guides/encoded-query-guide):
 *   `<field><operator><value>` conditions joined by `^` (AND), `^OR` (OR with
 *   the previous condition), `^NQ` (a new query OR-ed with the others);
 *   operators `=`, `!=`, `LIKE`, `STARTSWITH`, `ISEMPTY`, `ISNOTEMPTY`, `IN`;
 *   `ORDERBY<field>`. Every received query is parsed and kept in `queries`
 *   (its groups of conditions), so a test sees exactly which clauses reached
 *   the instance.
 * Stand-in choices: CMDB tables cmdb_ci (every class) and the class tables of
 * the records; an unknown field in a condition is answered 400 (an instance
 * may ignore it, glide.invalid_query.returns_no_rows); `latencyMs` delays
 * every answer; faults through `inject()` (status, hang, reset).
 */
import { basicAuth, schemeToken, StandIn, type VendorReply, type VendorRequest } from '../../notify/servers/harness.ts';

export interface SnCondition { field: string; op: string; value: string }
/** One parsed sysparm_query: `^NQ` groups, each a list of AND-ed terms, each term a list of OR-ed conditions. */
export type SnQuery = SnCondition[][][];

export interface SnCi {
  sys_id: string;
  name: string;
  sys_class_name: string;
  class_label: string;
  ip_address?: string;
  fqdn?: string;
  owned_by?: string;
  support_group?: string;
  location?: string;
  install_status?: string;
}

const STATUS: Record<string, string> = { 1: 'Installed', 2: 'On Order', 3: 'In Maintenance', 6: 'In Stock', 7: 'Retired' };
const REFERENCES = new Set(['owned_by', 'support_group', 'location']);
const FIELDS = new Set(['sys_id', 'name', 'sys_class_name', 'ip_address', 'fqdn', 'owned_by', 'support_group', 'location', 'install_status', 'operational_status', 'serial_number']);
const OPERATORS = ['!=', '=', 'LIKE', 'STARTSWITH', 'ISNOTEMPTY', 'ISEMPTY', 'IN'];
const PARAMS = new Set(['sysparm_query', 'sysparm_fields', 'sysparm_limit', 'sysparm_offset', 'sysparm_display_value', 'sysparm_exclude_reference_link', 'sysparm_no_count', 'sysparm_view', 'sysparm_query_no_domain']);

function failure(status: number, message: string, detail: string | null): VendorReply {
  return { status, body: { error: { message, detail }, status: 'failure' } };
}

/** Parses an encoded query; throws with the instance's words on a malformed one. */
export function parseEncodedQuery(q: string): SnQuery {
  return q.split('^NQ').map((group) => {
    const terms: SnCondition[][] = [];
    for (const part of group.split('^')) {
      if (part === '' || part.startsWith('ORDERBY')) continue;
      const isOr = part.startsWith('OR') && terms.length > 0;
      const text = isOr ? part.slice(2) : part;
      const m = /^([a-z_][a-z0-9_.]*)(.*)$/.exec(text);
      if (!m) throw new Error(`malformed condition ${JSON.stringify(text)}`);
      const rest = m[2] as string;
      const op = OPERATORS.find((o) => rest.startsWith(o));
      if (!op) throw new Error(`no operator in ${JSON.stringify(text)}`);
      const cond = { field: m[1] as string, op, value: rest.slice(op.length) };
      if (isOr) terms[terms.length - 1]?.push(cond);
      else terms.push([cond]);
    }
    return terms;
  });
}

export class ServiceNowCmdb {
  readonly standIn: StandIn;
  readonly records: SnCi[] = [];
  readonly queries: SnQuery[] = [];
  latencyMs = 0;
  private readonly users: Array<[string, string]>;
  private readonly bearers: string[];

  private constructor(standIn: StandIn, users: Array<[string, string]>, bearers: string[]) {
    this.standIn = standIn;
    this.users = users;
    this.bearers = bearers;
  }

  static async start(opts: { users?: Array<[string, string]>; bearers?: string[] } = {}): Promise<ServiceNowCmdb> {
    let self: ServiceNowCmdb | undefined;
    const standIn = await StandIn.start({
      name: 'servicenow-cmdb',
      handle: (req) => (self as ServiceNowCmdb).handle(req),
      errorReply: (status) => failure(status, status === 429 ? 'Too many requests' : 'Internal server error', null),
    });
    self = new ServiceNowCmdb(standIn, opts.users ?? [['probectl.cmdb', 'cmdb-pass']], opts.bearers ?? []);
    return self;
  }

  get url(): string {
    return this.standIn.url;
  }

  /** Lookups that reached the Table API (answered or not). */
  get requestCount(): number {
    return this.standIn.log.length;
  }

  close(): Promise<void> {
    return this.standIn.close();
  }

  private async handle(req: VendorRequest): Promise<VendorReply> {
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const basic = basicAuth(req);
    const bearer = schemeToken(req, 'Bearer');
    const authed = (basic && this.users.some(([u, p]) => u === basic[0] && p === basic[1])) || (bearer !== undefined && this.bearers.includes(bearer));
    if (!authed) return failure(401, 'User Not Authenticated', 'Required to provide Auth information');
    if (req.method !== 'GET') return failure(403, 'Operation Failed', 'ACL restricts the record write');
    const m = /^\/api\/now\/(?:v[12]\/)?table\/([a-z0-9_]+)$/.exec(req.path);
    if (!m) return failure(400, 'Requested URI does not represent any resource', null);
    const table = m[1] as string;
    if (table !== 'cmdb_ci' && !this.records.some((r) => r.sys_class_name === table)) return failure(400, `Invalid table ${table}`, null);
    for (const k of req.query.keys()) if (!PARAMS.has(k)) return failure(400, `unknown parameter ${k}`, null);
    let query: SnQuery;
    try {
      query = parseEncodedQuery(req.query.get('sysparm_query') ?? '');
    } catch (err) {
      return failure(400, 'Invalid query', (err as Error).message);
    }
    this.queries.push(query);
    const unknown = query.flat(2).find((c) => !FIELDS.has(c.field));
    if (unknown) return failure(400, 'Invalid query', `unknown field ${unknown.field}`);
    const limit = Number(req.query.get('sysparm_limit') ?? '10000');
    const offset = Number(req.query.get('sysparm_offset') ?? '0');
    if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(offset) || offset < 0) return failure(400, 'Invalid sysparm_limit or sysparm_offset', null);
    const display = req.query.get('sysparm_display_value') ?? 'false';
    if (!['true', 'false', 'all'].includes(display)) return failure(400, 'Invalid sysparm_display_value', null);
    const fields = (req.query.get('sysparm_fields') ?? '').split(',').filter((f) => f !== '');
    const bad = fields.find((f) => !FIELDS.has(f));
    if (bad) return failure(400, 'Invalid sysparm_fields', bad);
    const pool = this.records.filter((r) => table === 'cmdb_ci' || r.sys_class_name === table).filter((r) => matches(query, r));
    const page = pool.slice(offset, offset + limit);
    const headers: Record<string, string> = {};
    if (req.query.get('sysparm_no_count') !== 'true') headers['x-total-count'] = String(pool.length);
    if (offset + limit < pool.length) {
      const next = new URL(req.url.pathname + req.url.search, this.url);
      next.searchParams.set('sysparm_offset', String(offset + limit));
      headers.link = `<${next.href}>;rel="next"`;
    }
    return { status: 200, headers, body: { result: page.map((r) => render(r, fields.length > 0 ? fields : [...FIELDS], display)) } };
  }
}

function valueOf(r: SnCi, field: string): string {
  return String((r as unknown as Record<string, unknown>)[field] ?? '');
}

function test(c: SnCondition, r: SnCi): boolean {
  const v = valueOf(r, c.field);
  switch (c.op) {
    case '=': return v.toLowerCase() === c.value.toLowerCase();
    case '!=': return v.toLowerCase() !== c.value.toLowerCase();
    case 'LIKE': return v.toLowerCase().includes(c.value.toLowerCase());
    case 'STARTSWITH': return v.toLowerCase().startsWith(c.value.toLowerCase());
    case 'ISEMPTY': return v === '';
    case 'ISNOTEMPTY': return v !== '';
    case 'IN': return c.value.split(',').includes(v);
    default: return false;
  }
}

function matches(q: SnQuery, r: SnCi): boolean {
  return q.some((group) => group.every((term) => term.some((c) => test(c, r))));
}

function render(r: SnCi, fields: string[], display: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const value = f === 'install_status' ? (r.install_status ?? '') : REFERENCES.has(f) && valueOf(r, f) !== '' ? `ref-${Buffer.from(valueOf(r, f)).toString('hex').slice(0, 32)}` : valueOf(r, f);
    const shownValue = f === 'sys_class_name' ? r.class_label : f === 'install_status' ? (STATUS[r.install_status ?? ''] ?? '') : valueOf(r, f);
    out[f] = display === 'all' ? { display_value: shownValue, value } : display === 'true' ? shownValue : value;
  }
  return out;
}
