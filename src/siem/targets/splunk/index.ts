import { bool, duration, optStr } from '../../../config/vars.ts';
import type { SiemSettings } from '../../config.ts';
import { httpsSender, tokenAuthorization } from '../shared/http.ts';
import { problem, type TargetProvider, type TargetSettings } from '../provider.ts';
import { splunkTarget } from './target.ts';

export interface SplunkSettings extends TargetSettings {
  readonly kind: 'splunk-raw' | 'splunk-event';
  readonly ack: boolean;
  readonly ackTimeoutMs: number;
  readonly sourcetype: string | undefined;
  readonly index: string | undefined;
}

const vars = {
  splunkAck: bool('PROBECTL_SIEM_SPLUNK_ACK', { default: false, doc: 'Use HEC indexer acknowledgement: send X-Splunk-Request-Channel and move the cursor only after /services/collector/ack confirms the batch.' }),
  splunkAckTimeout: duration('PROBECTL_SIEM_SPLUNK_ACK_TIMEOUT', { default: '2m', minMs: 100, maxMs: 3_600_000, doc: 'How long to wait for an indexer acknowledgement before the batch is sent again (same ids; Splunk may then hold it twice).' }),
  splunkSourcetype: optStr('PROBECTL_SIEM_SPLUNK_SOURCETYPE', { doc: 'HEC sourcetype (default `probectl:<format>`).' }),
  splunkIndex: optStr('PROBECTL_SIEM_SPLUNK_INDEX', { pattern: /^[a-z0-9_][a-z0-9_-]{0,79}$/, accepts: 'a Splunk index name', doc: 'HEC target index (default: the token\'s default index).' }),
};

/** Splunk HTTP Event Collector: the raw or event endpoint, optional indexer acknowledgement. */
export const splunk: TargetProvider<SplunkSettings> = {
  name: 'splunk',
  serves: 'https',
  preset: { name: 'splunk', authScheme: 'Splunk', defaultFormat: 'cef', syslogFormat: 'syslog', tokenRequired: true, examples: ['https://splunk.example:8088/services/collector/raw'], summary: '`Authorization: Splunk`, cef' },
  vars,
  unused: { splunkAck: { problem: 'indexer acknowledgement exists only for Splunk HEC', accepts: 'true only with the splunk preset' } },
  configure({ url, format: chosen, preset, vars: v, problems }) {
    const path = url.pathname.replace(/\/+$/, '');
    const format = chosen ?? preset.defaultFormat;
    let kind: SplunkSettings['kind'] | undefined;
    if (path.endsWith('/services/collector/raw') || path.endsWith('/services/collector/raw/1.0')) kind = 'splunk-raw';
    else if (path.endsWith('/services/collector/event') || path.endsWith('/services/collector') || path.endsWith('/services/collector/event/1.0')) kind = 'splunk-event';
    else problems.push(problem('PROBECTL_SIEM_ENDPOINT', 'a Splunk HEC endpoint path must end in /services/collector/raw or /services/collector/event', 'https://splunk:8088/services/collector/raw'));
    if (format === 'otlp' || format === 'dcr' || format === 'udm') problems.push(problem('PROBECTL_SIEM_FORMAT', format === 'otlp' ? 'OTLP is not a Splunk HEC payload' : `${format} is not a payload of the splunk preset's endpoint`, 'syslog, cef or ecs with the splunk preset'));
    if (!kind) return undefined;
    return {
      kind, provider: 'splunk', format, ack: v.splunkAck as boolean, ackTimeoutMs: v.splunkAckTimeout as number,
      sourcetype: v.splunkSourcetype as string | undefined, index: v.splunkIndex as string | undefined,
    };
  },
  build(settings: SiemSettings, target, ctx) {
    const sender = httpsSender(settings, ctx, tokenAuthorization(settings, ctx));
    return splunkTarget({ sender, formatOptions: ctx.formatOptions, timeoutMs: settings.timeoutMs }, ctx.formatter, {
      endpoint: settings.endpoint,
      mode: target.kind === 'splunk-raw' ? 'raw' : 'event',
      ack: target.ack,
      sourcetype: target.sourcetype ?? `probectl:${settings.format}`,
      index: target.index,
      ackTimeoutMs: target.ackTimeoutMs,
      ...(ctx.overrides.splunkChannel ? { channel: ctx.overrides.splunkChannel } : {}),
    });
  },
  describe: (settings) => `preset ${settings.preset}, Authorization: Splunk <token>`,
};
