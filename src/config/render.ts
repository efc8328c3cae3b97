import { DEVICE_CRED_FIELD_DOCS, DEVICE_CRED_FIELDS } from '../secrets/device-config.ts';
import { CONFIG_SECTIONS, sectionValues, type Config } from './load.ts';
import type { VarSpec } from './vars.ts';

/** `probectl config check` output: every variable with its effective value, secrets shown only as redacted references. */
export function renderEffectiveConfig(config: Config): string {
  const lines: string[] = [];
  for (const [sectionKey, section] of Object.entries(CONFIG_SECTIONS)) {
    lines.push(`# ${section.title}`);
    const values = sectionValues(config, sectionKey as keyof typeof CONFIG_SECTIONS);
    for (const [key, spec] of Object.entries(section.vars) as [string, VarSpec<unknown>][]) {
      lines.push(`${spec.name}=${spec.show(values[key])}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The variables table of docs/configuration.md, generated from the same specs the loader uses. */
export function renderConfigReference(): string {
  const out: string[] = [];
  for (const section of Object.values(CONFIG_SECTIONS)) {
    out.push(`## ${section.title}`, '', '| Variable | Default | Accepted | Description |', '|---|---|---|---|');
    for (const spec of Object.values(section.vars) as VarSpec<unknown>[]) {
      const def = spec.defaultText === undefined ? '(unset)' : `\`${spec.defaultText}\``;
      out.push(`| \`${spec.name}\`${spec.secret ? ' 🔒' : ''} | ${def} | ${escapeCell(spec.accepts)} | ${escapeCell(spec.doc)} |`);
    }
    out.push('');
  }
  out.push(
    '## Device credentials (a family of names)', '',
    'One group of variables per device: `PROBECTL_DEVICE_CRED_<NAME>_<FIELD>`, where `<NAME>` is upper-case letters, digits and underscores (`CORE_SW`) and `<FIELD>` is one of the fields below. Every value may be a literal or a secret reference; a device needs AUTH_PASS (SNMPv3), COMMUNITY (SNMPv2c) or PASSWORD. See [secrets.md](secrets.md#device-credentials).', '',
    '| Variable | Default | Accepted | Description |', '|---|---|---|---|',
    ...DEVICE_CRED_FIELDS.map((field) => `| \`PROBECTL_DEVICE_CRED_<NAME>_${field}\` 🔒 | (unset) | a literal value or a secret reference | ${escapeCell(DEVICE_CRED_FIELD_DOCS[field])} |`),
    '',
  );
  return out.join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
