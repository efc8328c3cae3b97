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
 * | 403 "ACL Exception Update Failed due to security constraints" to a change of one ticket (`recordWrite`) | `recordAcl`: permanent when the ticket reads Closed/Canceled (an ACL on that record; the other tickets' operations go on), paused otherwise (index.ts: the user cannot write incident) |
 * | any other 403 (a table or API ACL, or a data policy such as "The following fields are mandatory: …") | paused: the instance refuses every such write until the integration user or the options are fixed |
 * | other 4xx (400 invalid choice, 404 record gone, 415)       | permanent, message and detail summarised |
 * | no answer: retryable; TLS failure: paused                  |
 */
export function classify(answer: VendorAnswer, clock: Clock, secrets: readonly string[], recordWrite = false): { result: OperationResult; record?: Record<string, unknown> | Record<string, unknown>[]; recordAcl?: true } {
  // Permanent only once the caller has read the ticket and found it closed (index.ts): the very same
  // answer is what a user without any write access to incident gets for every change.
  if (recordWrite && answer.kind === 'answered' && answer.status === 403 && isRecordAcl(answer)) {
    return { result: { kind: 'permanent', status: 403, reason: 'ServiceNow refused to change this ticket: ACL Exception Update Failed due to security constraints (an ACL on the record, such as closed tickets being read-only; if every change is refused, check the integration user\'s write access to incident)' }, recordAcl: true };
  }
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

/**
 * A record-level ACL refusal: `{"error":{"message":"Operation Failed","detail":"ACL Exception
 * Update Failed due to security constraints"}}`, the Table API's answer when no write ACL
 * of the record passes (ServiceNow KB "REST API 403: Forbidden — Field-Level ACL Diagnosis").
 */
function isRecordAcl(answer: Extract<VendorAnswer, { kind: 'answered' }>): boolean {
  const body = jsonOf(answer);
  const detail = isRecord(body) && isRecord(body.error) ? body.error.detail : undefined;
  return typeof detail === 'string' && /^\s*ACL Exception Update Failed due to security constraints/i.test(detail);
}

/** The `result` of a Table API answer: one record (create, update) or a list (query). */
function readResult(body: unknown): Record<string, unknown> | Record<string, unknown>[] | undefined {
  const result = isRecord(body) ? body.result : undefined;
  if (Array.isArray(result)) return result.filter(isRecord);
  return isRecord(result) ? result : undefined;
}
