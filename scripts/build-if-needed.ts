/**
 * `npm start` runs this first: it compiles src/ to dist/ when dist is missing
 * or older than any source file or folder (a removed file changes its folder),
 * and copies the SQL migrations next to it. dist/ is rebuilt from scratch, so a
 * file removed from src/ (a migration above all) never lingers there.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pidExists } from '../src/core/pid.ts';

const root = new URL('..', import.meta.url).pathname;

function newest(dir: string): number {
  let max = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return max;
}

/**
 * Compiles into dist.next-<pid>/ and swaps it in for dist/ by renames, so a
 * process already running from dist/ (a server importing a module lazily) never
 * finds it half-written, nor missing for the length of a compile. The folders
 * are this process's own: two commands building at once (each finding dist/
 * stale) never remove or rename each other's half-built tree, and whichever
 * swaps last leaves its complete build. Leftovers of a build that died are removed.
 */
export function build(): void {
  for (const entry of readdirSync(root)) {
    const m = /^dist\.(?:next|old)-(\d+)$/.exec(entry);
    if (m && !pidExists(Number(m[1]))) rmSync(join(root, entry), { recursive: true, force: true });
  }
  const next = join(root, `dist.next-${process.pid}`);
  const old = join(root, `dist.old-${process.pid}`);
  const dist = join(root, 'dist');
  rmSync(next, { recursive: true, force: true });
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', next], { stdio: 'inherit' });
  cpSync(join(root, 'src/store/migrations'), join(next, 'store/migrations'), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    rmSync(old, { recursive: true, force: true });
    try {
      renameSync(dist, old);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    try {
      renameSync(next, dist);
      break;
    } catch (err) {
      // Another build swapped its dist/ in between the two renames: move that one aside too.
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= 50) throw err;
    }
  }
  rmSync(old, { recursive: true, force: true });
}

if (import.meta.main) {
  const marker = join(root, 'dist/main.js');
  const stale = !existsSync(marker) || newest(join(root, 'src')) > statSync(marker).mtimeMs || statSync(join(root, 'package.json')).mtimeMs > statSync(marker).mtimeMs;
  if (stale || process.argv.includes('--force')) {
    process.stderr.write('probectl: building dist/ ...\n');
    build();
  }
}
