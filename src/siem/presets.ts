import type { PresetSpec } from './targets/provider.ts';
import { PRESET_SPECS } from './targets/registry.ts';

/** PROBECTL_SIEM_PRESET values, in the order of the spec's table (from the target registry). */
export const SIEM_PRESETS: readonly string[] = PRESET_SPECS.map((p) => p.name);
export type SiemPreset = string;
export type PresetInfo = PresetSpec;

/** The preset table of the SIEM export spec: auth header and default format per target SIEM. */
export const PRESETS: Readonly<Record<string, PresetSpec>> = Object.freeze(Object.fromEntries(PRESET_SPECS.map((p) => [p.name, p])));

export function isSiemPreset(name: string): name is SiemPreset {
  return SIEM_PRESETS.includes(name);
}
