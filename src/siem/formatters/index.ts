import { ProbectlError } from '../../core/errors.ts';
import type { SiemEvent } from '../event.ts';
import { cefRecord } from './cef.ts';
import { dcrBatch, dcrRecord } from './dcr.ts';
import { ecsRecord } from './ecs.ts';
import type { FormatOptions } from './options.ts';
import { otlpLogRecordJson, otlpRequestBytes } from './otlp.ts';
import { syslogRecord } from './syslog.ts';
import { udmRecord } from './udm.ts';

export const SIEM_FORMATS = ['syslog', 'cef', 'ecs', 'otlp', 'udm', 'dcr'] as const;
export type SiemFormat = (typeof SIEM_FORMATS)[number];

/**
 * A wire format: pure functions of (events, options). `record` renders one
 * event; `batch` renders the body of one request with the framing the format
 * needs. A sender adds transport framing only (RFC 5425 octet counting, a
 * Splunk HEC event envelope, Elastic `_bulk` action lines).
 */
export interface SiemFormatter {
  readonly name: SiemFormat;
  /** What `record` produces: a JSON object's text (a target may embed it as JSON), or a text line. */
  readonly produces: 'json' | 'text';
  /**
   * Whether one record stands alone as a document of the format. An OTLP
   * LogRecord does not (it needs its resource): a receiver taking one log per
   * event gets a one-event batch instead (standaloneRecord).
   */
  readonly standalone: boolean;
  /** Content type of a batch body. */
  readonly contentType: string;
  /** One event: a syslog or CEF line (no newline), an ECS document, an OTLP LogRecord, a UDM event or a DCR record JSON object. */
  record(event: SiemEvent, opts: FormatOptions): string;
  /** Many events: one line each for syslog and CEF, one document per line (NDJSON) for ECS and UDM, one ExportLogsServiceRequest for OTLP, a JSON array for DCR. */
  batch(events: readonly SiemEvent[], opts: FormatOptions): Buffer;
}

function lines(render: (event: SiemEvent, opts: FormatOptions) => string): (events: readonly SiemEvent[], opts: FormatOptions) => Buffer {
  return (events, opts) => {
    let out = '';
    for (const e of events) out += `${render(e, opts)}\n`;
    return Buffer.from(out, 'utf8');
  };
}

export const FORMATTERS: Readonly<Record<SiemFormat, SiemFormatter>> = Object.freeze({
  syslog: { name: 'syslog', produces: 'text', standalone: true, contentType: 'text/plain; charset=utf-8', record: syslogRecord, batch: lines(syslogRecord) },
  cef: { name: 'cef', produces: 'text', standalone: true, contentType: 'text/plain; charset=utf-8', record: cefRecord, batch: lines(cefRecord) },
  ecs: { name: 'ecs', produces: 'json', standalone: true, contentType: 'application/x-ndjson', record: ecsRecord, batch: lines(ecsRecord) },
  otlp: {
    name: 'otlp',
    produces: 'json',
    standalone: false,
    contentType: 'application/json',
    record: (event: SiemEvent) => otlpLogRecordJson(event),
    batch: otlpRequestBytes,
  },
  udm: { name: 'udm', produces: 'json', standalone: true, contentType: 'application/x-ndjson', record: udmRecord, batch: lines(udmRecord) },
  dcr: { name: 'dcr', produces: 'json', standalone: true, contentType: 'application/json', record: dcrRecord, batch: dcrBatch },
});

/**
 * One event as a self-contained document of the format, for receivers that
 * take one log per event (Chronicle logs:import entries, webhook lines): the
 * record, except OTLP, whose record needs its resource — a one-event
 * ExportLogsServiceRequest (with `probectl.tenant_id`).
 */
export function standaloneRecord(formatter: SiemFormatter, event: SiemEvent, opts: FormatOptions): Buffer {
  return formatter.standalone ? Buffer.from(formatter.record(event, opts), 'utf8') : formatter.batch([event], opts);
}

export function isSiemFormat(name: string): name is SiemFormat {
  return (SIEM_FORMATS as readonly string[]).includes(name);
}

/** The formatter of a format name; an unknown name is a PROBECTL_ERR_SIEM_ENCODING error listing the accepted ones. */
export function formatterFor(name: string): SiemFormatter {
  if (!isSiemFormat(name)) throw new ProbectlError('PROBECTL_ERR_SIEM_ENCODING', `unknown SIEM format; accepted: ${SIEM_FORMATS.join(', ')}`);
  return FORMATTERS[name];
}
