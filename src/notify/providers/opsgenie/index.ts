import { safeOrigin } from '../../../core/http/transport.ts';
import type { ConnectorEndpoint, NotifyProvider, Operation, OperationResult, OptionSpec } from '../types.ts';
import { jsonOf, str, type Answered } from '../shared/answers.ts';
import { classify } from './classify.ts';
import { parseOpsgenieWebhook } from './inbound.ts';
import { actionRequest, createBody } from './request.ts';
import { awaitRequest, pendingResult, saysNoAlert, validRequestId, type Processed } from './status.ts';

/**
 * Opsgenie Alert API v2 — and, unchanged, Jira Service Management's
 * operations integration API (Opsgenie's REST API ends on 2027-04-05). The
 * endpoint chooses the service:
 *
 * - `https://api.opsgenie.com/v2/alerts` (EU: `https://api.eu.opsgenie.com/v2/alerts`)
 * - `https://api.atlassian.com/jsm/ops/integration/v2/alerts`
 *
 * Both take `Authorization: GenieKey <API integration key>` (the connector's
 * secret) and the same bodies: open creates the alert with alias = incident
 * key; update adds a note; acknowledge and resolve (close) act by alias
 * (`identifierType=alias`). Idempotent by alias, so there is no lookup.
 * Option: `team` (a responder team by name). Default min_severity: warning.
 */

const PATHS: ReadonlyArray<{ path: string; service: 'opsgenie' | 'jsm' }> = [
  { path: '/jsm/ops/integration/v2/alerts', service: 'jsm' },
  { path: '/v2/alerts', service: 'opsgenie' },
];

function service(url: URL): 'opsgenie' | 'jsm' | undefined {
  const path = url.pathname.replace(/\/+$/, '');
  return PATHS.find((p) => p.path === path)?.service;
}

const options: readonly OptionSpec[] = [
  {
    name: 'team',
    accepts: 'an Opsgenie/JSM team name the alert is routed to (1–100 characters)',
    parse(value) {
      const v = value.trim();
      if (v === '' || [...v].length > 100) throw new Error('team must be a team name of 1–100 characters');
      return v;
    },
  },
];

/**
 * Follows an accepted (2xx) alert request to its outcome: the `requestId` of its answer read back with
 * Get Request Status (status.ts). The processed outcome, or the result to return when there is none to
 * follow (no request id) or it was still pending at the deadline (both retried).
 */
async function follow(answer: Answered, what: 'create' | 'acknowledge' | 'close', ep: ConnectorEndpoint, headers: Record<string, string>, hide: readonly string[], signal: AbortSignal | undefined): Promise<OperationResult | { requestId: string; outcome: Processed }> {
  const requestId = str(jsonOf(answer), 'requestId');
  if (!validRequestId(requestId)) return { kind: 'retryable', reason: `Opsgenie accepted the ${what} but named no request id to follow; retried${what === 'create' ? ' (the alias de-duplicates the create)' : ''}` };
  const outcome = await awaitRequest(ep, ep.url, requestId, headers, hide, signal);
  if (outcome.kind === 'pending') return pendingResult(what, requestId, outcome);
  return { requestId, outcome };
}

async function perform(op: Operation, ep: ConnectorEndpoint, signal: AbortSignal | undefined): Promise<OperationResult> {
  const key = await ep.secret();
  if (key === undefined || key.trim() === '') return { kind: 'paused', reason: 'Opsgenie needs an API integration key as the connector secret' };
  const hide = [key];
  const headers = { authorization: `GenieKey ${key.trim()}`, 'content-type': 'application/json; charset=utf-8', accept: 'application/json' };
  if (op.action === 'open') {
    const answer = await ep.http.request('POST', ep.url, { headers, json: createBody(op.incident, ep.options), signal });
    const result = classify(answer, ep.clock, hide);
    if (result.kind !== 'ok' || answer.kind !== 'answered') return result;
    const followed = await follow(answer, 'create', ep, headers, hide, signal);
    if (!('requestId' in followed)) return followed;
    const { requestId, outcome } = followed;
    if (!outcome.isSuccess) return { kind: 'permanent', reason: `Opsgenie could not create the alert (request ${requestId}): ${outcome.status || 'no reason given'}` };
    return { kind: 'ok', ref: { id: op.incident.key, data: { service: service(ep.url) ?? 'opsgenie', request_id: requestId, ...(outcome.alertId !== undefined ? { alert_id: outcome.alertId } : {}) } } };
  }
  const { url, body } = actionRequest(ep.url, op);
  const answer = await ep.http.request('POST', url, { headers, json: body, signal });
  const result = classify(answer, ep.clock, hide);
  // A note (update) is not followed: nothing depends on it, and pagers get no updates (updates: false).
  if (result.kind !== 'ok' || answer.kind !== 'answered' || op.action === 'update') return result;
  const what = op.action === 'resolve' ? 'close' : 'acknowledge';
  const followed = await follow(answer, what, ep, headers, hide, signal);
  if (!('requestId' in followed)) return followed;
  const { requestId, outcome } = followed;
  if (outcome.isSuccess) return { kind: 'ok' };
  if (saysNoAlert(outcome.status)) {
    // The alert may not exist *yet*: the create this alert came from may still be pending at Opsgenie
    // (a close processed before its create would leave the alert open). Retryable while it is pending.
    const createId = op.ref?.data?.request_id;
    if (validRequestId(createId)) {
      const create = await awaitRequest(ep, ep.url, createId, headers, hide, signal, true);
      if (create.kind === 'pending') return { kind: 'retryable', reason: `Opsgenie: ${outcome.status} (the ${what} of request ${requestId} came before its create, request ${createId}, was processed); retried` };
    } else if (op.action === 'resolve' && op.ref?.data === undefined) {
      // Sent by the incident key: the open was never recorded (skipped because the incident was over first,
      // or unanswered). No alert with the alias is what such a close expects (the sink's documented no-op);
      // its create's request id is unknown here, so a create still pending at Opsgenie cannot be told apart.
      return { kind: 'ok' };
    }
  }
  return { kind: 'permanent', reason: `Opsgenie could not ${what} the alert (request ${requestId}): ${outcome.status || 'no reason given'}` };
}

export const opsgenie: NotifyProvider = {
  name: 'opsgenie',
  defaultMinSeverity: 'warning',
  options,
  passthroughQuery: false,
  // A pager: a follow-up signal never re-pages (the alias dedups the create).
  updates: false,
  pages: true,
  validate(url, _options, secretGiven) {
    const problems: string[] = [];
    if (!service(url)) problems.push('the endpoint must be the alerts URL: https://api.opsgenie.com/v2/alerts (EU: api.eu.opsgenie.com) or https://api.atlassian.com/jsm/ops/integration/v2/alerts');
    if (!secretGiven) problems.push('the secret must be the API integration key (sent as Authorization: GenieKey …)');
    return problems;
  },
  display(url) {
    const s = service(url);
    return s ? `${safeOrigin(url)}${url.pathname.replace(/\/+$/, '')}` : safeOrigin(url);
  },
  perform,
  parseInbound: parseOpsgenieWebhook,
};
