/**
 * Jira stand-in: Cloud REST v3 and v2, or Data Center v2 (`mode`), and the
 * `jira:issue_updated` webhook an admin-registered webhook sends.
 *
 * Followed:
 * - Cloud platform REST v3/v2 (https://developer.atlassian.com/cloud/jira/platform/rest/v3/,
 *   request shapes as in MrRefactoring/jira.js): POST /issue `{fields:{project
 *   {key|id}, issuetype {name|id}, summary, description, labels, priority}}` →
 *   201 `{id, key, self}`; GET/PUT /issue/{key}; POST/GET /issue/{key}/comment
 *   `{body}`; GET /issue/{key}/transitions and POST `{transition:{id}}` → 204;
 *   errors `{"errorMessages":[],"errors":{field: message}}` with Jira's
 *   messages: "You must specify a summary of the issue.", "Summary must be
 *   less than 255 characters.", "The summary is invalid because it contains
 *   newline characters.", "valid project is required", "Specify a valid issue
 *   type", "The label 'x y' contains spaces which is invalid.", "Field 'x'
 *   cannot be set. It is not on the appropriate screen, or unknown.", "Comment
 *   body can not be empty!", "Transition id 'x' is not valid for this issue.",
 *   "Issue does not exist or you do not have permission to see it.", "Invalid
 *   request payload. Refer to the REST API documentation and try again.";
 * - v3 rich text is Atlassian Document Format only: a plain string answers
 *   "Operation value must be an Atlassian Document (see the Atlassian Document
 *   Format)" (validated with Atlassian's schema, jira-adf.ts); v2 takes plain
 *   text and answers "Operation value must be a string" for an object;
 * - search (CHANGE-2046, https://developer.atlassian.com/changelog/#CHANGE-2046):
 *   on Cloud GET/POST /rest/api/{2,3}/search/jql with `jql`, `nextPageToken`,
 *   `maxResults` (≤ 5000), `fields`, `reconcileIssues`; answers `{issues,
 *   isLast, nextPageToken}` with only `id` per issue unless fields are asked
 *   for; an unbounded query is refused; results are eventually consistent
 *   (`searchLagMs`) unless the issue id is in `reconcileIssues`; the removed
 *   /rest/api/{2,3}/search answers 410 `{"errorMessages":["The requested API
 *   has been removed. Please migrate to the /rest/api/3/search/jql API. A full
 *   migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"],
 *   "errors":{}}` (observed, e.g. dapplo/Dapplo.Jira#79); Data Center keeps
 *   /rest/api/2/search (`startAt`, `maxResults`, `total`) and has neither
 *   /search/jql nor /rest/api/3;
 * - authentication: Cloud takes Basic `email:api-token`; Data Center takes
 *   Basic `user:password` or `Authorization: Bearer <PAT>`; failures answer 401
 *   "You are not authenticated. Authentication required to perform this
 *   operation.";
 * - admin webhooks (https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks):
 *   `jira:issue_updated` `{timestamp, webhookEvent, issue_event_type_name,
 *   user, issue{id, self, key, fields{status{statusCategory}}}, changelog{items}}`,
 *   signed `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>` with the
 *   webhook's secret (WebSub method=signature), plus
 *   X-Atlassian-Webhook-Identifier.
 * Workflow: To Do (new) —11/21/31→ To Do / In Progress (indeterminate) / Done
 * (done), every transition available from the other statuses; Done sets the
 * resolution "Done".
 */
import { basicAuth, deliver, hex, hmacSha256Hex, isRecord, jsonBody, schemeToken, StandIn, type DeliverOptions, type Delivery, type VendorReply, type VendorRequest } from './harness.ts';
import { adfProblem, adfToText, textToAdf } from './jira-adf.ts';
import { compileJql, JqlError, type JqlIssue } from './jira-jql.ts';

export type JiraMode = 'cloud' | 'datacenter';

export interface JiraStatus {
  id: string;
  name: string;
  category: { id: number; key: 'new' | 'indeterminate' | 'done'; name: string; colorName: string };
}
export interface JiraComment { id: string; body: unknown; api: 2 | 3; created: string }
export interface JiraIssue extends JqlIssue {
  status: JiraStatus;
  description: unknown;
  priority: string;
  comments: JiraComment[];
  /** Transitions applied, by whom. */
  transitions: Array<{ id: string; name: string; from: string; via: 'api' | 'ui'; at: string }>;
  created: string;
  updated: string;
  /** When a Cloud search first sees it (eventual consistency). */
  searchableAt: number;
}

export interface JiraOptions {
  mode?: JiraMode;
  /** Cloud: Basic email:api-token pairs. Data Center: Basic user:password pairs. */
  users?: Array<{ user: string; secret: string }>;
  /** Data Center personal access tokens (Bearer). */
  pats?: string[];
  projects?: Array<{ key: string; name?: string; issueTypes?: string[] }>;
  /** Cloud search index lag in ms (default 0). */
  searchLagMs?: number;
}

const STATUSES: Record<string, JiraStatus> = {
  10000: { id: '10000', name: 'To Do', category: { id: 2, key: 'new', name: 'To Do', colorName: 'blue-gray' } },
  3: { id: '3', name: 'In Progress', category: { id: 4, key: 'indeterminate', name: 'In Progress', colorName: 'yellow' } },
  10001: { id: '10001', name: 'Done', category: { id: 3, key: 'done', name: 'Done', colorName: 'green' } },
};
export const TRANSITIONS = [{ id: '11', name: 'To Do', to: '10000' }, { id: '21', name: 'In Progress', to: '3' }, { id: '31', name: 'Done', to: '10001' }];
const PRIORITIES = ['Highest', 'High', 'Medium', 'Low', 'Lowest'];
const SETTABLE = new Set(['project', 'issuetype', 'summary', 'description', 'labels', 'priority', 'assignee', 'reporter', 'duedate', 'components', 'parent']);
const REMOVED_SEARCH = 'The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046';
const NO_ISSUE = 'Issue does not exist or you do not have permission to see it.';

function jiraError(status: number, errorMessages: string[], errors: Record<string, string> = {}): VendorReply {
  return { status, body: { errorMessages, errors } };
}

export class Jira {
  readonly server: StandIn;
  readonly mode: JiraMode;
  readonly users: Array<{ user: string; secret: string }>;
  readonly pats: string[];
  readonly issues: JiraIssue[] = [];
  readonly projects: Array<{ id: string; key: string; name: string; issueTypes: string[] }>;
  private readonly lagMs: number;
  private nextId = 10001;
  private readonly seq = new Map<string, number>();

  private constructor(server: StandIn, opts: JiraOptions) {
    this.server = server;
    this.mode = opts.mode ?? 'cloud';
    this.users = opts.users ?? [{ user: this.mode === 'cloud' ? 'probectl@acme.example' : 'probectl', secret: `ATATT3x${hex(12)}` }];
    this.pats = opts.pats ?? [];
    this.projects = (opts.projects ?? [{ key: 'OPS', name: 'Operations' }]).map((p, i) => ({ id: String(10000 + i), key: p.key, name: p.name ?? p.key, issueTypes: p.issueTypes ?? ['Task', 'Bug', 'Incident'] }));
    this.lagMs = opts.searchLagMs ?? 0;
  }

  static async start(opts: JiraOptions = {}): Promise<Jira> {
    let jira: Jira | undefined;
    const server = await StandIn.start({
      name: 'jira',
      handle: (req) => jira!.handle(req),
      errorReply: (status) => jiraError(status, [status === 429 ? 'Rate limit exceeded.' : 'Internal server error']),
    });
    jira = new Jira(server, opts);
    return jira;
  }

  get url(): string {
    return this.server.url;
  }
  get user(): { user: string; secret: string } {
    return this.users[0] as { user: string; secret: string };
  }
  close(): Promise<void> {
    return this.server.close();
  }

  issue(key: string): JiraIssue | undefined {
    return this.issues.find((i) => i.key === key || i.id === key);
  }
  /** Issues carrying `label`. */
  withLabel(label: string): JiraIssue[] {
    return this.issues.filter((i) => i.labels.includes(label));
  }
  /** Transitions POSTed through the REST API to an issue. */
  apiTransitions(key: string): JiraIssue['transitions'] {
    return this.issue(key)?.transitions.filter((t) => t.via === 'api') ?? [];
  }

  private authenticated(req: VendorRequest): boolean {
    const basic = basicAuth(req);
    if (basic) return this.users.some((u) => u.user === basic[0] && u.secret === basic[1]);
    const bearer = schemeToken(req, 'Bearer');
    return this.mode === 'datacenter' && bearer !== undefined && this.pats.includes(bearer);
  }

  private handle(req: VendorRequest): VendorReply {
    const m = /^\/rest\/api\/(2|3|latest)(\/.*)$/.exec(req.path);
    if (!m || (this.mode === 'datacenter' && m[1] === '3')) return jiraError(404, [`null for uri: ${req.url.pathname}`]);
    if (!this.authenticated(req)) return jiraError(401, ['You are not authenticated. Authentication required to perform this operation.']);
    const api: 2 | 3 = m[1] === '3' || (m[1] === 'latest' && this.mode === 'cloud') ? 3 : 2;
    const rest = m[2] as string;
    const hasBody = req.method === 'POST' || req.method === 'PUT';
    if (hasBody && req.contentType !== 'application/json') return { status: 415, body: '' };
    const body = hasBody ? jsonBody(req) : undefined;
    if (hasBody && !isRecord(body)) return jiraError(400, ['Invalid request payload. Refer to the REST API documentation and try again.']);
    const b = (body ?? {}) as Record<string, unknown>;

    if (rest === '/myself' && req.method === 'GET') return { status: 200, body: this.mode === 'cloud' ? { accountId: '5b10a2844c20165700ede21g', emailAddress: this.user.user, displayName: 'probectl', active: true } : { name: this.user.user, displayName: 'probectl', active: true } };
    if (rest === '/search' || rest === '/search/') {
      if (this.mode === 'cloud') return jiraError(410, [REMOVED_SEARCH]);
      if (req.method !== 'GET' && req.method !== 'POST') return jiraError(405, ['Method not allowed']);
      return this.searchDc(req, b, api);
    }
    if (rest === '/search/jql') {
      if (this.mode === 'datacenter') return jiraError(404, [`null for uri: ${req.url.pathname}`]);
      if (req.method !== 'GET' && req.method !== 'POST') return jiraError(405, ['Method not allowed']);
      return this.searchJql(req, b, api);
    }
    if (rest === '/issue' && req.method === 'POST') return this.create(b, api);
    const im = /^\/issue\/([^/]+)(\/comment|\/transitions)?$/.exec(rest);
    if (!im) return jiraError(404, [`null for uri: ${req.url.pathname}`]);
    const issue = this.issue(decodeURIComponent(im[1] as string));
    if (!issue) return jiraError(404, [NO_ISSUE]);
    const sub = im[2];
    if (sub === undefined) {
      if (req.method === 'GET') return { status: 200, body: this.view(issue, api, undefined) };
      if (req.method === 'PUT') return this.edit(issue, b, api);
      return jiraError(405, ['Method not allowed']);
    }
    if (sub === '/comment') {
      if (req.method === 'GET') return { status: 200, body: { startAt: 0, maxResults: issue.comments.length, total: issue.comments.length, comments: issue.comments.map((c) => this.commentView(issue, c, api)) } };
      if (req.method !== 'POST') return jiraError(405, ['Method not allowed']);
      const problem = this.bodyProblem(b.body, api, 'comment');
      if (problem) return problem;
      const c: JiraComment = { id: String(this.nextId++), body: b.body, api, created: new Date().toISOString() };
      issue.comments.push(c);
      issue.updated = c.created;
      return { status: 201, body: this.commentView(issue, c, api) };
    }
    if (req.method === 'GET') return { status: 200, body: { expand: 'transitions', transitions: this.available(issue).map((t) => this.transitionView(t)) } };
    if (req.method !== 'POST') return jiraError(405, ['Method not allowed']);
    const tr = isRecord(b.transition) ? b.transition : undefined;
    const id = tr && (typeof tr.id === 'string' || typeof tr.id === 'number') ? String(tr.id) : undefined;
    if (id === undefined) return jiraError(400, ["Missing 'transition' identifier"]);
    const t = this.available(issue).find((x) => x.id === id);
    if (!t) return jiraError(400, [`Transition id '${id}' is not valid for this issue.`]);
    const update = isRecord(b.update) && Array.isArray(b.update.comment) ? b.update.comment : [];
    const comments: unknown[] = [];
    for (const op of update) {
      const add = isRecord(op) && isRecord(op.add) ? op.add.body : undefined;
      const problem = this.bodyProblem(add, api, 'comment');
      if (problem) return problem;
      comments.push(add);
    }
    this.apply(issue, t, 'api');
    for (const c of comments) issue.comments.push({ id: String(this.nextId++), body: c, api, created: new Date().toISOString() });
    return { status: 204 };
  }

  private available(issue: JiraIssue): typeof TRANSITIONS {
    return TRANSITIONS.filter((t) => t.to !== issue.status.id);
  }

  private apply(issue: JiraIssue, t: (typeof TRANSITIONS)[number], via: 'api' | 'ui'): void {
    const from = issue.status.id;
    issue.status = STATUSES[t.to] as JiraStatus;
    issue.resolution = issue.status.category.key === 'done' ? 'Done' : null;
    issue.updated = new Date().toISOString();
    issue.transitions.push({ id: t.id, name: t.name, from, via, at: issue.updated });
  }

  private bodyProblem(v: unknown, api: 2 | 3, field: string): VendorReply | undefined {
    if (v === undefined || v === null || v === '' || (isRecord(v) && Array.isArray(v.content) && v.content.length === 0)) {
      return field === 'comment' ? jiraError(400, [], { comment: 'Comment body can not be empty!' }) : undefined;
    }
    if (api === 3 && (!isRecord(v) || adfProblem(v) !== undefined)) return jiraError(400, [], { [field]: 'Operation value must be an Atlassian Document (see the Atlassian Document Format)' });
    if (api === 2 && typeof v !== 'string') return jiraError(400, [], { [field]: 'Operation value must be a string' });
    return undefined;
  }

  private labelErrors(labels: unknown): string | undefined {
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) return 'labels must be an array of strings';
    const bad = labels.find((l) => /\s/.test(l) || l === '');
    if (bad !== undefined) return `The label '${bad}' contains spaces which is invalid.`;
    const long = labels.find((l) => [...l].length > 255);
    return long !== undefined ? `The label '${long}' exceeds the maximum length of 255 characters.` : undefined;
  }

  private create(b: Record<string, unknown>, api: 2 | 3): VendorReply {
    const f = isRecord(b.fields) ? b.fields : {};
    const errors: Record<string, string> = {};
    const projRef = isRecord(f.project) ? f.project : undefined;
    const project = projRef ? this.projects.find((p) => (typeof projRef.key === 'string' && p.key === projRef.key) || String(projRef.id ?? '') === p.id) : undefined;
    if (!projRef) errors.project = 'Specify a valid project ID or key';
    else if (!project) errors.project = 'valid project is required';
    const typeRef = isRecord(f.issuetype) ? f.issuetype : undefined;
    const issuetype = typeRef && project ? project.issueTypes.find((t, i) => t === typeRef.name || String(typeRef.id ?? '') === String(10001 + i)) : undefined;
    if (!typeRef) errors.issuetype = 'Specify an issue type';
    else if (project && !issuetype) errors.issuetype = 'Specify a valid issue type';
    if (typeof f.summary !== 'string' || f.summary.trim() === '') errors.summary = 'You must specify a summary of the issue.';
    else if (/[\r\n]/.test(f.summary)) errors.summary = 'The summary is invalid because it contains newline characters.';
    // Jira is Java: String.length() counts UTF-16 code units (an emoji counts two).
    else if (f.summary.length > 255) errors.summary = 'Summary must be less than 255 characters.';
    if (f.description !== undefined && f.description !== null) {
      const problem = this.bodyProblem(f.description, api, 'description');
      if (problem) Object.assign(errors, (problem.body as { errors: Record<string, string> }).errors);
    }
    if (f.labels !== undefined) {
      const e = this.labelErrors(f.labels);
      if (e) errors.labels = e;
    }
    const priRef = isRecord(f.priority) ? f.priority : undefined;
    const priority = priRef ? PRIORITIES.find((p, i) => p === priRef.name || String(priRef.id ?? '') === String(i + 1)) : 'Medium';
    if (f.priority !== undefined && !priority) errors.priority = 'The priority selected is invalid.';
    for (const k of Object.keys(f)) if (!SETTABLE.has(k)) errors[k] = `Field '${k}' cannot be set. It is not on the appropriate screen, or unknown.`;
    if (Object.keys(errors).length > 0) return jiraError(400, [], errors);
    const p = project as NonNullable<typeof project>;
    const n = (this.seq.get(p.key) ?? 0) + 1;
    this.seq.set(p.key, n);
    const now = new Date().toISOString();
    const issue: JiraIssue = {
      id: String(this.nextId++), key: `${p.key}-${n}`, project: { id: p.id, key: p.key, name: p.name }, issuetype: issuetype as string,
      summary: f.summary as string, description: f.description ?? null, labels: [...((f.labels as string[] | undefined) ?? [])], priority: priority as string,
      status: STATUSES['10000'] as JiraStatus, resolution: null, comments: [], transitions: [], created: now, updated: now, searchableAt: Date.now() + this.lagMs,
    };
    this.issues.push(issue);
    return { status: 201, body: { id: issue.id, key: issue.key, self: `${this.server.url}/rest/api/${api}/issue/${issue.id}` } };
  }

  private edit(issue: JiraIssue, b: Record<string, unknown>, api: 2 | 3): VendorReply {
    const f = isRecord(b.fields) ? b.fields : {};
    const errors: Record<string, string> = {};
    for (const k of Object.keys(f)) if (!['summary', 'description', 'labels', 'priority'].includes(k)) errors[k] = `Field '${k}' cannot be set. It is not on the appropriate screen, or unknown.`;
    if (f.summary !== undefined && (typeof f.summary !== 'string' || f.summary.trim() === '' || f.summary.length > 255)) errors.summary = 'Summary must be less than 255 characters.';
    if (f.description !== undefined) {
      const problem = this.bodyProblem(f.description, api, 'description');
      if (problem) Object.assign(errors, (problem.body as { errors: Record<string, string> }).errors);
    }
    if (f.labels !== undefined) {
      const e = this.labelErrors(f.labels);
      if (e) errors.labels = e;
    }
    const labelOps = isRecord(b.update) && Array.isArray(b.update.labels) ? b.update.labels : [];
    for (const op of labelOps) {
      const l = isRecord(op) ? (op.add ?? op.remove) : undefined;
      if (typeof l !== 'string' || /\s/.test(l)) errors.labels = `The label '${String(l)}' contains spaces which is invalid.`;
    }
    if (Object.keys(errors).length > 0) return jiraError(400, [], errors);
    if (typeof f.summary === 'string') issue.summary = f.summary;
    if (f.description !== undefined) issue.description = f.description;
    if (Array.isArray(f.labels)) issue.labels = [...(f.labels as string[])];
    for (const op of labelOps as Array<{ add?: string; remove?: string }>) {
      if (op.add !== undefined && !issue.labels.includes(op.add)) issue.labels = [...issue.labels, op.add];
      if (op.remove !== undefined) issue.labels = issue.labels.filter((l) => l !== op.remove);
    }
    issue.updated = new Date().toISOString();
    return { status: 204 };
  }

  private fieldsOf(issue: JiraIssue, api: 2 | 3): Record<string, unknown> {
    const s = issue.status;
    return {
      summary: issue.summary,
      description: issue.description === null ? null : api === 3 ? (typeof issue.description === 'string' ? textToAdf(issue.description) : issue.description) : typeof issue.description === 'string' ? issue.description : adfToText(issue.description),
      labels: issue.labels,
      status: { self: `${this.server.url}/rest/api/${api}/status/${s.id}`, description: '', iconUrl: '', name: s.name, id: s.id, statusCategory: { self: `${this.server.url}/rest/api/${api}/statuscategory/${s.category.id}`, ...s.category } },
      issuetype: { id: String(10001 + Math.max(0, this.projects.find((p) => p.key === issue.project.key)?.issueTypes.indexOf(issue.issuetype) ?? 0)), name: issue.issuetype, subtask: false },
      project: { id: issue.project.id, key: issue.project.key, name: issue.project.name },
      priority: { id: String(PRIORITIES.indexOf(issue.priority) + 1), name: issue.priority },
      resolution: issue.resolution === null ? null : { id: '10000', name: issue.resolution },
      created: issue.created,
      updated: issue.updated,
      comment: { comments: issue.comments.map((c) => this.commentView(issue, c, api)), maxResults: issue.comments.length, total: issue.comments.length, startAt: 0 },
    };
  }

  private view(issue: JiraIssue, api: 2 | 3, fields: string[] | undefined): Record<string, unknown> {
    const all = this.fieldsOf(issue, api);
    const wanted = fields === undefined || fields.includes('*all') || fields.includes('*navigable') ? Object.keys(all) : fields.filter((f) => !f.startsWith('-'));
    const excluded = new Set((fields ?? []).filter((f) => f.startsWith('-')).map((f) => f.slice(1)));
    const picked = Object.fromEntries(Object.entries(all).filter(([k]) => wanted.includes(k) && !excluded.has(k)));
    return { expand: 'renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations', id: issue.id, self: `${this.server.url}/rest/api/${api}/issue/${issue.id}`, key: issue.key, fields: picked };
  }

  private commentView(issue: JiraIssue, c: JiraComment, api: 2 | 3): Record<string, unknown> {
    const body = api === 3 ? (typeof c.body === 'string' ? textToAdf(c.body) : c.body) : typeof c.body === 'string' ? c.body : adfToText(c.body);
    return { self: `${this.server.url}/rest/api/${api}/issue/${issue.id}/comment/${c.id}`, id: c.id, author: { displayName: 'probectl', active: true }, body, created: c.created, updated: c.created, jsdPublic: true };
  }

  private transitionView(t: (typeof TRANSITIONS)[number]): Record<string, unknown> {
    const s = STATUSES[t.to] as JiraStatus;
    return { id: t.id, name: t.name, to: { self: `${this.server.url}/rest/api/3/status/${s.id}`, description: '', iconUrl: '', name: s.name, id: s.id, statusCategory: { ...s.category } }, hasScreen: false, isGlobal: true, isInitial: false, isAvailable: true, isConditional: false, isLooped: false };
  }

  private args(req: VendorRequest, b: Record<string, unknown>): { jql: string; max: number | undefined; fields: string[] | undefined; token: string | undefined; startAt: number; reconcile: string[] } {
    const q = req.query;
    const list = (v: unknown): string[] | undefined => (v === undefined || v === null ? undefined : Array.isArray(v) ? v.map(String) : String(v).split(',').map((s) => s.trim()).filter((s) => s !== ''));
    const post = req.method === 'POST';
    return {
      jql: String(post ? (b.jql ?? '') : (q.get('jql') ?? '')),
      max: post ? (b.maxResults === undefined ? undefined : Number(b.maxResults)) : q.get('maxResults') === null ? undefined : Number(q.get('maxResults')),
      fields: list(post ? b.fields : q.get('fields') ?? undefined),
      token: post ? (b.nextPageToken as string | undefined) : q.get('nextPageToken') ?? undefined,
      startAt: Number(post ? (b.startAt ?? 0) : (q.get('startAt') ?? 0)),
      reconcile: list(post ? b.reconcileIssues : q.get('reconcileIssues') ?? undefined) ?? [],
    };
  }

  private run(jql: string): JiraIssue[] | VendorReply {
    try {
      const { where } = compileJql(jql);
      return where ? this.issues.filter(where) : [...this.issues];
    } catch (e) {
      if (e instanceof JqlError) return jiraError(400, [e.message]);
      throw e;
    }
  }

  private searchJql(req: VendorRequest, b: Record<string, unknown>, api: 2 | 3): VendorReply {
    const a = this.args(req, b);
    if (a.max !== undefined && (!Number.isInteger(a.max) || a.max < 0 || a.max > 5000)) return jiraError(400, ["The 'maxResults' parameter must be between 0 and 5000."]);
    let where;
    try {
      where = compileJql(a.jql).where;
    } catch (e) {
      if (e instanceof JqlError) return jiraError(400, [e.message]);
      throw e;
    }
    if (!where) return jiraError(400, ['Unbounded JQL queries are not allowed here. Please add a search restriction to your query.']);
    const found = this.run(a.jql) as JiraIssue[];
    const now = Date.now();
    const visible = found.filter((i) => i.searchableAt <= now || a.reconcile.includes(i.id));
    let offset = 0;
    if (a.token !== undefined && a.token !== '') {
      const m = /^o(\d+)$/.exec(Buffer.from(a.token, 'base64url').toString('utf8'));
      if (!m) return jiraError(400, ['The provided next page token is invalid or expired.']);
      offset = Number(m[1]);
    }
    const max = a.max ?? 50;
    const page = visible.slice(offset, offset + max);
    const isLast = offset + max >= visible.length;
    return {
      status: 200,
      body: {
        issues: page.map((i) => (a.fields === undefined ? { id: i.id } : this.view(i, api, a.fields))),
        isLast,
        ...(isLast ? {} : { nextPageToken: Buffer.from(`o${offset + max}`).toString('base64url') }),
      },
    };
  }

  private searchDc(req: VendorRequest, b: Record<string, unknown>, api: 2 | 3): VendorReply {
    const a = this.args(req, b);
    const found = this.run(a.jql);
    if (!Array.isArray(found)) return found;
    const max = Math.min(a.max ?? 50, 1000);
    return { status: 200, body: { expand: 'schema,names', startAt: a.startAt, maxResults: max, total: found.length, issues: found.slice(a.startAt, a.startAt + max).map((i) => this.view(i, api, a.fields ?? ['*navigable'])) } };
  }

  /** Someone moves the issue in Jira's UI (not through the REST API); returns the previous status. */
  transitionFromUi(key: string, transition: string): JiraStatus {
    const issue = this.issue(key);
    if (!issue) throw new Error(`jira stand-in: no issue ${key}`);
    const t = this.available(issue).find((x) => x.id === transition || x.name === transition);
    if (!t) throw new Error(`jira stand-in: transition ${transition} not available`);
    const before = issue.status;
    this.apply(issue, t, 'ui');
    return before;
  }

  /**
   * POSTs the `jira:issue_updated` webhook for the issue's latest status
   * change (changelog from the status before the last transition) to `target`, signed `X-Hub-Signature: sha256=…` when `secret` is
   * given (admin webhook), unsigned otherwise.
   */
  emitIssueUpdated(target: string, opts: { key: string; from?: JiraStatus; secret?: string } & DeliverOptions): Promise<Delivery> {
    const issue = this.issue(opts.key);
    if (!issue) throw new Error(`jira stand-in: no issue ${opts.key}`);
    const last = issue.transitions.at(-1);
    const from = opts.from ?? (STATUSES[last?.from ?? '10000'] as JiraStatus);
    const body = JSON.stringify({
      timestamp: Date.now(),
      webhookEvent: 'jira:issue_updated',
      issue_event_type_name: issue.status.category.key === 'done' ? 'issue_resolved' : 'issue_generic',
      user: { self: `${this.server.url}/rest/api/2/user?accountId=5b10a2844c20165700ede21g`, accountId: '5b10a2844c20165700ede21g', displayName: 'Service Desk Agent', active: true },
      issue: { id: issue.id, self: `${this.server.url}/rest/api/2/issue/${issue.id}`, key: issue.key, fields: this.fieldsOf(issue, 2) },
      changelog: { id: String(this.nextId++), items: [{ field: 'status', fieldtype: 'jira', fieldId: 'status', from: from.id, fromString: from.name, to: issue.status.id, toString: issue.status.name }] },
    });
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=UTF-8', 'user-agent': 'Atlassian Webhook HTTP Client',
      'x-atlassian-webhook-identifier': String(this.nextId++), 'x-atlassian-webhook-retry': '0',
      ...(opts.secret !== undefined ? { 'x-hub-signature': `sha256=${hmacSha256Hex(opts.secret, body)}` } : {}),
    };
    return deliver(target, body, headers, opts);
  }
}
