import type { Clock } from '../../../core/clock.ts';
import { classifyStatus, errorDetail, isRecord, jsonOf } from '../shared/answers.ts';
import type { OperationResult, VendorAnswer } from '../types.ts';

/**
 * The one place ServiceNow Table API answers are classified: the shared
 * reading (shared/answers.ts classifyStatus) with ServiceNow's error body
 * `{"error":{"message","detail"},"status":"failure"}`, and a 2xx read for its
 * `result`:
 *
 * | answer                                                     | result     |
 * |------------------------------------------------------------|------------|
 * | 200, 201 with a `result`                                   | ok (with the parsed `result`) |
 * | 2xx without a `result`                                     | retryable |
 * | 408, 429, 5xx                                              | retryable, Retry-After honoured |
 * | 401 "User Not Authenticated"                               | paused: the credentials are wrong |
 * | 403 (an ACL, or a data policy such as "The following fields are mandatory: …") | paused: the instance refuses every such write until the integration user or the options are fixed |
 * | other 4xx (400 invalid choice, 404 record gone, 415)       | permanent, message and detail summarised |
 * | no answer: retryable; TLS failure: paused                  |
 */
export function classify(answer: VendorAnswer, clock: Clock, secrets: readonly string[]): { result: OperationResult; record?: Record<string, unknown> | Record<string, unknown>[] } {
  const result = classifyStatus(answer, clock, {
    what: 'ServiceNow',
    detail: (a) => errorDetail(a, secrets, (b) => (isRecord(b.error) ? [b.error.message, b.error.detail] : []), ': '),
    secrets,
    check: { 401: 'check the user:password or bearer token', 403: "check the integration user's roles and the connector options" },
  });
  if (result.kind !== 'ok' || answer.kind !== 'answered') return { result };
  const record = readResult(jsonOf(answer));
  return record === undefined ? { result: { kind: 'retryable', reason: `ServiceNow answered ${answer.status} without a result` } } : { result, record };
}

/** The `result` of a Table API answer: one record (create, update) or a list (query). */
function readResult(body: unknown): Record<string, unknown> | Record<string, unknown>[] | undefined {
  const result = isRecord(body) ? body.result : undefined;
  if (Array.isArray(result)) return result.filter(isRecord);
  return isRecord(result) ? result : undefined;
}
