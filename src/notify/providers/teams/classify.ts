import { parseRetryAfter } from '../../../core/retry/policy.ts';
import type { OperationResult, VendorAnswer } from '../types.ts';

/**
 * The one place answers of a Teams Workflows trigger (Azure Logic Apps /
 * Power Automate request trigger) are classified; errors come as
 * `{"error":{"code","message"}}`:
 *
 * | answer                                                            | result     |
 * |-------------------------------------------------------------------|------------|
 * | 2xx (202 Accepted: the flow run started)                          | ok         |
 * | 408, 429 (WorkflowRequestsThrottled), 5xx                         | retryable, Retry-After honoured |
 * | 401/403 (DirectApiAuthorizationRequired, DirectApiInvalidAuthorizationSignature) | paused: the signature is wrong |
 * | 404 (WorkflowNotFound: the flow was deleted or its URL regenerated) | paused: the URL is wrong |
 * | other 4xx (400 TriggerInputSchemaMismatch, 413 MessageSizeExceeded) | permanent, code and message summarised |
 * | no answer: retryable; TLS failure: paused                         |
 */
export function classify(answer: VendorAnswer, now: number, hide: readonly string[]): OperationResult {
  if (answer.kind === 'failed') {
    const reason = `Teams unreachable: ${scrub(answer.reason, hide)}`;
    return answer.alarm ? { kind: 'paused', reason } : { kind: 'retryable', reason };
  }
  const { status } = answer;
  if (status >= 200 && status < 300) return { kind: 'ok' };
  const said = summary(answer.body, hide);
  const reason = `Teams workflow HTTP ${status}${said ? `: ${said}` : ''}`;
  if (status === 408 || status === 429 || status >= 500) return { kind: 'retryable', reason, retryAfterMs: parseRetryAfter(answer.headers['retry-after'], now) };
  if (status === 401 || status === 403) return { kind: 'paused', reason: `${reason} (check the workflow URL's sig)` };
  if (status === 404) return { kind: 'paused', reason: `${reason} (check the workflow URL)` };
  return { kind: 'permanent', reason, status };
}

function summary(body: Buffer, hide: readonly string[]): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return '';
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (typeof error !== 'object' || error === null) return '';
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = scrub([code, message].filter((x): x is string => typeof x === 'string').join(': '), hide);
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/** Removes every secret (the `sig`, raw and URL-encoded) from a text meant for status and logs. */
export function scrub(text: string, hide: readonly string[]): string {
  let out = text;
  for (const s of hide) {
    if (s.length < 4) continue;
    out = out.split(s).join('[redacted]').split(encodeURIComponent(s)).join('[redacted]');
  }
  return out;
}
