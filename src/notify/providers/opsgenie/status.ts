import { setTimeout as sleep } from 'node:timers/promises';
import { excerpt, isRecord, jsonOf } from '../shared/answers.ts';
import type { ConnectorEndpoint, OperationResult } from '../types.ts';

/**
 * Opsgenie / JSM process create, acknowledge and close asynchronously: the
 * `202 {"result":"Request will be processed","requestId":…}` only says the
 * request was accepted (https://docs.opsgenie.com/docs/alert-api, "Get Request
 * Status"). The outcome is read from `GET <alerts URL>/requests/<requestId>`
 * (Opsgenie `/v2/alerts/requests/…`, JSM `/jsm/ops/integration/v2/alerts/requests/…`):
 * `{"data":{"success","action","processedAt","integrationId","isSuccess","status","alertId","alias"},…}`,
 * or 404 "Request not found. It might not be processed, yet." while pending.
 *
 * Polled with a short doubling backoff (100 ms, 200 ms, … at most 1.6 s
 * between polls) within a total deadline; every wait and request is bound to
 * that deadline and to the caller's signal. Exported so tests can shorten it.
 */
export const STATUS_POLL = { firstDelayMs: 100, maxDelayMs: 1_600, deadlineMs: 5_000 };

/** What the status endpoint said about one request. */
export interface Processed { kind: 'processed'; isSuccess: boolean; status: string; alertId: string | undefined }
export type RequestOutcome = Processed | { kind: 'pending'; reason: string };

const REQUEST_ID = /^[A-Za-z0-9-]{1,64}$/;

export function validRequestId(id: string | undefined): id is string {
  return id !== undefined && REQUEST_ID.test(id);
}

/** `<alerts URL>/requests/<requestId>`, no query. */
export function statusUrl(alertsUrl: URL, requestId: string): URL {
  const url = new URL(alertsUrl.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/requests/${encodeURIComponent(requestId)}`;
  url.search = '';
  return url;
}

/** One GET of the request's status: processed (with its outcome) or not yet known (404, 429, 5xx, no answer). */
async function readOnce(ep: ConnectorEndpoint, url: URL, headers: Record<string, string>, secrets: readonly string[], signal: AbortSignal): Promise<RequestOutcome> {
  const answer = await ep.http.request('GET', url, { headers, signal });
  if (answer.kind === 'failed') return { kind: 'pending', reason: `status unreadable: ${excerpt(answer.reason, secrets)}` };
  if (answer.status === 404) return { kind: 'pending', reason: 'not processed yet' };
  if (answer.status !== 200) return { kind: 'pending', reason: `status answered ${answer.status}` };
  const body = jsonOf(answer);
  const data = isRecord(body) ? body.data : undefined;
  if (!isRecord(data)) return { kind: 'pending', reason: 'status answer without data' };
  // isSuccess is the documented outcome; `success` (the same value in the samples) only when it is missing.
  const ok = typeof data.isSuccess === 'boolean' ? data.isSuccess : typeof data.success === 'boolean' ? data.success : undefined;
  if (ok === undefined) return { kind: 'pending', reason: 'status answer without isSuccess' };
  return {
    kind: 'processed',
    isSuccess: ok,
    status: excerpt(typeof data.status === 'string' ? data.status : '', secrets),
    alertId: typeof data.alertId === 'string' && validRequestId(data.alertId) ? data.alertId : undefined,
  };
}

/**
 * Polls until the request is processed or the deadline passes. Never throws:
 * a deadline or an aborted caller signal gives `pending`.
 */
export async function awaitRequest(ep: ConnectorEndpoint, alertsUrl: URL, requestId: string, headers: Record<string, string>, secrets: readonly string[], signal: AbortSignal | undefined, once = false): Promise<RequestOutcome> {
  const url = statusUrl(alertsUrl, requestId);
  const deadline = AbortSignal.timeout(STATUS_POLL.deadlineMs);
  const bound = signal ? AbortSignal.any([signal, deadline]) : deadline;
  let delay = STATUS_POLL.firstDelayMs;
  let last: RequestOutcome = { kind: 'pending', reason: 'not processed yet' };
  try {
    for (;;) {
      if (!once) await sleep(delay, undefined, { signal: bound });
      last = await readOnce(ep, url, headers, secrets, bound);
      if (last.kind === 'processed' || once || bound.aborted) return last;
      delay = Math.min(delay * 2, STATUS_POLL.maxDelayMs);
    }
  } catch {
    return last;
  }
}

/** "… does not exist" (Opsgenie's "Alert does not exist"): the alias has no alert (yet). */
export function saysNoAlert(status: string): boolean {
  return /does not exist|not found/i.test(status);
}

export function pendingResult(what: string, requestId: string, outcome: { reason: string }): OperationResult {
  // Retrying is safe: a create with the alias of an open alert is de-duplicated
  // (https://docs.opsgenie.com/docs/alert-api, Create Alert: "alias … used for
  // alert deduplication"; only the count increases), and acknowledge / close of
  // an alert already in that state change nothing.
  return { kind: 'retryable', reason: `Opsgenie accepted the ${what} (request ${requestId}) but had not processed it within ${STATUS_POLL.deadlineMs / 1000} s (${outcome.reason}); retried` };
}
