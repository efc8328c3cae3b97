import type { SiemFormat } from './formatters/index.ts';

export const SIEM_PRESETS = ['splunk', 'sentinel', 'elastic', 'chronicle', 'generic'] as const;
export type SiemPreset = (typeof SIEM_PRESETS)[number];

export interface PresetInfo {
  /** The scheme of `Authorization: <scheme> <token>`. */
  readonly authScheme: 'Splunk' | 'Bearer' | 'ApiKey';
  readonly defaultFormat: SiemFormat;
  /** Whether a token must be configured (generic sends the header only when one is set). */
  readonly tokenRequired: boolean;
}

/** The preset table of the SIEM export spec: auth header and default format per target SIEM. */
export const PRESETS: Readonly<Record<SiemPreset, PresetInfo>> = Object.freeze({
  splunk: Object.freeze({ authScheme: 'Splunk', defaultFormat: 'cef', tokenRequired: true }),
  sentinel: Object.freeze({ authScheme: 'Bearer', defaultFormat: 'cef', tokenRequired: true }),
  elastic: Object.freeze({ authScheme: 'ApiKey', defaultFormat: 'ecs', tokenRequired: true }),
  chronicle: Object.freeze({ authScheme: 'Bearer', defaultFormat: 'otlp', tokenRequired: true }),
  generic: Object.freeze({ authScheme: 'Bearer', defaultFormat: 'cef', tokenRequired: false }),
});

export function isSiemPreset(name: string): name is SiemPreset {
  return (SIEM_PRESETS as readonly string[]).includes(name);
}
