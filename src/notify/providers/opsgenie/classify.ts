import type { Clock } from '../../../core/clock.ts';
import { type Answered, classifyStatus, errorDetail, isRecord, paused } from '../shared/answers.ts';
import type { OperationResult, VendorAnswer } from '../types.ts';

const CHECK_KEY = 'check the API integration key';

/** `message` and up to five field `errors` of an Opsgenie error body (`{"message","errors":{field: why}}`). */
function detail(answer: Answered, secrets: readonly string[]): string {
  return errorDetail(answer, secrets, (b) => [
    b.message,
    ...(isRecord(b.errors) ? Object.entries(b.errors).slice(0, 5).map(([field, why]) => `${field}: ${typeof why === 'string' ? why : 'invalid'}`) : []),
  ]);
}

/**
 * The one place Opsgenie / JSM answers are classified
 * (https://docs.opsgenie.com/docs/response; rate limits:
 * https://docs.opsgenie.com/docs/api-rate-limiting): the shared reading
 * (shared/answers.ts classifyStatus) and Opsgenie's own cases:
 *
 * | answer                                              | result     |
 * |-----------------------------------------------------|------------|
 * | 2xx (202 "Request will be processed" + requestId)    | ok: accepted; the outcome is then read from Get Request Status (status.ts) |
 * | 408, 429 (X-RateLimit-State: THROTTLED), 5xx         | retryable, Retry-After honoured |
 * | 401, 403 (e.g. 40301: not an API-integration key)    | paused     |
 * | 422 "Key format is not valid!"                       | paused (the key is wrong, not the request) |
 * | other 4xx (400, 404, 422 with `errors`)              | permanent, the vendor's message and field errors summarised |
 * | no answer (reset, timeout): retryable; TLS failure: paused |
 *
 * Requests are processed asynchronously: 202 means accepted only; index.ts
 * follows create / acknowledge / close with Get Request Status (status.ts).
 * The alias makes a repeated create harmless.
 */
export function classify(answer: VendorAnswer, clock: Clock, secrets: readonly string[]): OperationResult {
  const result = classifyStatus(answer, clock, { what: 'Opsgenie', detail: (a) => detail(a, secrets), secrets, check: { 401: CHECK_KEY, 403: CHECK_KEY } });
  if (result.kind === 'permanent' && result.status === 422 && /key format/i.test(result.reason)) return paused(result, CHECK_KEY);
  return result;
}
