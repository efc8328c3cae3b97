import { randomUUID } from 'node:crypto';
import { parseRetryAfter } from '../../../core/retry/policy.ts';
import { DCR_MAX_FIELD_BYTES, dcrOversizedColumn, dcrRecord } from '../../formatters/dcr.ts';
import type { TransportResult } from '../../senders/types.ts';
import { sendWithBearer, type BearerSource } from '../shared/bearer.ts';
import { chunkBySize, sendChunks, type Piece, type Refusal } from '../shared/chunks.ts';
import { classifyHttp, snippet, type SinkOutcome, type Target, type TargetContext } from '../types.ts';
import { parseJson } from '../../../core/json.ts';

/** The Logs Ingestion API's limit on one call, compressed or not (Azure Monitor service limits, "Logs Ingestion API"). */
export const LOGS_INGESTION_MAX_BYTES = 1_048_576;

export interface SentinelOptions {
  /** Most bytes of one request body: PROBECTL_SIEM_BATCH_BYTES, never above LOGS_INGESTION_MAX_BYTES. */
  maxBytes: number;
  bearer: BearerSource;
}

// Error codes of a 400 that say the request's target (stream, DCR, version) is wrong, not an event: pause, never park.
const CONFIG_CODE = /stream|dcr|datacollection|apiversion|endpoint|contenttype|contentencoding/i;

function errorCode(result: Extract<TransportResult, { kind: 'answered' }>): string | undefined {
  const header = result.headers['x-ms-error-code'];
  if (typeof header === 'string' && header !== '') return header;
  try {
    const code = (parseJson(result.body.toString('utf8')) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Logs Ingestion API's answers (REST reference 2023-01-01 and the
 * Logs Ingestion tutorial's troubleshooting): 204 accepted; 401/403 the
 * token or its role assignment on the DCR is wrong — pause (a 401 to a cached
 * token is first tried once more with a fresh one: sendWithBearer); 404 the DCR or
 * stream does not exist at this endpoint — pause; 400 with a code about the
 * stream, DCR or API version — pause; another 400 — refused (bisected down
 * to the event, which is parked); 413 over 1 MB — split; 429 (with
 * Retry-After) and 5xx — retried.
 */
export function classifySentinel(result: TransportResult): SinkOutcome {
  if (result.kind === 'answered') {
    const code = errorCode(result);
    if (result.status === 404) return { kind: 'paused', reason: `HTTP 404${code ? ` ${code}` : ''}: the data collection rule or its stream does not exist at this endpoint (check the DCR immutable id, the stream name and the data collection endpoint)` };
    if (result.status === 400 && code !== undefined && CONFIG_CODE.test(code)) return { kind: 'paused', reason: `HTTP 400 ${code}: the Logs Ingestion API refused the request's target (stream, DCR or API version)` };
    const judged = classifyHttp(result, Date.now(), parseRetryAfter);
    if (judged.kind === 'permanent' && code !== undefined) return { ...judged, reason: `HTTP ${result.status} ${code}`, response: snippet(result.body) };
    return judged;
  }
  return classifyHttp(result, Date.now(), parseRetryAfter);
}

/**
 * Microsoft Sentinel through the Azure Monitor Logs Ingestion API: POST
 * `{DCE}/dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01`
 * with a JSON array of DCR records (formatters/dcr.ts) and an Entra bearer
 * token. A batch is split into calls of at most `maxBytes`; a record that
 * alone exceeds a call, or has a column the API would truncate (over 64 KB),
 * is refused and parked. A call acknowledged with 204 is never sent again.
 */
export function sentinelTarget(ctx: TargetContext, opts: SentinelOptions): Target {
  const maxBytes = Math.min(opts.maxBytes, LOGS_INGESTION_MAX_BYTES);
  return {
    async attempt(events, signal) {
      const pieces: Piece[] = [];
      const tooWide: Refusal[] = [];
      events.forEach((event, index) => {
        const wide = dcrOversizedColumn(event, DCR_MAX_FIELD_BYTES);
        if (wide) tooWide.push({ index, reason: `column ${wide.column} holds ${wide.bytes} bytes; the Logs Ingestion API keeps at most ${DCR_MAX_FIELD_BYTES} bytes of a value and would truncate it` });
        else pieces.push({ index, bytes: Buffer.from(dcrRecord(event, ctx.formatOptions), 'utf8') });
      });
      const { chunks, refused } = chunkBySize(pieces, maxBytes, 2, 1, 'a record');
      return sendChunks(chunks, [...tooWide, ...refused].sort((a, b) => a.index - b.index), async (chunk) => {
        const parts: Buffer[] = [Buffer.from('[')];
        chunk.forEach((p, i) => parts.push(i === 0 ? p.bytes : Buffer.concat([Buffer.from(','), p.bytes])));
        parts.push(Buffer.from(']'));
        const body = Buffer.concat(parts);
        return sendWithBearer(opts.bearer, signal, (authorization) => ctx.sender.send({
          body,
          contentType: 'application/json',
          headers: { authorization, 'x-ms-client-request-id': randomUUID() },
        }, { timeoutMs: ctx.timeoutMs, signal }), classifySentinel);
      });
    },
    sender: ctx.sender,
    close: () => ctx.sender.close(),
  };
}
