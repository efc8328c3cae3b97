import type { SiemEvent } from '../event.ts';
import type { SiemFormatter } from '../formatters/index.ts';
import { frame } from '../senders/syslog.ts';
import type { BatchOutcome, Target, TargetContext } from './types.ts';

/** RFC 5425 receivers: every event one octet-counted RFC 5424 message. */
export function syslogTarget(ctx: TargetContext, formatter: SiemFormatter): Target {
  return {
    async attempt(events: readonly SiemEvent[], signal: AbortSignal | undefined): Promise<BatchOutcome> {
      const body = frame(events.map((e) => formatter.record(e, ctx.formatOptions)));
      const result = await ctx.sender.send({ body, contentType: 'application/octet-stream' }, { timeoutMs: ctx.timeoutMs, signal });
      return result.kind === 'failed' ? { kind: 'retryable', reason: result.reason } : { kind: 'ok' };
    },
    close: () => ctx.sender.close(),
  };
}
