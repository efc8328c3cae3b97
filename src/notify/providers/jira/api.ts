import { type Answered, classifyStatus, errorDetail, isRecord, jsonOf, str } from '../shared/answers.ts';
import type { ConnectorEndpoint, ExternalRef, IncidentView, OperationResult, VendorAnswer } from '../types.ts';
import { createBody, labelJql } from './documents.ts';
import { jiraEndpoint, type JiraEndpoint } from './settings.ts';

/**
 * Jira REST calls (Cloud platform REST v2/v3, Data Center v2) and the one
 * place their answers are classified. Requests carry `Authorization: Basic
 * <email:api-token | user:password>` when the secret holds a colon, else
 * `Bearer <personal access token>`.
 */

export interface JiraCall {
  ep: ConnectorEndpoint;
  jira: JiraEndpoint;
  auth: string;
  secret: string;
  signal: AbortSignal | undefined;
}

export async function jiraCall(ep: ConnectorEndpoint, signal: AbortSignal | undefined): Promise<JiraCall | OperationResult> {
  const jira = jiraEndpoint(ep.url);
  if (!jira) return { kind: 'paused', reason: 'the Jira endpoint is not <base>/rest/api/{2,3}/issue' };
  const secret = await ep.secret();
  if (secret === undefined || secret === '') return { kind: 'paused', reason: 'no Jira credential' };
  const auth = secret.includes(':') ? `Basic ${Buffer.from(secret, 'utf8').toString('base64')}` : `Bearer ${secret}`;
  return { ep, jira, auth, secret, signal };
}

export function isCall(v: JiraCall | OperationResult): v is JiraCall {
  return 'jira' in v;
}

/** Jira's `errorMessages[]` and field `errors{}` of an error answer, as one line (never the credential). */
function detail(a: Answered, secret: string): string {
  return errorDetail(a, [secret], (b) => [
    ...(Array.isArray(b.errorMessages) ? b.errorMessages : []),
    ...(isRecord(b.errors) ? Object.entries(b.errors).map(([k, v]) => `${k}: ${String(v)}`) : []),
  ]);
}

/**
 * Jira's answers: 2xx ok; 401/403 paused (the credential or its permissions);
 * 404 of an issue ("Issue does not exist…") permanent, any other 404 or a 410
 * (a removed API) the endpoint's misconfiguration, paused; 400 permanent;
 * 429 and 5xx retried with Retry-After.
 */
export function classifyJira(answer: VendorAnswer, c: JiraCall): OperationResult {
  const result = classifyStatus(answer, c.ep.clock, { what: 'Jira', detail: (a) => detail(a, c.secret), secrets: [c.secret] });
  if (answer.kind !== 'answered' || result.kind === 'ok') return result;
  if (answer.status === 404 && !/Issue does not exist/i.test(detail(answer, c.secret))) return { kind: 'paused', reason: `Jira answered 404 for its REST API: check the endpoint (${detail(answer, c.secret)})` };
  if (answer.status === 410) return { kind: 'paused', reason: `Jira answered 410: ${detail(answer, c.secret)}` };
  return result;
}

function send(c: JiraCall, method: 'GET' | 'POST' | 'PUT', path: string, json?: unknown, query?: Record<string, string>): Promise<VendorAnswer> {
  const url = new URL(`${c.jira.base}/rest/api/${c.jira.api}${path}`);
  for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
  return c.ep.http.request(method, url, { headers: { authorization: c.auth, accept: 'application/json' }, ...(json !== undefined ? { json } : {}), signal: c.signal });
}

/** Which search endpoint a connector uses, learnt once per endpoint when not configured. */
const deployments = new WeakMap<ConnectorEndpoint, 'cloud' | 'datacenter'>();

function knownDeployment(c: JiraCall): 'cloud' | 'datacenter' | undefined {
  const configured = c.ep.options.deployment;
  if (configured === 'cloud' || configured === 'datacenter') return configured;
  if (c.jira.api === 3 || c.ep.url.hostname.endsWith('.atlassian.net')) return 'cloud';
  return deployments.get(c.ep);
}

function refOf(issue: Record<string, unknown>): ExternalRef | undefined {
  const key = str(issue, 'key');
  const id = str(issue, 'id');
  if (key === undefined) return undefined;
  return { id: key, ...(id !== undefined ? { data: { issue_id: id }, aliases: [id] } : {}) };
}

/**
 * Finds the issue carrying the incident's label: on Cloud with
 * `GET /rest/api/{2,3}/search/jql` (the old /search answers 410 there,
 * CHANGE-2046), on Data Center with `GET /rest/api/2/search`. An endpoint
 * whose deployment is not known is tried on /search/jql first; a 404 there
 * is tried on /search, and the deployment is remembered for the connector
 * only from /search's answer (2xx: Data Center; 410: Cloud, whose 404 was
 * transient: /search/jql is asked again at once), so one stray 404 never pins a
 * Cloud connector to the removed API nor pauses it on that API's 410.
 */
export async function findByLabel(c: JiraCall, incident: IncidentView): Promise<{ kind: 'found'; ref: ExternalRef } | { kind: 'none' } | Exclude<OperationResult, { kind: 'ok' }>> {
  const query = { jql: labelJql(incident, c.ep.options.project as string), fields: 'key,status', maxResults: '5' };
  const deployment = knownDeployment(c);
  let answer: VendorAnswer;
  if (deployment === 'datacenter') answer = await send(c, 'GET', '/search', undefined, query);
  else {
    answer = await send(c, 'GET', '/search/jql', undefined, query);
    if (deployment === undefined && answer.kind === 'answered' && answer.status === 404) {
      answer = await send(c, 'GET', '/search', undefined, query);
      // Remembered only once /search answers: a transient 404 from Cloud would otherwise pin the connector
      // to the removed /search (410, paused) for the life of the process. A 410 there says Cloud.
      if (answer.kind === 'answered' && answer.status >= 200 && answer.status < 300) deployments.set(c.ep, 'datacenter');
      else if (answer.kind === 'answered' && answer.status === 410) {
        // Cloud: the 404 was transient. Asked again on /search/jql at once, so this lookup is not paused on the
        // removed API's 410 (an alarm naming nothing of the fault); a 404 again is classified as one.
        deployments.set(c.ep, 'cloud');
        answer = await send(c, 'GET', '/search/jql', undefined, query);
      }
    } else if (deployment === undefined && answer.kind === 'answered' && answer.status === 200) deployments.set(c.ep, 'cloud');
  }
  const result = classifyJira(answer, c);
  if (result.kind !== 'ok' || answer.kind !== 'answered') return result as Exclude<OperationResult, { kind: 'ok' }>;
  const body = jsonOf(answer);
  const issues = isRecord(body) && Array.isArray(body.issues) ? body.issues.filter(isRecord) : [];
  for (const issue of issues) {
    const ref = refOf(issue);
    if (ref) return { kind: 'found', ref };
  }
  return { kind: 'none' };
}

/**
 * How long a create that may have been applied (no answer, a timeout, a 5xx; not a 429) waits before it is tried
 * again. The retry first looks the issue up by label, and Jira's search is eventually consistent (Cloud's
 * /search/jql says so; reconcileIssues needs the id the lost answer carried): asked at once — the
 * engine's first backoff is up to 1 s — it misses the issue just created and a second one is opened.
 */
export const CREATE_SETTLE_MS = 5_000;

export async function createIssue(c: JiraCall, incident: IncidentView): Promise<OperationResult> {
  const answer = await send(c, 'POST', '/issue', createBody(c.jira.api, incident, c.ep.options));
  const result = classifyJira(answer, c);
  const mayHaveApplied = answer.kind === 'failed' || answer.status >= 500;
  if (result.kind === 'retryable' && mayHaveApplied) return { ...result, retryAfterMs: Math.max(result.retryAfterMs ?? 0, CREATE_SETTLE_MS) };
  if (result.kind !== 'ok' || answer.kind !== 'answered') return result;
  const body = jsonOf(answer);
  const ref = isRecord(body) ? refOf(body) : undefined;
  return ref ? { kind: 'ok', ref } : { kind: 'retryable', reason: 'Jira created the issue but its answer has no key; searching for it on the next attempt' };
}

export async function addComment(c: JiraCall, key: string, body: unknown): Promise<OperationResult> {
  return classifyJira(await send(c, 'POST', `/issue/${encodeURIComponent(key)}/comment`, { body }), c);
}

/** The issue's status category key (new, indeterminate, done), or a failure. */
export async function statusCategory(c: JiraCall, key: string): Promise<{ category: string } | Exclude<OperationResult, { kind: 'ok' }>> {
  const answer = await send(c, 'GET', `/issue/${encodeURIComponent(key)}`, undefined, { fields: 'status' });
  const result = classifyJira(answer, c);
  if (result.kind !== 'ok' || answer.kind !== 'answered') return result as Exclude<OperationResult, { kind: 'ok' }>;
  const status = (jsonOf(answer) as { fields?: { status?: { statusCategory?: { key?: unknown } } } } | undefined)?.fields?.status;
  return { category: typeof status?.statusCategory?.key === 'string' ? status.statusCategory.key : 'unknown' };
}

/**
 * Applies the configured transition: an id as given, a name looked up (case
 * insensitively, by transition or target status name) among the issue's
 * available transitions.
 */
export async function transition(c: JiraCall, key: string, wanted: string): Promise<OperationResult> {
  let id = wanted;
  if (!/^\d+$/.test(wanted)) {
    const answer = await send(c, 'GET', `/issue/${encodeURIComponent(key)}/transitions`);
    const result = classifyJira(answer, c);
    if (result.kind !== 'ok' || answer.kind !== 'answered') return result;
    const body = jsonOf(answer);
    const list = isRecord(body) && Array.isArray(body.transitions) ? body.transitions.filter(isRecord) : [];
    const w = wanted.toLowerCase();
    const found = list.find((t) => str(t, 'name')?.toLowerCase() === w) ?? list.find((t) => str(t.to, 'name')?.toLowerCase() === w);
    const foundId = found ? (str(found, 'id') ?? (typeof found.id === 'number' ? String(found.id) : undefined)) : undefined;
    if (foundId === undefined) return { kind: 'permanent', reason: `Jira offers no transition named "${wanted}" for ${key} (available: ${list.map((t) => str(t, 'name')).filter(Boolean).join(', ') || 'none'})` };
    id = foundId;
  }
  return classifyJira(await send(c, 'POST', `/issue/${encodeURIComponent(key)}/transitions`, { transition: { id } }), c);
}
