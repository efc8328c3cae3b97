import type { Clock } from '../../../core/clock.ts';
import { classifyStatus, errorDetail, isRecord, paused } from '../shared/answers.ts';
import type { OperationResult, VendorAnswer } from '../types.ts';

/**
 * The one place answers of a Teams Workflows trigger (Azure Logic Apps /
 * Power Automate request trigger) are classified: the shared reading
 * (shared/answers.ts classifyStatus) with the error body
 * `{"error":{"code","message"}}`, and Teams' own case, 404:
 *
 * | answer                                                            | result     |
 * |-------------------------------------------------------------------|------------|
 * | 2xx (202 Accepted: the flow run started)                          | ok         |
 * | 408, 429 (WorkflowRequestsThrottled), 5xx                         | retryable, Retry-After honoured |
 * | 401/403 (DirectApiAuthorizationRequired, DirectApiInvalidAuthorizationSignature) | paused: the signature is wrong |
 * | 404 (WorkflowNotFound: the flow was deleted or its URL regenerated) | paused: the URL is wrong |
 * | other 4xx (400 TriggerInputSchemaMismatch, 413 MessageSizeExceeded) | permanent, code and message summarised |
 * | no answer: retryable; TLS failure: paused                         |
 *
 * `secrets`: the `sig` (scrubbed raw and URL-encoded).
 */
export function classify(answer: VendorAnswer, clock: Clock, secrets: readonly string[]): OperationResult {
  const checkSig = "check the workflow URL's sig";
  const result = classifyStatus(answer, clock, {
    what: 'Teams workflow',
    detail: (a) => errorDetail(a, secrets, (b) => (isRecord(b.error) ? [b.error.code, b.error.message] : []), ': '),
    secrets,
    check: { 401: checkSig, 403: checkSig },
  });
  if (result.kind === 'permanent' && result.status === 404) return paused(result, 'check the workflow URL');
  return result;
}
