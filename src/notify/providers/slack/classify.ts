import type { Clock } from '../../../core/clock.ts';
import { classifyStatus, errorDetail, isRecord, jsonOf, retryAfter, str } from '../shared/answers.ts';
import type { OperationResult, VendorAnswer } from '../types.ts';

/**
 * The one place Slack's answers are classified — Web API errors (HTTP 200
 * `{"ok":false,"error":…}`, https://docs.slack.dev/apis/web-api/#responses,
 * and each method's error list: chat.postMessage, chat.update,
 * conversations.history) and incoming-webhook errors (plain-text bodies,
 * https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks)
 * share one table.
 */
type ErrorClass = 'retryable' | 'credentials' | 'configuration' | 'permanent';

const TABLE: ReadonlyArray<[ErrorClass, readonly string[]]> = [
  ['retryable', ['ratelimited', 'rate_limited', 'message_limit_exceeded', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org', 'rollup_error']],
  ['credentials', ['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'no_permission', 'missing_scope', 'not_allowed_token_type', 'access_denied', 'ekm_access_denied', 'team_access_not_granted', 'org_login_required', 'invalid_token', 'no_service']],
  ['configuration', ['channel_not_found', 'not_in_channel', 'is_archived', 'channel_is_archived', 'restricted_action', 'restricted_action_read_only_channel', 'restricted_action_thread_only_channel', 'restricted_action_non_threadable_channel', 'posting_to_general_channel_denied', 'action_prohibited']],
  ['permanent', ['msg_too_long', 'msg_blocks_too_long', 'invalid_blocks', 'invalid_blocks_format', 'no_text', 'invalid_arguments', 'invalid_metadata_format', 'invalid_metadata_schema', 'metadata_too_large', 'metadata_must_be_sent_from_app', 'too_many_attachments', 'invalid_attachments', 'message_not_found', 'cant_update_message', 'edit_window_closed', 'invalid_json', 'json_not_object', 'invalid_payload', 'invalid_form_data', 'invalid_cursor', 'invalid_limit', 'invalid_ts_latest', 'invalid_ts_oldest', 'unknown_method', 'method_deprecated', 'deprecated_endpoint', 'invalid_charset', 'missing_post_type', 'upgrade_required']],
];

const CHECK_CREDENTIAL = 'check the bot token or webhook URL';

const CLASS = new Map<string, ErrorClass>(TABLE.flatMap(([cls, codes]) => codes.map((c): [string, ErrorClass] => [c, cls])));

/** The class of a Slack error code; unknown codes are permanent (visible in `notify failed`, never silently retried). */
export function slackErrorClass(code: string): ErrorClass {
  return CLASS.get(code) ?? 'permanent';
}

/**
 * An error code as an operation result:
 *
 * | class         | codes (see TABLE)                                              | result |
 * |---------------|----------------------------------------------------------------|--------|
 * | retryable     | ratelimited, internal_error, service_unavailable, …             | retryable (Retry-After honoured) |
 * | credentials   | invalid_auth, not_authed, account_inactive, token_revoked, invalid_token, no_service, … | paused |
 * | configuration | channel_not_found, not_in_channel, is_archived, channel_is_archived, … | paused |
 * | permanent     | msg_too_long, invalid_blocks, no_text, message_not_found, … and any unknown code | permanent |
 */
export function fromSlackError(code: string, status: number, retryAfterMs: number | undefined): OperationResult {
  const shown = /^[a-z0-9_]{1,64}$/.test(code) ? code : 'unreadable error';
  switch (slackErrorClass(shown)) {
    case 'retryable':
      return { kind: 'retryable', reason: `Slack ${shown}`, retryAfterMs };
    case 'credentials':
      return { kind: 'paused', reason: `Slack ${shown}: ${CHECK_CREDENTIAL}` };
    case 'configuration':
      return { kind: 'paused', reason: `Slack ${shown}: check the channel and that the app is a member of it` };
    default:
      return { kind: 'permanent', reason: `Slack ${shown}`, status };
  }
}

/**
 * The shared reading (shared/answers.ts classifyStatus) as Slack's: reasons
 * name Slack and its error code (a Web API body's `error`, or an incoming
 * webhook's plain-text body), the credential is scrubbed.
 */
function byStatus(answer: VendorAnswer, clock: Clock, secrets: readonly string[]): OperationResult {
  return classifyStatus(answer, clock, { what: 'Slack', detail: (a) => errorDetail(a, secrets, (b) => [b.error]), secrets, check: { 401: CHECK_CREDENTIAL, 403: CHECK_CREDENTIAL } });
}

/**
 * A Web API answer: HTTP 429 (`ratelimited`, Retry-After) and 5xx retry;
 * HTTP 2xx `ok:true` is ok (with the parsed body); HTTP 2xx `ok:false` goes
 * through the table; an unreadable 2xx is retried; any other status is read
 * the shared way.
 */
export function classifyWebApi(answer: VendorAnswer, clock: Clock, secrets: readonly string[]): { result: OperationResult; body?: Record<string, unknown> } {
  if (answer.kind === 'answered' && answer.status === 429) return { result: fromSlackError('ratelimited', 429, retryAfter(answer, clock)) };
  const result = byStatus(answer, clock, secrets);
  if (result.kind !== 'ok' || answer.kind !== 'answered') return { result };
  const body = jsonOf(answer);
  if (!isRecord(body) || typeof body.ok !== 'boolean') return { result: { kind: 'retryable', reason: `Slack answered ${answer.status} without a Web API body` } };
  if (body.ok) return { result, body };
  return { result: fromSlackError(str(body, 'error') ?? '', answer.status, retryAfter(answer, clock)) };
}

/**
 * An incoming-webhook answer: 2xx is ok; an error's plain-text code
 * (invalid_payload, no_text, invalid_token, no_service, channel_not_found,
 * channel_is_archived, …) goes through the table, anything else is read the
 * shared way. `secrets`: the webhook URL's path segments.
 */
export function classifyWebhook(answer: VendorAnswer, clock: Clock, secrets: readonly string[]): OperationResult {
  if (answer.kind === 'answered' && (answer.status < 200 || answer.status >= 300)) {
    const code = answer.body.toString('utf8').trim();
    if (/^[a-z_]{2,64}$/.test(code) && CLASS.has(code)) return fromSlackError(code, answer.status, retryAfter(answer, clock));
  }
  return byStatus(answer, clock, secrets);
}
