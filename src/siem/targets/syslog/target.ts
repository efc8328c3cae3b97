import type { SiemEvent } from '../../event.ts';
import type { SiemFormatter } from '../../formatters/index.ts';
import { frame } from '../../senders/syslog.ts';
import type { SinkOutcome, Rejection, Target, TargetContext } from '../types.ts';

/**
 * RFC 5425 receivers: every event one octet-counted RFC 5424 message. A
 * message larger than the receiver accepts is refused here (parked) rather
 * than sent: rsyslog would cut it and read the rest as a separate, garbage
 * message.
 */
export function syslogTarget(ctx: TargetContext, formatter: SiemFormatter, maxMessageBytes: number): Target {
  return {
    async attempt(events: readonly SiemEvent[], signal: AbortSignal | undefined): Promise<SinkOutcome> {
      const records: string[] = [];
      const rejected: Rejection[] = [];
      events.forEach((e, index) => {
        const record = formatter.record(e, ctx.formatOptions);
        const size = Buffer.byteLength(record, 'utf8');
        if (size > maxMessageBytes) rejected.push({ index, status: undefined, reason: `syslog message of ${size} bytes exceeds PROBECTL_SIEM_SYSLOG_MAX_MESSAGE (${maxMessageBytes})`, response: '' });
        else records.push(record);
      });
      if (records.length > 0) {
        const result = await ctx.sender.send({ body: frame(records), contentType: 'application/octet-stream' }, { timeoutMs: ctx.timeoutMs, signal });
        if (result.kind === 'failed') return { kind: 'retryable', reason: result.reason };
      }
      return rejected.length === 0 ? { kind: 'ok' } : { kind: 'partial', rejected, retry: [], retryReason: '' };
    },
    sender: ctx.sender,
    close: () => ctx.sender.close(),
  };
}
