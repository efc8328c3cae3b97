import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { renderConfigReference } from '../../src/settings.ts';
import { ERROR_CODES } from '../../src/core/errors.ts';
import { renderErrorTable } from '../../src/core/errors-doc.ts';
import { knownVariableNames } from '../../src/settings.ts';
import { tsFiles } from '../helpers/sources.ts';

const root = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');


describe('error codes and generated docs', () => {
  const doc = read('docs/errors.md');
  const documented = new Set([...doc.matchAll(/`(PROBECTL_ERR_[A-Z0-9_]+)`/g)].map((m) => m[1] as string));

  it('every code is documented in docs/errors.md', () => {
    for (const code of Object.keys(ERROR_CODES)) assert.ok(documented.has(code), `${code} missing from docs/errors.md`);
  });

  it('every documented code exists', () => {
    for (const code of documented) assert.ok(code in ERROR_CODES, `docs/errors.md lists unknown ${code}`);
  });

  it('docs/errors.md is up to date (node scripts/gen-docs.ts)', () => {
    assert.ok(doc.includes(renderErrorTable()));
  });

  it('every code is raised somewhere in src/ (no dead codes)', () => {
    const src = tsFiles(new URL('src', root).pathname).filter((p) => !p.endsWith('core/errors.ts')).map((p) => readFileSync(p, 'utf8')).join('\n');
    for (const code of Object.keys(ERROR_CODES)) assert.ok(src.includes(`'${code}'`), `${code} is never used`);
  });

  it('docs/configuration.md documents every variable and is up to date', () => {
    const config = read('docs/configuration.md');
    assert.ok(config.includes(renderConfigReference()), 'run node scripts/gen-docs.ts');
    for (const name of knownVariableNames()) assert.ok(config.includes(`\`${name}\``), name);
  });
});
