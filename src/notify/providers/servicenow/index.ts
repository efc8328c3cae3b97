import { safeOrigin } from '../../../core/http/transport.ts';
import type { ConnectorEndpoint, ExternalRef, IncidentView, NotifyProvider, Operation, OperationResult, OptionSpec } from '../types.ts';
import { authorization } from './auth.ts';
import { classify } from './classify.ts';
import { parseBusinessRule } from './inbound.ts';
import { changeBody, createBody, DEFAULT_CLOSE_CODE, lookupUrl, recordUrl } from './request.ts';

/**
 * ServiceNow Table API on the incident table. Endpoint: the table URL,
 * `https://<instance>.service-now.com/api/now/table/incident` (or
 * `/api/now/v1|v2/table/incident`); secret: `user:password` (Basic) or an
 * OAuth bearer token (see auth.ts). Open creates a ticket with
 * correlation_id = the incident key and correlation_display = probectl after
 * a lookup by correlation_id (so a retry never opens a second ticket) and
 * records sys_id and number; update adds a work note (and raises impact and
 * urgency when severity rose); acknowledge sets In Progress (2); resolve sets
 * Resolved (6) with close_code and close_notes. Strict query: options
 * close_code, close_notes, assignment_group, caller_id, category. Default
 * min_severity: info.
 */

const TABLE_PATH = /^\/api\/now(?:\/v[12])?\/table\/incident\/?$/;

function text(name: string, max: number, what: string): (value: string) => string {
  return (value) => {
    const v = value.trim();
    if (v === '' || [...v].length > max) throw new Error(`${name} must be ${what} (1–${max} characters)`);
    return v;
  };
}

const options: readonly OptionSpec[] = [
  { name: 'close_code', accepts: `the Resolution code set on resolve (default "${DEFAULT_CLOSE_CODE}"; a value of the instance's close_code choice list)`, parse: text('close_code', 40, 'a Resolution code') },
  { name: 'close_notes', accepts: 'the Resolution notes set on resolve (default: a sentence saying probectl resolved it)', parse: text('close_notes', 4_000, 'text') },
  { name: 'assignment_group', accepts: 'the assignment group of new tickets (sys_id or name)', parse: text('assignment_group', 100, 'a group sys_id or name') },
  { name: 'caller_id', accepts: 'the caller of new tickets (user sys_id or user name), where a data policy requires one', parse: text('caller_id', 100, 'a user sys_id or user name') },
  { name: 'category', accepts: 'the category of new tickets (a value of the category choice list)', parse: text('category', 40, 'a category value') },
];

type Ctx = { ep: ConnectorEndpoint; auth: string; hide: string[]; signal: AbortSignal | undefined };

async function context(ep: ConnectorEndpoint, signal: AbortSignal | undefined): Promise<Ctx | { kind: 'paused'; reason: string }> {
  const secret = await ep.secret();
  const auth = authorization(secret);
  if (!auth) return { kind: 'paused', reason: 'ServiceNow needs user:password or a bearer token as the connector secret' };
  const hide = [secret!.trim(), auth.slice(auth.indexOf(' ') + 1), ...secret!.split(':').filter((p) => p.length >= 6)];
  return { ep, auth, hide, signal };
}

async function send(ctx: Ctx, method: 'GET' | 'POST' | 'PATCH', url: URL, body?: Record<string, string>) {
  const headers: Record<string, string> = { authorization: ctx.auth, accept: 'application/json' };
  const answer = await ctx.ep.http.request(method, url, { headers, ...(body ? { json: body } : {}), signal: ctx.signal });
  return classify(answer, ctx.ep.clock, ctx.hide, method === 'PATCH');
}

function refOf(record: Record<string, unknown>): ExternalRef | undefined {
  const { sys_id: sysId, number } = record;
  if (typeof sysId !== 'string' || !/^[0-9a-f]{32}$/.test(sysId)) return undefined;
  return { id: sysId, data: { sys_id: sysId, ...(typeof number === 'string' ? { number } : {}) }, ...(typeof number === 'string' && number !== '' ? { aliases: [number] } : {}) };
}

type Found = { kind: 'found'; ref: ExternalRef } | { kind: 'none' } | Exclude<OperationResult, { kind: 'ok' }>;

async function find(ctx: Ctx, incident: IncidentView): Promise<Found> {
  const { result, record } = await send(ctx, 'GET', lookupUrl(ctx.ep.url, incident.key));
  if (result.kind !== 'ok') return result;
  const [first] = Array.isArray(record) ? record : [];
  if (!first) return { kind: 'none' };
  if (first.correlation_id !== incident.key) {
    return { kind: 'paused', reason: 'ServiceNow ignored the correlation_id query (can the integration user read incident.correlation_id?)' };
  }
  const ref = refOf(first);
  return ref ? { kind: 'found', ref } : { kind: 'retryable', reason: 'ServiceNow answered a ticket without a sys_id' };
}

async function perform(op: Operation, ep: ConnectorEndpoint, signal: AbortSignal | undefined): Promise<OperationResult> {
  const ctx = await context(ep, signal);
  if ('kind' in ctx) return ctx;
  if (op.action === 'open') {
    const { result, record } = await send(ctx, 'POST', recordUrl(ep.url), createBody(op.incident, ep.options, ep.url.origin));
    if (result.kind !== 'ok') return result;
    const ref = record && !Array.isArray(record) ? refOf(record) : undefined;
    return ref ? { kind: 'ok', ref } : { kind: 'retryable', reason: 'ServiceNow created a ticket but answered no sys_id' };
  }
  let sysId = op.ref?.data?.sys_id ?? op.ref?.id;
  if (sysId === undefined) {
    const found = await find(ctx, op.incident);
    if (found.kind === 'none') return { kind: 'permanent', reason: `no ServiceNow incident has correlation_id ${op.incident.key}` };
    if (found.kind !== 'found') return found;
    sysId = found.ref.id;
  }
  const changed = await send(ctx, 'PATCH', recordUrl(ep.url, sysId), changeBody(op, ep.options));
  if (!changed.recordAcl) return changed.result;
  // "ACL Exception Update Failed" is also every change's answer when the integration user cannot write
  // incident at all: only a ticket the instance closed (Closed 7, Canceled 8) fails alone; any other pauses.
  const read = await send(ctx, 'GET', recordUrl(ep.url, sysId));
  if (read.result.kind === 'retryable') return read.result;
  const state = read.result.kind === 'ok' && read.record && !Array.isArray(read.record) ? read.record.state : undefined;
  if (state === '7' || state === '8') return changed.result;
  return { kind: 'paused', reason: 'ServiceNow refused to change a ticket that is not closed (403 ACL Exception Update Failed due to security constraints): give the integration user write access to incident (the itil role)' };
}

export const servicenow: NotifyProvider = {
  name: 'servicenow',
  defaultMinSeverity: 'info',
  options,
  passthroughQuery: false,
  validate(url, _options, secretGiven) {
    const problems: string[] = [];
    if (!TABLE_PATH.test(url.pathname)) problems.push('the endpoint must be the incident table URL: https://<instance>.service-now.com/api/now/table/incident');
    if (!secretGiven) problems.push('the secret must be user:password (Basic) or an OAuth bearer token');
    return problems;
  },
  display(url) {
    return TABLE_PATH.test(url.pathname) ? `${safeOrigin(url)}${url.pathname.replace(/\/+$/, '')}` : safeOrigin(url);
  },
  perform,
  async lookup(incident, ep, signal) {
    const ctx = await context(ep, signal);
    if ('kind' in ctx) return ctx;
    return find(ctx, incident);
  },
  parseInbound: parseBusinessRule,
};
