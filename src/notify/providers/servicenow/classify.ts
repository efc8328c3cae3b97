import { parseRetryAfter } from '../../../core/retry/policy.ts';
import type { OperationResult, VendorAnswer } from '../types.ts';

/**
 * The one place ServiceNow Table API answers are classified; errors come as
 * `{"error":{"message","detail"},"status":"failure"}`:
 *
 * | answer                                                     | result     |
 * |------------------------------------------------------------|------------|
 * | 200, 201                                                   | ok (with the parsed `result`) |
 * | 408, 429, 5xx                                              | retryable, Retry-After honoured |
 * | 401 "User Not Authenticated"                               | paused: the credentials are wrong |
 * | 403 (an ACL, or a data policy such as "The following fields are mandatory: …") | paused: the instance refuses every such write until the integration user or the options are fixed |
 * | other 4xx (400 invalid choice, 404 record gone, 415)       | permanent, message and detail summarised |
 * | no answer: retryable; TLS failure: paused                  |
 */
export function classify(answer: VendorAnswer, now: number, hide: readonly string[]): { result: OperationResult; record?: Record<string, unknown> | Record<string, unknown>[] } {
  if (answer.kind === 'failed') {
    const reason = `ServiceNow unreachable: ${scrub(answer.reason, hide)}`;
    return { result: answer.alarm ? { kind: 'paused', reason } : { kind: 'retryable', reason } };
  }
  const { status } = answer;
  if (status >= 200 && status < 300) {
    const result = readResult(answer.body);
    return result === undefined ? { result: { kind: 'retryable', reason: `ServiceNow HTTP ${status} without a result` } } : { result: { kind: 'ok' }, record: result };
  }
  const said = summary(answer.body, hide);
  const reason = `ServiceNow HTTP ${status}${said ? `: ${said}` : ''}`;
  if (status === 408 || status === 429 || status >= 500) return { result: { kind: 'retryable', reason, retryAfterMs: parseRetryAfter(answer.headers['retry-after'], now) } };
  if (status === 401) return { result: { kind: 'paused', reason: `${reason} (check the user:password or bearer token)` } };
  if (status === 403) return { result: { kind: 'paused', reason: `${reason} (check the integration user's roles and the connector options)` } };
  return { result: { kind: 'permanent', reason, status } };
}

function readResult(body: Buffer): Record<string, unknown> | Record<string, unknown>[] | undefined {
  try {
    const result = (JSON.parse(body.toString('utf8')) as { result?: unknown }).result;
    if (Array.isArray(result)) return result.filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null);
    return typeof result === 'object' && result !== null ? (result as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
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
  const { message, detail } = error as { message?: unknown; detail?: unknown };
  const text = scrub([message, detail].filter((x): x is string => typeof x === 'string' && x.trim() !== '').join(': ').replace(/\s+/g, ' ').trim(), hide);
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/** Removes every secret from a text meant for status and logs. */
export function scrub(text: string, hide: readonly string[]): string {
  let out = text;
  for (const s of hide) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}
