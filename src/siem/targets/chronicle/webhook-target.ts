import { ProbectlError } from '../../../core/errors.ts';
import type { SecretRef } from '../../../secrets/ref.ts';
import { standaloneRecord, type SiemFormatter } from '../../formatters/index.ts';
import { chunkBySize, sendChunks, type Piece } from '../shared/chunks.ts';
import { classifyGoogle } from './import-target.ts';
import type { Target, TargetContext } from '../types.ts';

export interface ChronicleWebhookOptions {
  /** Most bytes of one request body (PROBECTL_SIEM_BATCH_BYTES). */
  maxBytes: number;
  /** PROBECTL_SIEM_TOKEN (the API key) and PROBECTL_SIEM_WEBHOOK_SECRET (the feed's secret key). */
  apiKey: SecretRef;
  webhookSecret: SecretRef;
  /** Resolves a reference at use time; the plaintext lives only for the request. */
  resolve: (ref: SecretRef) => Promise<string>;
}

/**
 * The Google SecOps HTTPS webhook feed (feeds.importPushLogs; "Set up a SIEM
 * HTTPS webhook feed"): POST to the feed's endpoint with
 * `Content-Type: application/json`, the API key in `X-goog-api-key` and the
 * feed's secret in `X-Webhook-Access-Key` (never in the URL), the body one
 * JSON event per line — set the feed's split delimiter to `\n`. Answers are
 * judged like the Chronicle API's (401/403/404 pause, 400 bisect, 429/5xx
 * retry). A line that alone exceeds `maxBytes` is parked.
 */
export function chronicleWebhookTarget(ctx: TargetContext, formatter: SiemFormatter, opts: ChronicleWebhookOptions): Target {
  return {
    async attempt(events, signal) {
      const pieces: Piece[] = events.map((e, index) => ({ index, bytes: standaloneRecord(formatter, e, ctx.formatOptions) }));
      const { chunks, refused } = chunkBySize(pieces, opts.maxBytes, 0, 1, 'a JSON line');
      return sendChunks(chunks, refused, async (chunk) => {
        let headers: Record<string, string>;
        try {
          headers = { 'x-goog-api-key': await opts.resolve(opts.apiKey), 'x-webhook-access-key': await opts.resolve(opts.webhookSecret) };
        } catch (err) {
          const code = err instanceof ProbectlError ? err.code : undefined;
          const reason = `the webhook API key or secret (PROBECTL_SIEM_TOKEN, PROBECTL_SIEM_WEBHOOK_SECRET) could not be resolved${code ? ` (${code})` : ''}`;
          // An unreachable backend heals by itself; a refused, missing or unusable reference needs the operator.
          return code === undefined || code === 'PROBECTL_ERR_SECRET_UNAVAILABLE' ? { kind: 'retryable', reason } : { kind: 'paused', reason };
        }
        const body = Buffer.concat(chunk.flatMap((p, i) => (i === 0 ? [p.bytes] : [Buffer.from('\n'), p.bytes])));
        const result = await ctx.sender.send({ body, contentType: 'application/json', headers }, { timeoutMs: ctx.timeoutMs, signal });
        return classifyGoogle(result);
      });
    },
    sender: ctx.sender,
    close: () => ctx.sender.close(),
  };
}
