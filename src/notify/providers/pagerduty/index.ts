import { type Answered, classifyStatus, errorDetail, jsonOf, str } from '../shared/answers.ts';
import type { Clock } from '../../../core/clock.ts';
import type { NotifyProvider, OperationResult, VendorAnswer } from '../types.ts';
import { eventFor } from './events.ts';
import { parsePagerDutyWebhook, verifyPagerDutySignature } from './inbound.ts';

const ENQUEUE_PATH = '/v2/enqueue';

/** PagerDuty's `message` and `errors[]` of an error answer, as one line (never the routing key). */
function detail(answer: Answered, key: string): string {
  return errorDetail(answer, [key], (b) => [b.message, ...(Array.isArray(b.errors) ? b.errors : [])]);
}

/**
 * One answer of the Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/overview/):
 * 202 accepted; 400 invalid (permanent), except a refused routing key, which
 * is the connector's misconfiguration (paused: every event would fail alike);
 * 404 a wrong endpoint (paused); 429 and 5xx retried.
 */
function classify(answer: VendorAnswer, key: string, clock: Clock, incidentKey: string): OperationResult {
  const result = classifyStatus(answer, clock, { what: 'PagerDuty', detail: (a) => detail(a, key), secrets: [key] });
  if (answer.kind !== 'answered') return result;
  if (result.kind === 'ok') {
    const dedup = str(jsonOf(answer), 'dedup_key');
    return { kind: 'ok', ref: { id: dedup !== undefined && dedup !== '' ? dedup : incidentKey } };
  }
  if (answer.status === 404) return { kind: 'paused', reason: `PagerDuty answered 404: the endpoint is not the Events API v2 (${ENQUEUE_PATH})` };
  if (answer.status === 400 && /routing[_ ]key/i.test(detail(answer, key))) return { kind: 'paused', reason: `PagerDuty refuses the routing key: ${detail(answer, key)}` };
  return result;
}

/**
 * PagerDuty (docs/oncall.md): Events API v2 `trigger` / `acknowledge` /
 * `resolve` with dedup_key = the incident key (PagerDuty itself
 * de-duplicates a re-sent trigger on the open alert, so a retry or a restart
 * never pages twice); the routing key is the entry's secret and travels only
 * in the body. Follow-up signals send nothing (a pager is never re-paged).
 * Inbound: v3 webhooks signed with X-PagerDuty-Signature.
 */
export const pagerduty: NotifyProvider = {
  name: 'pagerduty',
  defaultMinSeverity: 'warning',
  options: [],
  passthroughQuery: false,
  updates: false,
  pages: true,
  validate(url, _options, secretGiven) {
    const problems: string[] = [];
    if (url.pathname !== ENQUEUE_PATH) problems.push(`the endpoint must be the Events API v2 URL, e.g. https://events.pagerduty.com${ENQUEUE_PATH}`);
    if (!secretGiven) problems.push('needs the integration\'s routing key as the secret');
    return problems;
  },
  display: (url) => `${url.protocol}//${url.host}${url.pathname}`,
  async perform(op, ep, signal) {
    const key = await ep.secret();
    if (key === undefined || key === '') return { kind: 'paused', reason: 'no routing key' };
    const event = eventFor(key, op);
    if (!event) return { kind: 'ok' };
    const answer = await ep.http.request('POST', ep.url, { json: event, signal });
    return classify(answer, key, ep.clock, op.incident.key);
  },
  verifyVendorSignature: verifyPagerDutySignature,
  parseInbound: parsePagerDutyWebhook,
};
