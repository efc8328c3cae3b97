import { parseRetryAfter } from '../../../core/retry/policy.ts';
import type { SiemEvent } from '../../event.ts';
import type { SiemFormatter } from '../../formatters/index.ts';
import { classifyHttp, type SinkOutcome, type Target, type TargetContext } from '../types.ts';

/** Sentinel, Chronicle and generic HTTPS receivers: one POST of the format's batch body. */
export function genericTarget(ctx: TargetContext, formatter: SiemFormatter): Target {
  return {
    async attempt(events: readonly SiemEvent[], signal: AbortSignal | undefined): Promise<SinkOutcome> {
      const body = formatter.batch(events, ctx.formatOptions);
      const result = await ctx.sender.send({ body, contentType: formatter.contentType }, { timeoutMs: ctx.timeoutMs, signal });
      return classifyHttp(result, Date.now(), parseRetryAfter);
    },
    sender: ctx.sender,
    close: () => ctx.sender.close(),
  };
}
