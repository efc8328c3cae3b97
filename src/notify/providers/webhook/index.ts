import { classifyStatus } from '../shared/answers.ts';
import { signedHeaders } from '../shared/signing.ts';
import type { NotifyProvider, OperationResult } from '../types.ts';
import { webhookDocument } from './document.ts';

/**
 * The generic webhook (docs/oncall.md): a POST of the versioned JSON document
 * (./document.ts) to the endpoint, signed like an inbound delivery
 * (X-Probectl-Timestamp, X-Probectl-Signature: sha256=HMAC of
 * "<timestamp>.<body>" under the entry's secret) with `Idempotency-Key: <operation id>`,
 * the same on every retry and after a restart, so the receiver keeps one
 * copy. The endpoint's query string is passed through. 2xx, or 409 (the
 * receiver already has this Idempotency-Key), is success.
 */
export const webhook: NotifyProvider = {
  name: 'webhook',
  defaultMinSeverity: 'info',
  options: [],
  passthroughQuery: true,
  validate(_url, _options, secretGiven) {
    return secretGiven ? [] : ['needs a signing secret as the secret (the receiver verifies X-Probectl-Signature with it)'];
  },
  display: (url) => `${url.protocol}//${url.host}`,
  async perform(op, ep, signal): Promise<OperationResult> {
    const secret = await ep.secret();
    if (secret === undefined || secret === '') return { kind: 'paused', reason: 'no signing secret' };
    const body = Buffer.from(JSON.stringify(webhookDocument(op)), 'utf8');
    const answer = await ep.http.request('POST', ep.url, {
      headers: { 'content-type': 'application/json', 'idempotency-key': op.idempotencyKey, ...signedHeaders(secret, body, ep.clock.now()) },
      body, signal,
    });
    if (answer.kind === 'answered' && answer.status === 409) return { kind: 'ok', ref: { id: op.incident.key } };
    const result = classifyStatus(answer, ep.clock, { what: 'the webhook receiver', secrets: [secret] });
    if (result.kind === 'ok') return { kind: 'ok', ref: { id: op.incident.key } };
    if (answer.kind === 'answered' && answer.status === 404) return { kind: 'paused', reason: 'the webhook receiver answered 404: check the endpoint' };
    return result;
  },
};
