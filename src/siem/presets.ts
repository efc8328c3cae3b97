import type { SiemFormat } from './formatters/index.ts';

export const SIEM_PRESETS = ['splunk', 'sentinel', 'elastic', 'chronicle', 'generic'] as const;
export type SiemPreset = (typeof SIEM_PRESETS)[number];

export interface PresetInfo {
  /** The scheme of `Authorization: <scheme> <token>` (sentinel: a Microsoft Entra token, chronicle: a Google OAuth token). */
  readonly authScheme: 'Splunk' | 'Bearer' | 'ApiKey';
  /** The spec's default format; a mode that cannot carry it has its own (sentinel's Logs Ingestion API: dcr, Chronicle events:import: udm). */
  readonly defaultFormat: SiemFormat;
  /** The default format over syslog+tls: sentinel's is CEF for an Azure Monitor Agent forwarder. */
  readonly syslogFormat: 'syslog' | 'cef';
  /** Whether PROBECTL_SIEM_TOKEN must be set for an https:// endpoint (sentinel and chronicle decide per mode). */
  readonly tokenRequired: boolean;
}

/** The preset table of the SIEM export spec: auth header and default format per target SIEM. */
export const PRESETS: Readonly<Record<SiemPreset, PresetInfo>> = Object.freeze({
  splunk: Object.freeze({ authScheme: 'Splunk', defaultFormat: 'cef', syslogFormat: 'syslog', tokenRequired: true }),
  sentinel: Object.freeze({ authScheme: 'Bearer', defaultFormat: 'cef', syslogFormat: 'cef', tokenRequired: false }),
  elastic: Object.freeze({ authScheme: 'ApiKey', defaultFormat: 'ecs', syslogFormat: 'syslog', tokenRequired: true }),
  chronicle: Object.freeze({ authScheme: 'Bearer', defaultFormat: 'otlp', syslogFormat: 'syslog', tokenRequired: false }),
  generic: Object.freeze({ authScheme: 'Bearer', defaultFormat: 'cef', syslogFormat: 'syslog', tokenRequired: false }),
});

export function isSiemPreset(name: string): name is SiemPreset {
  return (SIEM_PRESETS as readonly string[]).includes(name);
}
