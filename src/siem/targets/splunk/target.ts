import { randomUUID } from 'node:crypto';
import { parseRetryAfter } from '../../../core/retry/policy.ts';
import type { SiemEvent } from '../../event.ts';
import type { SiemFormatter } from '../../formatters/index.ts';
import { classifyHttp, snippet, type AckAnswer, type AckTicket, type Target, type TargetContext } from '../types.ts';
import { parseJson } from '../../../core/json.ts';

export interface SplunkOptions {
  endpoint: URL;
  mode: 'raw' | 'event';
  ack: boolean;
  sourcetype: string;
  index: string | undefined;
  /** Longest wait for an indexer acknowledgement before the batch is re-sent. */
  ackTimeoutMs: number;
  /** Fixed channel (tests); a random GUID per process otherwise. */
  channel?: string;
}

// HEC answer codes that mean the configuration, not the event, is wrong: pause, never park.
const CONFIG_CODES = new Set([7, 10, 11, 14, 16]);
// HEC answer codes about the events themselves.
const EVENT_CODES = new Set([5, 6, 12, 13, 15]);

interface HecAnswer { text?: string; code?: number; ackId?: number; 'invalid-event-number'?: number }

function parseAnswer(body: Buffer): HecAnswer | undefined {
  try {
    const v = parseJson(body.toString('utf8')) as unknown;
    return v && typeof v === 'object' ? (v as HecAnswer) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Splunk HTTP Event Collector: the raw endpoint (newline-separated events) or
 * the event endpoint (`{"time","event","sourcetype","source"}` objects). With
 * indexer acknowledgement, every request carries the channel and a batch
 * counts as delivered only once /services/collector/ack reports its ackId true
 * (`pending` outcomes, asked through `confirm`).
 */
export function splunkTarget(ctx: TargetContext, formatter: SiemFormatter, opts: SplunkOptions): Target {
  const channel = opts.channel ?? randomUUID();
  const basePath = opts.endpoint.pathname;
  const ackPath = basePath.replace(/\/(raw|event)(\/1\.0)?\/?$/, '').replace(/\/$/, '').concat('/ack');

  function encode(events: readonly SiemEvent[]): { body: Buffer; path: string } {
    if (opts.mode === 'raw') {
      const q = new URLSearchParams(opts.endpoint.search);
      q.set('channel', channel);
      q.set('sourcetype', opts.sourcetype);
      q.set('source', 'probectl');
      if (opts.index) q.set('index', opts.index);
      return { body: formatter.batch(events, ctx.formatOptions), path: `${basePath}?${q}` };
    }
    // A JSON format's record already is JSON text: it becomes the `event` object as is, never parsed and re-serialised.
    const jsonRecord = formatter.produces === 'json';
    const parts: string[] = [];
    for (const e of events) {
      const record = formatter.record(e, ctx.formatOptions);
      const envelope = JSON.stringify({
        time: Date.parse(e.time) / 1000,
        host: ctx.formatOptions.hostname,
        source: 'probectl',
        sourcetype: opts.sourcetype,
        ...(opts.index ? { index: opts.index } : {}),
        fields: { tenant: e.tenant, category: e.category },
      });
      parts.push(`${envelope.slice(0, -1)},"event":${jsonRecord ? record : JSON.stringify(record)}}`);
    }
    return { body: Buffer.from(parts.join('\n'), 'utf8'), path: `${basePath}${opts.endpoint.search}` };
  }

  /** One query of /services/collector/ack for one ackId; the engine's retry loop decides when to ask again. */
  async function confirm(ack: AckTicket, signal: AbortSignal | undefined): Promise<AckAnswer> {
    const result = await ctx.sender.send(
      { body: Buffer.from(`{"acks":[${ack.id}]}`), contentType: 'application/json', path: `${ackPath}?channel=${encodeURIComponent(channel)}`, headers: { 'x-splunk-request-channel': channel } },
      { timeoutMs: ctx.timeoutMs, signal },
    );
    if (result.kind === 'answered' && result.status === 200) {
      const acks = (parseAnswer(result.body) as { acks?: Record<string, boolean> } | undefined)?.acks;
      return acks?.[ack.id] === true ? { kind: 'confirmed' } : { kind: 'waiting' };
    }
    const judged = classifyHttp(result, Date.now(), parseRetryAfter);
    if (judged.kind === 'paused' || judged.kind === 'retryable') return judged;
    const answer = result.kind === 'answered' ? parseAnswer(result.body) : undefined;
    return { kind: 'paused', reason: `HEC ack query refused (${answer?.text ?? (judged.kind === 'permanent' ? judged.reason : judged.kind)}); is indexer acknowledgement enabled on the token?` };
  }

  const ticket = (ackId: number): AckTicket => ({ id: String(ackId), timeoutMs: opts.ackTimeoutMs });

  return {
    async attempt(events, signal) {
      const { body, path } = encode(events);
      const headers: Record<string, string> = {};
      if (opts.ack || opts.mode === 'raw') headers['x-splunk-request-channel'] = channel;
      const result = await ctx.sender.send({ body, path, headers, contentType: opts.mode === 'raw' ? 'text/plain; charset=utf-8' : 'application/json' }, { timeoutMs: ctx.timeoutMs, signal });
      const judged = classifyHttp(result, Date.now(), parseRetryAfter);
      if (result.kind !== 'answered') return judged;
      const answer = parseAnswer(result.body);
      if (judged.kind === 'permanent' && answer?.code !== undefined) {
        if (CONFIG_CODES.has(answer.code)) return { kind: 'paused', reason: `HEC refused the configuration: ${answer.text ?? `code ${answer.code}`}` };
        const bad = answer['invalid-event-number'];
        if (answer.code === 6 && opts.mode === 'event' && typeof bad === 'number' && bad >= 0 && bad < events.length) {
          // HEC accepted the events before the invalid one and stopped there. Without acknowledgement that
          // acceptance is final; with it, they count only once their ackId is confirmed, and when HEC
          // gave no ackId they are sent again rather than assumed stored. The rest are retried.
          const before = events.map((_, i) => i).filter((i) => i < bad);
          const after = events.map((_, i) => i).filter((i) => i > bad);
          const ackId = answer.ackId;
          const awaiting = opts.ack && typeof ackId === 'number' && before.length > 0 ? { indexes: before, ack: ticket(ackId) } : undefined;
          return {
            kind: 'partial',
            rejected: [{ index: bad, status: result.status, reason: answer.text ?? 'Invalid data format', response: snippet(result.body) }],
            retry: opts.ack && !awaiting ? [...before, ...after] : after,
            retryReason: 'events after an invalid one',
            pending: awaiting,
          };
        }
        if (!EVENT_CODES.has(answer.code)) return { kind: 'paused', reason: `HEC answered code ${answer.code}: ${answer.text ?? ''}` };
      }
      if (judged.kind !== 'ok') return judged;
      // HEC's positive answer is `{"text":"Success","code":0}`. A 2xx saying anything else — another HEC code,
      // an HTML page from a proxy or Splunk Web, an empty body — proves nothing was stored: never count it.
      if (answer?.code !== 0) {
        if (answer?.code === 8 || answer?.code === 9) return { kind: 'retryable', reason: `HEC answered HTTP ${result.status} with code ${answer.code}: ${answer.text ?? ''}`, retryAfterMs: parseRetryAfter(result.headers['retry-after'], Date.now()) };
        return { kind: 'paused', reason: `HEC answered HTTP ${result.status} without {"code":0}${typeof answer?.code === 'number' ? ` (code ${answer.code}: ${answer.text ?? ''})` : ''}: is PROBECTL_SIEM_ENDPOINT a HEC endpoint?` };
      }
      if (!opts.ack) return { kind: 'ok' };
      if (typeof answer?.ackId !== 'number') return { kind: 'paused', reason: 'HEC returned no ackId: indexer acknowledgement is disabled on this token (set it, or PROBECTL_SIEM_SPLUNK_ACK=false)' };
      return { kind: 'pending', ack: ticket(answer.ackId) };
    },
    ...(opts.ack ? { confirm } : {}),
    sender: ctx.sender,
    close: () => ctx.sender.close(),
  };
}
