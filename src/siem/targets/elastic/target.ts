import { parseRetryAfter } from '../../../core/retry/policy.ts';
import type { SiemEvent } from '../../event.ts';
import type { SiemFormatter } from '../../formatters/index.ts';
import { classifyHttp, snippet, type SinkOutcome, type Rejection, type Target, type TargetContext } from '../types.ts';
import { parseJson } from '../../../core/json.ts';

interface BulkItem { status?: number; error?: { type?: string; reason?: string } }
interface BulkAnswer { errors?: boolean; items?: Array<Record<string, BulkItem>> }

/**
 * Elasticsearch `_bulk`: one `create` action per event with `_id` = the event
 * id, so a re-send is a 409 (already indexed), never a duplicate. A 200 with
 * `errors: true` is judged item by item: 2xx and 409 delivered, 429/5xx
 * retried, 401/403/404 retried with the stream paused (the key's privileges
 * or the index, not the event; whether or not other items were stored), other
 * 4xx refused (parked).
 */
export function elasticTarget(ctx: TargetContext, formatter: SiemFormatter, index: string | undefined, indexInPath: boolean): Target {
  function encode(events: readonly SiemEvent[]): Buffer {
    let out = '';
    for (const e of events) {
      const action = { create: { ...(indexInPath || !index ? {} : { _index: index }), _id: e.id } };
      out += `${JSON.stringify(action)}\n${formatter.record(e, ctx.formatOptions)}\n`;
    }
    return Buffer.from(out, 'utf8');
  }

  function judgeItems(answer: BulkAnswer, count: number): SinkOutcome {
    const items = answer.items;
    if (!Array.isArray(items) || items.length !== count) return { kind: 'retryable', reason: `_bulk answered ${Array.isArray(items) ? items.length : 'no'} items for ${count} actions` };
    const rejected: Rejection[] = [];
    const retry: number[] = [];
    let refusedTarget: string | undefined;
    let stored = 0;
    items.forEach((wrapper, index) => {
      const item = Object.values(wrapper)[0] ?? {};
      const status = item.status ?? 0;
      if ((status >= 200 && status < 300) || status === 409) {
        stored += 1;
        return;
      }
      // Per-item 401/403 (the API key lacks create_doc on the index: Elasticsearch answers 200 with every item
      // refused) and 404 (index_not_found_exception: no such index or data stream, auto-create off) are about
      // the configuration, not the event: they are retried with the stream paused, never parked.
      if (status === 401 || status === 403 || status === 404) {
        refusedTarget ??= `${status} ${item.error?.type ?? 'error'}`;
        retry.push(index);
      } else if (status === 429 || status >= 500 || status === 0) retry.push(index);
      else rejected.push({ index, status, reason: `${item.error?.type ?? 'error'}: ${item.error?.reason ?? `status ${status}`}`, response: snippet(JSON.stringify(item)) });
    });
    if (rejected.length === 0 && retry.length === 0) return { kind: 'ok' };
    if (refusedTarget !== undefined && stored === 0 && rejected.length === 0) {
      return { kind: 'paused', reason: `_bulk items answered ${refusedTarget}: the API key's privileges or the index / data stream in PROBECTL_SIEM_ENDPOINT are wrong` };
    }
    // Some stored, some refused 401/403/404: the refused ones are retried with the stream paused, the same alarm.
    return { kind: 'partial', rejected, retry, retryReason: refusedTarget ? `_bulk items answered ${refusedTarget}: the API key's privileges or the index / data stream in PROBECTL_SIEM_ENDPOINT are wrong` : '_bulk items answered 429/5xx', retryPaused: refusedTarget !== undefined };
  }

  return {
    async attempt(events, signal) {
      const result = await ctx.sender.send({ body: encode(events), contentType: 'application/x-ndjson' }, { timeoutMs: ctx.timeoutMs, signal });
      const judged = classifyHttp(result, Date.now(), parseRetryAfter);
      if (judged.kind !== 'ok' || result.kind !== 'answered') return judged;
      let answer: BulkAnswer;
      try {
        answer = parseJson(result.body.toString('utf8')) as BulkAnswer;
      } catch {
        return { kind: 'retryable', reason: '_bulk answered 2xx without a JSON body' };
      }
      // Every item is judged by its own status, whatever `errors` claims: an event counts only on its own 2xx or 409.
      return judgeItems(answer, events.length);
    },
    sender: ctx.sender,
    close: () => ctx.sender.close(),
  };
}
