import { parseRetryAfter } from '../../../core/retry/policy.ts';
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
      return { kind: 'paused', reason: `Slack ${shown}: check the bot token or webhook URL` };
    case 'configuration':
      return { kind: 'paused', reason: `Slack ${shown}: check the channel and that the app is a member of it` };
    default:
      return { kind: 'permanent', reason: `Slack ${shown}`, status };
  }
}

function transport(answer: Extract<VendorAnswer, { kind: 'failed' }>, hide: readonly string[]): OperationResult {
  const reason = `Slack unreachable: ${scrub(answer.reason, hide)}`;
  return answer.alarm ? { kind: 'paused', reason } : { kind: 'retryable', reason };
}

function byStatus(status: number, retryAfterMs: number | undefined): OperationResult {
  if (status === 408 || status === 429 || status >= 500) return { kind: 'retryable', reason: `Slack HTTP ${status}`, retryAfterMs };
  if (status === 401 || status === 403) return { kind: 'paused', reason: `Slack HTTP ${status}: check the bot token or webhook URL` };
  return { kind: 'permanent', reason: `Slack HTTP ${status}`, status };
}

/**
 * A Web API answer: HTTP 429 (`ratelimited`, Retry-After) and 5xx retry;
 * HTTP 200 `ok:true` is ok (with the parsed body); HTTP 200 `ok:false` goes
 * through the table; an unreadable 200 is retried.
 */
export function classifyWebApi(answer: VendorAnswer, now: number, hide: readonly string[]): { result: OperationResult; body?: Record<string, unknown> } {
  if (answer.kind === 'failed') return { result: transport(answer, hide) };
  const retryAfterMs = parseRetryAfter(answer.headers['retry-after'], now);
  if (answer.status === 429) return { result: fromSlackError('ratelimited', 429, retryAfterMs) };
  if (answer.status !== 200) return { result: byStatus(answer.status, retryAfterMs) };
  let body: unknown;
  try {
    body = JSON.parse(answer.body.toString('utf8'));
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof (body as { ok?: unknown }).ok !== 'boolean') {
    return { result: { kind: 'retryable', reason: 'Slack answered HTTP 200 without a Web API body' } };
  }
  const b = body as Record<string, unknown>;
  if (b.ok === true) return { result: { kind: 'ok' }, body: b };
  return { result: fromSlackError(typeof b.error === 'string' ? b.error : '', 200, retryAfterMs) };
}

/**
 * An incoming-webhook answer: 200 is ok; an error's plain-text code
 * (invalid_payload, no_text, invalid_token, no_service, channel_not_found,
 * channel_is_archived, …) goes through the table, anything else by status.
 */
export function classifyWebhook(answer: VendorAnswer, now: number, hide: readonly string[]): OperationResult {
  if (answer.kind === 'failed') return transport(answer, hide);
  if (answer.status >= 200 && answer.status < 300) return { kind: 'ok' };
  const retryAfterMs = parseRetryAfter(answer.headers['retry-after'], now);
  const code = answer.body.toString('utf8').trim();
  if (/^[a-z_]{2,64}$/.test(code) && CLASS.has(code)) return fromSlackError(code, answer.status, retryAfterMs);
  return byStatus(answer.status, retryAfterMs);
}

/** Removes every secret (token, webhook path) from a text meant for status and logs. */
export function scrub(text: string, hide: readonly string[]): string {
  let out = text;
  for (const s of hide) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}
