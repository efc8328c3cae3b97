/**
 * Regenerates the generated parts of docs/: the error-code table in
 * docs/errors.md and the variable reference in docs/configuration.md (between
 * the GENERATED markers). Tests fail when either is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigReference } from '../src/settings.ts';
import { renderErrorTable } from '../src/core/errors-doc.ts';

const BEGIN = '<!-- BEGIN GENERATED -->';
const END = '<!-- END GENERATED -->';

export function replaceGenerated(doc: string, generated: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error('generated markers missing');
  return `${doc.slice(0, start + BEGIN.length)}\n${generated}\n${doc.slice(end)}`;
}

if (import.meta.main) {
  for (const [file, render] of [['docs/errors.md', renderErrorTable], ['docs/configuration.md', renderConfigReference]] as const) {
    const path = new URL(`../${file}`, import.meta.url);
    writeFileSync(path, replaceGenerated(readFileSync(path, 'utf8'), render()));
    process.stdout.write(`updated ${file}\n`);
  }
}
