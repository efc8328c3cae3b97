import { parseJson } from '../../../core/json.ts';
import { parseRetryAfter } from '../../../core/retry/policy.ts';
import type { SiemEvent } from '../../event.ts';
import type { SiemFormatter } from '../../formatters/index.ts';
import { classifyHttp, snippet, type SinkOutcome, type Target, type TargetContext } from '../types.ts';

/**
 * An OTLP/HTTP answer's partial success (opentelemetry-proto otlp.md, "Partial Success"): a 200 whose
 * ExportLogsServiceResponse says how many records the collector rejected. Undefined when none were.
 */
function otlpRejected(body: Buffer): { count: number; message: string } | undefined {
  if (body.length === 0) return undefined;
  let answer: { partialSuccess?: { rejectedLogRecords?: unknown; errorMessage?: unknown } };
  try {
    answer = parseJson(body.toString('utf8')) as typeof answer;
  } catch {
    return undefined;
  }
  const count = Number(answer?.partialSuccess?.rejectedLogRecords ?? 0);
  if (!Number.isFinite(count) || count <= 0) return undefined;
  const message = answer.partialSuccess?.errorMessage;
  return { count, message: typeof message === 'string' ? message : '' };
}

/** Sentinel, Chronicle and generic HTTPS receivers: one POST of the format's batch body. */
export function genericTarget(ctx: TargetContext, formatter: SiemFormatter): Target {
  return {
    async attempt(events: readonly SiemEvent[], signal: AbortSignal | undefined): Promise<SinkOutcome> {
      const body = formatter.batch(events, ctx.formatOptions);
      const result = await ctx.sender.send({ body, contentType: formatter.contentType }, { timeoutMs: ctx.timeoutMs, signal });
      const judged = classifyHttp(result, Date.now(), parseRetryAfter);
      if (judged.kind === 'ok' && formatter.name === 'otlp' && result.kind === 'answered') {
        // The collector stored all but `count` records and does not say which: the batch is refused as a
        // whole, so the engine narrows it down to the refused records and parks them (the others may
        // arrive twice, with the same probectl.event.id) — never counted delivered.
        const rejected = otlpRejected(result.body);
        if (rejected) return { kind: 'permanent', status: result.status, reason: `OTLP partial success: ${rejected.count} of ${events.length} log records rejected${rejected.message ? `: ${rejected.message}` : ''}`.slice(0, 1000), response: snippet(result.body) };
      }
      return judged;
    },
    sender: ctx.sender,
    close: () => ctx.sender.close(),
  };
}
