import type { SiemEvent } from '../event.ts';
import { cefRecord } from './cef.ts';
import type { FormatOptions } from './options.ts';
import { SYSLOG_APP_NAME, SYSLOG_SEVERITY, syslogMsgId, syslogTimestamp } from './syslog.ts';

/**
 * A CEF line carried as the MSG of an RFC 5424 message — what a syslog
 * collector in front of a SIEM expects (the Azure Monitor Agent's "CEF via
 * AMA" forwarder, ArcSight and QRadar syslog listeners):
 * `<PRI>1 TIMESTAMP HOSTNAME probectl - MSGID - CEF:0|…`. No structured data
 * (the CEF extension carries every field) and no BOM, so MSG starts with
 * `CEF:` as those parsers look for.
 */
export function cefSyslogRecord(event: SiemEvent, opts: FormatOptions): string {
  const pri = opts.syslogFacility * 8 + SYSLOG_SEVERITY[event.severity];
  return `<${pri}>1 ${syslogTimestamp(event.time)} ${opts.hostname} ${SYSLOG_APP_NAME} - ${syslogMsgId(event.action)} - ${cefRecord(event, opts)}`;
}
