/**
 * scripts/build-if-needed.ts (run by `npm start` and `npm run probectl`): two
 * commands starting at once both find dist/ stale and build; neither may fail
 * or leave an incomplete dist/. Run on a copy of the tree, never on this one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = new URL('../..', import.meta.url).pathname;

function copyTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'probectl-build-'));
  for (const p of ['src', 'scripts', 'tsconfig.json', 'tsconfig.build.json', 'package.json']) cpSync(join(ROOT, p), join(dir, p), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function runBuild(dir: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(dir, 'scripts/build-if-needed.ts'), '--force'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}

function assertComplete(dir: string): void {
  assert.ok(existsSync(join(dir, 'dist/main.js')), 'dist/main.js built');
  assert.deepEqual(readdirSync(join(dir, 'dist/store/migrations')).sort(), readdirSync(join(dir, 'src/store/migrations')).sort());
  assert.deepEqual(readdirSync(dir).filter((e) => e.startsWith('dist.')), [], 'no build folder left behind');
}

describe('build-if-needed', () => {
  it('two builds at once both succeed and leave one complete dist/', { timeout: 600_000 }, async (t) => {
    const dir = copyTree();
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all([runBuild(dir), runBuild(dir)]);
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      assertComplete(dir);
    }
  });

  it('the leftovers of a build that died (no dist/, a half-built tree) are removed', { timeout: 300_000 }, async (t) => {
    const dir = copyTree();
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // A pid far above any pid_max: no such process runs.
    for (const leftover of ['dist.next-999999999', 'dist.old-999999999']) {
      mkdirSync(join(dir, leftover, 'store'), { recursive: true });
      writeFileSync(join(dir, leftover, 'main.js'), 'half');
    }
    const r = await runBuild(dir);
    assert.equal(r.code, 0, r.stderr);
    assertComplete(dir);
  });
});
