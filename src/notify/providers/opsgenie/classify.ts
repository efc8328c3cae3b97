import { parseRetryAfter } from '../../../core/retry/policy.ts';
import type { OperationResult, VendorAnswer } from '../types.ts';

/**
 * The one place Opsgenie / JSM answers are classified
 * (https://docs.opsgenie.com/docs/response; rate limits:
 * https://docs.opsgenie.com/docs/api-rate-limiting):
 *
 * | answer                                              | result     |
 * |-----------------------------------------------------|------------|
 * | 2xx (202 "Request will be processed" + requestId)    | ok         |
 * | 408, 429 (X-RateLimit-State: THROTTLED), 5xx         | retryable, Retry-After honoured |
 * | 401, 403 (e.g. 40301: not an API-integration key)    | paused     |
 * | 422 "Key format is not valid!"                       | paused (the key is wrong, not the request) |
 * | other 4xx (400, 404, 422 with `errors`)              | permanent, the vendor's message and field errors summarised |
 * | no answer (reset, timeout): retryable; TLS failure: paused |
 *
 * Requests are processed asynchronously: 202 means accepted, which is all
 * the API promises; the alias makes a repeated create harmless.
 */
export function classify(answer: VendorAnswer, now: number, hide: readonly string[]): OperationResult {
  if (answer.kind === 'failed') {
    const reason = `Opsgenie unreachable: ${scrub(answer.reason, hide)}`;
    return answer.alarm ? { kind: 'paused', reason } : { kind: 'retryable', reason };
  }
  const { status } = answer;
  if (status >= 200 && status < 300) return { kind: 'ok' };
  const said = summary(answer.body, hide);
  const reason = `Opsgenie HTTP ${status}${said ? `: ${said}` : ''}`;
  if (status === 408 || status === 429 || status >= 500) {
    return { kind: 'retryable', reason, retryAfterMs: parseRetryAfter(answer.headers['retry-after'], now) };
  }
  if (status === 401 || status === 403) return { kind: 'paused', reason: `${reason} (check the API integration key)` };
  if (status === 422 && /key format/i.test(said)) return { kind: 'paused', reason: `${reason} (check the API integration key)` };
  return { kind: 'permanent', reason, status };
}

/** `message` and the field `errors` of an Opsgenie error body, cut to 300 characters; '' when unreadable. */
function summary(body: Buffer, hide: readonly string[]): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return '';
  }
  if (typeof parsed !== 'object' || parsed === null) return '';
  const { message, errors } = parsed as { message?: unknown; errors?: unknown };
  const parts: string[] = [];
  if (typeof message === 'string') parts.push(message);
  if (typeof errors === 'object' && errors !== null) {
    for (const [field, why] of Object.entries(errors).slice(0, 5)) parts.push(`${field}: ${typeof why === 'string' ? why : 'invalid'}`);
  }
  const text = scrub(parts.join('; '), hide);
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/** Removes every secret from a text meant for status and logs. */
export function scrub(text: string, hide: readonly string[]): string {
  let out = text;
  for (const s of hide) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}
