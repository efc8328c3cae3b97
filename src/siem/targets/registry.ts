import { chronicle } from './chronicle/index.ts';
import { elastic } from './elastic/index.ts';
import { generic } from './generic/index.ts';
import type { PresetSpec, TargetProvider } from './provider.ts';
import { sentinel } from './sentinel/index.ts';
import { splunk } from './splunk/index.ts';
import { syslog } from './syslog/index.ts';

/**
 * Every SIEM target, one line each. A preset (PROBECTL_SIEM_PRESET) is the
 * HTTPS target that declares it; the syslog target serves every preset over
 * syslog+tls. The SIEM configuration section, the presets, `siem preview` and
 * target construction all come from this list.
 */
export const TARGET_PROVIDERS: readonly TargetProvider[] = [
  splunk,
  sentinel,
  elastic,
  chronicle,
  generic,
  syslog,
];

/** The presets in registry order: the spec's table. */
export const PRESET_SPECS: readonly PresetSpec[] = TARGET_PROVIDERS.flatMap((p) => (p.preset ? [p.preset] : []));

/** The target that serves an endpoint's transport for a preset: the preset's own over HTTPS, the syslog target over syslog. */
export function providerFor(preset: string, transport: 'https' | 'syslog'): TargetProvider | undefined {
  return TARGET_PROVIDERS.find((p) => p.serves === transport && (transport === 'syslog' || p.preset?.name === preset));
}

export function providerNamed(name: string): TargetProvider | undefined {
  return TARGET_PROVIDERS.find((p) => p.name === name);
}
