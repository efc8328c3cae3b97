import type { ConnectorEndpoint, ExternalRef, IncidentView, Operation, OperationResult } from '../types.ts';
import { isRecord, str } from '../shared/answers.ts';
import { classifyWebApi } from './classify.ts';
import { EVENT_TYPE, incidentMessage, rootMetadata, standaloneUpdate, threadReply } from './message.ts';
import { methodUrl } from './mode.ts';

/**
 * One attempt through the Slack Web API with a bot token
 * (`Authorization: Bearer`, JSON bodies with `charset=utf-8`):
 *
 * | action      | with the root's ref                         | without a ref (its open never succeeded) |
 * |-------------|---------------------------------------------|-------------------------------------------|
 * | open        | chat.postMessage root with `metadata` {event_type probectl_incident, event_payload {incident_key, incident_id, idempotency_key}}; ref = ts, data {channel, ts} | — |
 * | update      | chat.postMessage reply, `thread_ts` = root  | a new message naming the incident |
 * | acknowledge | chat.update of the root (new status)        | a new message with the incident |
 * | resolve     | chat.update of the root (new status)        | a new message with the incident |
 *
 * Required scopes: chat:write, channels:history (groups:history for a
 * private channel) for lookup.
 */

type Ctx = { ep: ConnectorEndpoint; token: string; signal: AbortSignal | undefined };

async function call(ctx: Ctx, url: URL, method: 'GET' | 'POST', args?: Record<string, unknown>): Promise<{ result: OperationResult; body?: Record<string, unknown> }> {
  const headers: Record<string, string> = { authorization: `Bearer ${ctx.token}` };
  if (args !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
  const answer = await ctx.ep.http.request(method, url, {
    headers,
    ...(args !== undefined ? { json: args } : {}),
    signal: ctx.signal,
  });
  return classifyWebApi(answer, ctx.ep.clock, [ctx.token]);
}

function refOf(channel: string, ts: string): ExternalRef {
  return { id: ts, data: { channel, ts } };
}

const NO_UNFURL = { unfurl_links: false, unfurl_media: false };

export async function performWebApi(op: Operation, ep: ConnectorEndpoint, token: string, signal: AbortSignal | undefined): Promise<OperationResult> {
  const ctx: Ctx = { ep, token, signal };
  const channel = op.ref?.data?.channel ?? ep.options.channel ?? '';
  const rootTs = op.ref?.data?.ts;
  if (op.action === 'open') {
    const { result, body } = await call(ctx, ep.url, 'POST', { channel, ...incidentMessage(op.incident), metadata: rootMetadata(op), ...NO_UNFURL });
    if (result.kind !== 'ok') return result;
    const ts = body?.ts;
    if (typeof ts !== 'string' || ts === '') return { kind: 'retryable', reason: 'Slack answered ok without the message ts' };
    return { kind: 'ok', ref: refOf(typeof body?.channel === 'string' ? body.channel : channel, ts) };
  }
  if (rootTs === undefined) {
    const message = op.action === 'update' ? standaloneUpdate(op) : incidentMessage(op.incident);
    return (await call(ctx, ep.url, 'POST', { channel, ...message, ...NO_UNFURL })).result;
  }
  if (op.action === 'update') {
    return (await call(ctx, ep.url, 'POST', { channel, thread_ts: rootTs, ...threadReply(op), ...NO_UNFURL })).result;
  }
  return (await call(ctx, methodUrl(ep.url, 'chat.update'), 'POST', { channel, ts: rootTs, ...incidentMessage(op.incident) })).result;
}

/** Messages per conversations.history page, and pages read at most per lookup. */
const PAGE = 100;
const MAX_PAGES = 10;
/** How far before the incident opened the history is read (clock skew between probectl and Slack). */
const SKEW_MS = 5 * 60_000;

/**
 * Before an open: reads the channel's history since the incident opened
 * (conversations.history, `include_all_metadata=true`, newest first, up to
 * 10 pages of 100) for a root message whose metadata names the incident key,
 * so a lost answer or a crash after posting never posts a second root.
 */
export async function lookupWebApi(incident: IncidentView, ep: ConnectorEndpoint, token: string, signal: AbortSignal | undefined): Promise<{ kind: 'found'; ref: ExternalRef } | { kind: 'none' } | Exclude<OperationResult, { kind: 'ok' }>> {
  const ctx: Ctx = { ep, token, signal };
  const channel = ep.options.channel ?? '';
  const opened = Date.parse(incident.openedAt);
  let cursor = '';
  for (let page = 0; page < MAX_PAGES; page++) {
    const url = methodUrl(ep.url, 'conversations.history');
    url.searchParams.set('channel', channel);
    url.searchParams.set('limit', String(PAGE));
    url.searchParams.set('include_all_metadata', 'true');
    if (Number.isFinite(opened)) url.searchParams.set('oldest', ((opened - SKEW_MS) / 1000).toFixed(6));
    if (cursor !== '') url.searchParams.set('cursor', cursor);
    const { result, body } = await call(ctx, url, 'GET');
    if (result.kind !== 'ok') return result;
    const messages = Array.isArray(body?.messages) ? body.messages : [];
    for (const m of messages) {
      const ts = rootOf(m, incident.key);
      if (ts) return { kind: 'found', ref: refOf(channel, ts) };
    }
    const next = str(body?.response_metadata, 'next_cursor');
    if (body?.has_more !== true || next === undefined || next === '') return { kind: 'none' };
    cursor = next;
  }
  return { kind: 'none' };
}

/** The ts of a message that is probectl's root for the incident key, or undefined. */
function rootOf(m: unknown, key: string): string | undefined {
  const ts = str(m, 'ts');
  const metadata = isRecord(m) ? m.metadata : undefined;
  if (ts === undefined || !isRecord(metadata) || metadata.event_type !== EVENT_TYPE) return undefined;
  return str(metadata.event_payload, 'incident_key') === key ? ts : undefined;
}
