import { int } from '../../../config/vars.ts';
import { formatterFor, type SiemFormatter } from '../../formatters/index.ts';
import { cefSyslogRecord } from '../../formatters/syslog-cef.ts';
import { SyslogSender } from '../../senders/syslog.ts';
import { problem, type TargetProvider, type TargetSettings } from '../provider.ts';
import { syslogTarget } from './target.ts';

export interface SyslogSettings extends TargetSettings {
  readonly kind: 'syslog';
  readonly format: 'syslog' | 'cef';
  readonly maxMessage: number;
}

const vars = {
  syslogMaxMessage: int('PROBECTL_SIEM_SYSLOG_MAX_MESSAGE', { default: 8096, min: 480, max: 16 * 1_048_576, doc: 'Largest RFC 5424 message (bytes) the syslog receiver accepts; rsyslog\'s default maxMessageSize is 8096. A larger event is parked (never truncated, never split into garbage).' }),
};

/** CEF lines travel over syslog as the MSG of an RFC 5424 message (formatters/syslog-cef.ts). */
const CEF_IN_SYSLOG: SiemFormatter = { ...formatterFor('cef'), record: cefSyslogRecord };

/** RFC 5425 syslog over TLS (or plain TCP to loopback), for every preset: RFC 5424 messages, or CEF lines as their MSG. */
export const syslog: TargetProvider<SyslogSettings> = {
  name: 'syslog',
  serves: 'syslog',
  vars,
  configure({ format: chosen, preset, vars: v, problems }) {
    const format = chosen ?? preset.syslogFormat;
    if (format !== 'syslog' && format !== 'cef') {
      problems.push(problem('PROBECTL_SIEM_FORMAT', `${format} cannot travel as RFC 5425 syslog frames`, 'syslog or cef (a CEF line as the syslog MSG) with a syslog+tls endpoint'));
      return undefined;
    }
    return { kind: 'syslog', provider: 'syslog', format, maxMessage: v.syslogMaxMessage as number };
  },
  build(settings, target, ctx) {
    const { ca, cert, key } = ctx.tls;
    const sender = ctx.overrides.sender ?? new SyslogSender({ host: settings.endpoint.hostname.replace(/^\[|\]$/g, ''), port: Number(settings.endpoint.port), tls: settings.transport === 'syslog-tls', ca, cert, key, settleMs: 20 });
    return syslogTarget({ sender, formatOptions: ctx.formatOptions, timeoutMs: settings.timeoutMs }, target.format === 'cef' ? CEF_IN_SYSLOG : ctx.formatter, target.maxMessage);
  },
  describe: () => 'RFC 5425 octet-counted frames',
};
