import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';

/**
 * The documentation is self-contained and names only what exists: every
 * relative link resolves inside the repository, and every repository path it
 * names in backticks (`test/peers/rsyslog.peer.ts`, `scripts/demo.ts`, …)
 * exists.
 */
const ROOT = new URL('../../', import.meta.url).pathname;
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const REPO_PATH = /`((?:\.ci|bench|deploy|docs|scripts|src|test)\/[^`\s<>*{}]*)`/g;
const LINK = /\]\(([^)\s]+)\)/g;
/** Directories the project's install scripts create, git-ignored (`/.ci/tools/`): named by the docs, absent from a clean clone. */
const INSTALLED = readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n').filter((l) => /^\/[^*]+\/$/.test(l.trim())).map((l) => l.trim().slice(1));

describe('documentation references', () => {
  for (const page of PAGES) {
    const text = readFileSync(join(ROOT, page), 'utf8');

    it(`${page}: relative links resolve inside the repository`, () => {
      for (const m of text.matchAll(LINK)) {
        const target = (m[1] as string).split('#')[0] as string;
        if (target === '' || /^[a-z]+:/i.test(target)) continue;
        const resolved = normalize(join(dirname(join(ROOT, page)), target));
        assert.ok(!relative(ROOT, resolved).startsWith('..'), `${page}: ${m[1]} points outside the repository`);
        assert.ok(existsSync(resolved), `${page}: ${m[1]} does not exist`);
      }
      assert.doesNotMatch(text, /\.\.\/shared\//, `${page}: names a file outside the repository`);
    });

    it(`${page}: the repository paths it names exist`, () => {
      for (const m of text.matchAll(REPO_PATH)) {
        const path = (m[1] as string).replace(/[.,;:]$/, '');
        if (INSTALLED.some((dir) => path.startsWith(dir))) continue;
        assert.ok(existsSync(join(ROOT, path)), `${page}: \`${path}\` does not exist`);
      }
    });
  }
});
