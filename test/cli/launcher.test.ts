import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EMBEDDED_DB_FLAGS, HEAP_FLAGS, heapChosen, serveFlags, tooOld } from '../../src/cli/launcher.ts';

const LAUNCHER = new URL('../../src/cli/launcher.ts', import.meta.url).pathname;
const BIN = new URL('../../src/cli/probectl.ts', import.meta.url).pathname;

/** A preload that makes the process report an older Node.js, as a machine's system Node would. */
function fakeNodeVersion(dir: string, version: string): string {
  const file = join(dir, `node-${version}.mjs`);
  writeFileSync(file, `Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '${version}' } });\n`);
  return file;
}

describe('the probectl launcher', () => {
  it('knows which versions are too old and when the operator chose a heap size', () => {
    assert.equal(tooOld('20.20.2'), true);
    assert.equal(tooOld('22.11.0'), true);
    assert.equal(tooOld('22.12.0'), false);
    assert.equal(tooOld('24.21.0'), false);
    assert.equal(heapChosen([], undefined), false);
    assert.equal(heapChosen([], '--enable-source-maps --max-old-space-size=512'), true);
    assert.equal(heapChosen(['--max_old_space_size=300'], ''), true);
    assert.deepEqual(serveFlags({}), [...HEAP_FLAGS, ...EMBEDDED_DB_FLAGS]);
    assert.deepEqual(serveFlags({ PROBECTL_DATABASE_URL: 'postgres://x@127.0.0.1/db' }), [...HEAP_FLAGS]);
  });

  it('on an old Node.js without the carried runtime it says which Node.js is needed instead of dying on a SyntaxError', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'probectl-launcher-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // A copy of the launcher in a tree without node_modules/node.
    mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
    copyFileSync(LAUNCHER, join(dir, 'dist', 'cli', 'launcher.ts'));
    copyFileSync(BIN, join(dir, 'dist', 'cli', 'probectl.ts'));
    writeFileSync(join(dir, 'dist', 'main.ts'), 'throw new Error("must not be loaded");\n');
    const res = spawnSync(process.execPath, ['--import', fakeNodeVersion(dir, '20.20.2'), join(dir, 'dist', 'cli', 'probectl.ts'), '--version'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(res.status, 1);
    assert.match(res.stderr, /needs Node\.js 22\.12 or newer .* this is Node\.js 20\.20\.2/);
    assert.match(res.stderr, /npm start, npm run probectl/);
    assert.doesNotMatch(res.stderr, /SyntaxError|must not be loaded/);
  });

  it('on an old Node.js it runs the CLI on the Node.js the project carries', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'probectl-launcher-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const res = spawnSync(process.execPath, ['--import', fakeNodeVersion(dir, '20.20.2'), BIN, '--version'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /^\d+\.\d+\.\d+/);
  });

  it('serve replaces itself with a bounded-memory server (same pid), unless the operator chose a heap size', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'probectl-launcher-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const run = async (extraEnv: Record<string, string>): Promise<string[]> => {
      const child = spawn(process.execPath, [BIN, 'serve'], {
        env: { PATH: process.env.PATH ?? '', PROBECTL_DATA_DIR: join(dir, 'data'), PROBECTL_LISTEN: '127.0.0.1:0', ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        let out = '';
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
          child.stdout.on('data', (c: Buffer) => {
            out += c.toString();
            if (out.includes('"probectl serving"')) {
              clearTimeout(timer);
              resolve();
            }
          });
          child.stderr.on('data', (c: Buffer) => void (out += c.toString()));
          child.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`server exited with ${code}:\n${out}`));
          });
        });
        // The pid we started is the server itself: its command line carries the flags, and the
        // "probectl serving" line names it (README: stop the server by that pid).
        const serving = JSON.parse(out.split('\n').find((l) => l.includes('"probectl serving"')) as string) as { pid?: number };
        assert.equal(serving.pid, child.pid, 'the serving line carries the server\'s pid');
        return readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      } finally {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    };
    const shipped = await run({});
    for (const flag of [...HEAP_FLAGS, ...EMBEDDED_DB_FLAGS]) assert.ok(shipped.includes(flag), `${flag} in ${shipped.join(' ')}`);
    assert.ok(shipped.some((a) => a.endsWith('main.ts')), 'the launcher replaced itself with the CLI');
    const chosen = await run({ NODE_OPTIONS: '--max-old-space-size=300' });
    assert.ok(!chosen.some((a) => a.startsWith('--max-old-space-size=') || a === '--liftoff-only'), `operator's choice kept: ${chosen.join(' ')}`);
  });

  it('on a runtime without execve the server is a child that stops cleanly when the launcher is killed outright', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'probectl-launcher-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // An old Node.js: no process.execve, so the launcher runs the server as its child.
    const preload = join(dir, 'no-execve.mjs');
    writeFileSync(preload, "Object.defineProperty(process, 'execve', { value: undefined });\n");
    const launcher = spawn(process.execPath, ['--import', preload, BIN, 'serve'], {
      env: { PATH: process.env.PATH ?? '', PROBECTL_DATA_DIR: join(dir, 'data'), PROBECTL_LISTEN: '127.0.0.1:0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let serverPid: number | undefined;
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
        const seen = (c: Buffer) => {
          out += c.toString();
          if (out.includes('"probectl serving"')) {
            clearTimeout(timer);
            resolve();
          }
        };
        launcher.stdout.on('data', seen);
        launcher.stderr.on('data', seen);
        launcher.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`launcher exited with ${code}:\n${out}`));
        });
      });
      const children = readFileSync(`/proc/${launcher.pid}/task/${launcher.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
      assert.equal(children.length, 1, 'the server runs as the launcher\'s one child');
      serverPid = children[0] as number;
      launcher.kill('SIGKILL');
      const deadline = Date.now() + 20_000;
      while (alive(serverPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(!alive(serverPid), 'the orphaned server stopped');
      assert.match(out, /"probectl serving"/);
      const serving = JSON.parse(out.split('\n').find((l) => l.includes('"probectl serving"')) as string) as { pid?: number };
      assert.equal(serving.pid, serverPid, 'without execve the serving line names the child that serves, not the launcher');
    } finally {
      if (launcher.exitCode === null && launcher.signalCode === null) launcher.kill('SIGKILL');
      if (serverPid !== undefined && alive(serverPid)) process.kill(serverPid, 'SIGKILL');
    }
  });
});
