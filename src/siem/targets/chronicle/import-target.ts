import { parseRetryAfter } from '../../../core/retry/policy.ts';
import type { SiemEvent } from '../../event.ts';
import { standaloneRecord, type SiemFormatter } from '../../formatters/index.ts';
import type { TransportResult } from '../../senders/types.ts';
import { sendWithBearer, type BearerSource } from '../shared/bearer.ts';
import { chunkBySize, sendChunks, type Piece } from '../shared/chunks.ts';
import { classifyHttp, snippet, type SinkOutcome, type Target, type TargetContext } from '../types.ts';
import { parseJson } from '../../../core/json.ts';

export interface ChronicleImportOptions {
  mode: 'logs' | 'events';
  /** Most bytes of one request body (PROBECTL_SIEM_BATCH_BYTES). */
  maxBytes: number;
  bearer: BearerSource;
  /** The clock for `collectionTime` (ms since the epoch). */
  now?: () => number;
}

/** A Google API error body: `{"error":{"code","message","status"}}` (google.rpc.Status over HTTP). */
function googleStatus(result: Extract<TransportResult, { kind: 'answered' }>): string | undefined {
  try {
    const status = (parseJson(result.body.toString('utf8')) as { error?: { status?: unknown } }).error?.status;
    return typeof status === 'string' && /^[A-Z_]{1,40}$/.test(status) ? status : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Chronicle API answers (google.rpc codes over HTTP): 2xx imported; 401
 * UNAUTHENTICATED and 403 PERMISSION_DENIED (the account lacks
 * chronicle.logs.import / chronicle.events.import) — pause (the import methods
 * first try a 401 to a cached token once more with a fresh one: sendWithBearer); 404 NOT_FOUND (no
 * such instance, log type or feed) and 400 FAILED_PRECONDITION — pause: the
 * configuration, not an event, is wrong; 400 INVALID_ARGUMENT — refused (the
 * whole request is rejected when one entry is invalid, so it is bisected down
 * to that entry, which is parked); 413 — split; 429 RESOURCE_EXHAUSTED and
 * 5xx — retried (honouring Retry-After).
 */
export function classifyGoogle(result: TransportResult): SinkOutcome {
  if (result.kind !== 'answered') return classifyHttp(result, Date.now(), parseRetryAfter);
  const status = googleStatus(result);
  if (result.status === 404) return { kind: 'paused', reason: `HTTP 404${status ? ` ${status}` : ''}: the Chronicle instance, log type or feed in PROBECTL_SIEM_ENDPOINT does not exist` };
  if (result.status === 400 && status === 'FAILED_PRECONDITION') return { kind: 'paused', reason: 'HTTP 400 FAILED_PRECONDITION: the Chronicle instance refuses imports in its present state' };
  const judged = classifyHttp(result, Date.now(), parseRetryAfter);
  if (judged.kind === 'permanent' && status !== undefined) return { ...judged, reason: `HTTP ${result.status} ${status}`, response: snippet(result.body) };
  if (judged.kind === 'paused' && status !== undefined) return { kind: 'paused', reason: `HTTP ${result.status} ${status}: Google SecOps refused the credentials or their permissions` };
  return judged;
}

/** RFC 3339 from milliseconds since the epoch. */
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The Chronicle API import methods (v1alpha/v1beta reference; request bodies
 * from ImportLogsRequest and ImportEventsRequest in
 * google/cloud/chronicle/v1beta/ingestion.proto):
 * - logs:import — `{"inlineSource":{"logs":[{"data","logEntryTime","collectionTime"}]}}`,
 *   `data` the event in the chosen format, base64; `logEntryTime` the event
 *   time; `collectionTime` now (which the API requires to be after it);
 * - events:import — `{"inlineSource":{"events":[{"udm":{…}}]}}`.
 * Requests carry a Google OAuth bearer token. A batch is split into requests
 * of at most `maxBytes`; an entry that alone exceeds one is parked.
 */
export function chronicleImportTarget(ctx: TargetContext, formatter: SiemFormatter, opts: ChronicleImportOptions): Target {
  const now = opts.now ?? Date.now;
  const head = opts.mode === 'logs' ? '{"inlineSource":{"logs":[' : '{"inlineSource":{"events":[';
  const tail = ']}}';

  function entry(event: SiemEvent, collectedMs: number): Buffer {
    if (opts.mode === 'events') return Buffer.from(`{"udm":${formatter.record(event, ctx.formatOptions)}}`, 'utf8');
    const eventMs = Date.parse(event.time);
    // collectionTime must come after logEntryTime: never before the event, even with a clock behind.
    const collected = collectedMs > eventMs ? collectedMs : Math.floor(eventMs) + 1;
    const data = standaloneRecord(formatter, event, ctx.formatOptions).toString('base64');
    return Buffer.from(`{"data":"${data}","logEntryTime":"${event.time}","collectionTime":"${iso(collected)}"}`, 'utf8');
  }

  return {
    async attempt(events, signal) {
      const collectedMs = now();
      const pieces: Piece[] = events.map((e, index) => ({ index, bytes: entry(e, collectedMs) }));
      const { chunks, refused } = chunkBySize(pieces, opts.maxBytes, head.length + tail.length, 1, opts.mode === 'logs' ? 'a log entry' : 'a UDM event');
      return sendChunks(chunks, refused, async (chunk) => {
        const parts: Buffer[] = [Buffer.from(head)];
        chunk.forEach((p, i) => parts.push(i === 0 ? p.bytes : Buffer.concat([Buffer.from(','), p.bytes])));
        parts.push(Buffer.from(tail));
        const body = Buffer.concat(parts);
        return sendWithBearer(opts.bearer, signal, (authorization) => ctx.sender.send({ body, contentType: 'application/json', headers: { authorization } }, { timeoutMs: ctx.timeoutMs, signal }), classifyGoogle);
      });
    },
    sender: ctx.sender,
    close: () => ctx.sender.close(),
  };
}
