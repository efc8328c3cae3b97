import { ProbectlError } from '../../core/errors.ts';

/** The documentation example enterprise number (RFC 5612); set PROBECTL_SIEM_SYSLOG_PEN to your own. */
export const DEFAULT_SYSLOG_PEN = 32473;
/** RFC 5424 facility 13, "log audit". */
export const DEFAULT_SYSLOG_FACILITY = 13;

/**
 * Everything a formatter needs besides the event. Formatters read nothing
 * else: no clock, no environment, no secrets. The caller supplies the real
 * host name (os.hostname()) and the probectl version.
 */
export interface FormatOptions {
  /** The sending host: syslog HOSTNAME, CEF dvchost, ECS observer.hostname, OTLP resource host.name. */
  readonly hostname: string;
  /** probectl's version: CEF Device Version, ECS observer.version, OTLP service.version and scope version. */
  readonly version: string;
  /** Private enterprise number of the syslog SD-ID `probectl@<pen>`. */
  readonly syslogPen: number;
  /** RFC 5424 facility 0–23 of the syslog PRI. */
  readonly syslogFacility: number;
}

const PRINTUSASCII = /^[\x21-\x7e]+$/;

/**
 * Fills defaults and checks the options once, so formatters can trust them:
 * the host name must be 1–255 printable US-ASCII characters without spaces
 * (RFC 5424 HOSTNAME), the enterprise number a positive integer and the
 * facility 0–23.
 */
export function formatOptions(input: { hostname: string; version: string; syslogPen?: number | undefined; syslogFacility?: number | undefined }): FormatOptions {
  const hostname = input.hostname.trim();
  if (!PRINTUSASCII.test(hostname) || hostname.length > 255) {
    throw new ProbectlError('PROBECTL_ERR_SIEM_ENCODING', 'the host name must be 1 to 255 printable US-ASCII characters without spaces (RFC 5424 HOSTNAME)');
  }
  const pen = input.syslogPen ?? DEFAULT_SYSLOG_PEN;
  if (!Number.isSafeInteger(pen) || pen < 1) throw new ProbectlError('PROBECTL_ERR_SIEM_ENCODING', 'the syslog private enterprise number must be a positive integer');
  const facility = input.syslogFacility ?? DEFAULT_SYSLOG_FACILITY;
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) throw new ProbectlError('PROBECTL_ERR_SIEM_ENCODING', 'the syslog facility must be an integer from 0 to 23');
  if (input.version.trim() === '') throw new ProbectlError('PROBECTL_ERR_SIEM_ENCODING', 'the probectl version must not be empty');
  return Object.freeze({ hostname, version: input.version.trim(), syslogPen: pen, syslogFacility: facility });
}
