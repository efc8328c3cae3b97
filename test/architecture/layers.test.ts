import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { tsFiles } from '../helpers/sources.ts';

/**
 * Layers point down (docs/development.md): a module never imports one above
 * it. Ranks, lowest first; a module may import its own rank and below, except
 * where RULES say otherwise. Type-only imports count too: a type is a dependency.
 */
const SRC = resolve(new URL('../../src', import.meta.url).pathname);

const RANK: Readonly<Record<string, number>> = {
  'version.ts': 0,
  core: 0,
  store: 1,
  config: 2,
  secrets: 2,
  audit: 3,
  identity: 3,
  incidents: 3,
  agents: 3,
  threat: 3,
  delivery: 4,
  integrations: 5,
  siem: 5,
  notify: 5,
  federation: 5,
  cmdb: 5,
  server: 6,
  cli: 7,
};
/** Files directly in src/ other than version.ts: the composition root. */
const ROOT_RANK = 8;

/** Pairs that the ranks allow but the design forbids: [importer, imported]. */
const FORBIDDEN: readonly [string, string][] = [
  ['config', 'secrets'], // config/ is a toolkit: variables, sections, errors
  ['identity', 'audit'], // the audit append is injected into identity
  // Integrations never import each other (they may use the registry's contract in integrations/).
  ...['siem', 'notify', 'federation', 'cmdb'].flatMap((a) => ['siem', 'notify', 'federation', 'cmdb'].filter((b) => b !== a).map((b) => [a, b] as [string, string])),
];

function layerOf(file: string): string {
  const rel = relative(SRC, file);
  const top = rel.split('/')[0] as string;
  return rel.includes('/') ? top : (top === 'version.ts' ? 'version.ts' : '<root>');
}

function rankOf(layer: string): number {
  if (layer === '<root>') return ROOT_RANK;
  const r = RANK[layer];
  if (r === undefined) throw new Error(`src/${layer} has no layer: add it to RANK in test/architecture/layers.test.ts and to the diagram in docs/development.md`);
  return r;
}


const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

describe('layers point down', () => {
  it('no module in src/ imports a layer above its own, nor a forbidden neighbour', () => {
    const violations: string[] = [];
    for (const file of tsFiles(SRC)) {
      const from = layerOf(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(IMPORT)) {
        const spec = (m[1] ?? m[2]) as string;
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(SRC)) continue;
        const to = layerOf(target);
        if (to === from) continue;
        const forbidden = FORBIDDEN.some(([a, b]) => a === from && b === to);
        if (rankOf(to) > rankOf(from) || forbidden) violations.push(`src/${relative(SRC, file)} (${from}) imports src/${relative(SRC, target)} (${to})`);
      }
    }
    assert.deepEqual(violations, [], `imports against the layers:\n${violations.join('\n')}`);
  });

  it('every directory of src/ has a layer', () => {
    for (const e of readdirSync(SRC, { withFileTypes: true })) {
      if (e.isDirectory()) assert.ok(RANK[e.name] !== undefined, `src/${e.name} has no layer in RANK`);
    }
  });
});
