/**
 * `npm start` runs this first: it compiles src/ to dist/ when dist is missing
 * or older than any source file or folder (a removed file changes its folder),
 * and copies the SQL migrations next to it. dist/ is rebuilt from scratch, so a
 * file removed from src/ (a migration above all) never lingers there.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

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
 * Compiles into dist.next/ and swaps it in for dist/ with two renames, so a
 * process already running from dist/ (a server importing a module lazily) never
 * finds it half-written or missing for the length of a compile.
 */
export function build(): void {
  const next = join(root, 'dist.next');
  const old = join(root, 'dist.old');
  rmSync(next, { recursive: true, force: true });
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', next], { stdio: 'inherit' });
  cpSync(join(root, 'src/store/migrations'), join(next, 'store/migrations'), { recursive: true });
  rmSync(old, { recursive: true, force: true });
  if (existsSync(join(root, 'dist'))) renameSync(join(root, 'dist'), old);
  renameSync(next, join(root, 'dist'));
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
