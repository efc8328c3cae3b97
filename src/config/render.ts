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
  return out.join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
