import type { Vars } from '../config/section.ts';
import { deviceCredVariable, type DeviceCredentialSpec, type DeviceCredField } from './device-config.ts';
import { REFERENCE_SCHEMES, type SecretRef } from './ref.ts';

export interface ConfiguredReference {
  /** The variable (or `VARIABLE[n]` for the n-th item of a list) holding the reference. */
  readonly variable: string;
  readonly ref: SecretRef;
}

const SCHEMES = new Set<string>(REFERENCE_SCHEMES);

function isReferenceValue(value: unknown): value is SecretRef {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && SCHEMES.has((value as { scheme?: unknown }).scheme as string);
}

function walk(value: unknown, variable: string, out: ConfiguredReference[], depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (isReferenceValue(value)) {
    out.push({ variable, ref: value });
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, `${variable}[${i + 1}]`, out, depth + 1));
    return;
  }
  for (const inner of Object.values(value)) walk(inner, variable, out, depth + 1);
}

/**
 * Every secret reference in a parsed configuration (literals excluded):
 * variables whose value is a reference, references inside list items, and the
 * fields of device credentials.
 */
export function collectReferences(
  sections: Readonly<Record<string, { readonly vars: Vars }>>,
  values: Readonly<Record<string, unknown>> | ((sectionKey: string) => Readonly<Record<string, unknown>>),
  devices: readonly DeviceCredentialSpec[] = [],
): ConfiguredReference[] {
  const out: ConfiguredReference[] = [];
  for (const [sectionKey, section] of Object.entries(sections)) {
    const sectionValues = typeof values === 'function' ? values(sectionKey) : values;
    for (const [key, spec] of Object.entries(section.vars)) walk(sectionValues[key], spec.name, out);
  }
  for (const device of devices) {
    for (const [field, ref] of Object.entries(device.fields)) {
      if (ref.scheme !== 'literal') out.push({ variable: deviceCredVariable(device.name, field as DeviceCredField), ref });
    }
  }
  return out;
}
