import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import { isProbectlError } from '../../src/core/errors.ts';
import { dataPaths, lockDataDir, lockHolder } from '../../src/store/datadir.ts';
import { cli, serve } from '../helpers/process.ts';

/**
 * Issue 7, point 16: the data-directory lock names a process incarnation
 * (pid, start time, boot id), not just a pid. A killed server that is not yet
 * reaped (a zombie still answers kill(pid, 0)), a lock naming this very
 * process's pid (a container restarted with the same pid), a reused pid or
 * another boot no longer block a start; a live holder still does.
 */

const CLI = new URL('../../src/main.ts', import.meta.url).pathname;
const HAS_PROC = existsSync('/proc/self/stat');

function tempDir(t: TestContext, prefix = 'probectl-lock-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A child process killed (and reaped) when the test ends, however it ends. */
function child(t: TestContext, command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const c = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'], env: { PATH: process.env.PATH ?? '', ...env } });
  t.after(async () => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
  });
  return c;
}

function stat(pid: number): { state: string; start: number } {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] as string, start: Number(fields[19]) };
}

const BOOT = HAS_PROC ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : '';

function writeLock(dataDir: string, owner: { pid: number; start?: number; boot?: string } | string): void {
  writeFileSync(dataPaths(dataDir).lock, typeof owner === 'string' ? owner : `${JSON.stringify(owner)}\n`);
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/** The first line of `c`'s stdout (a pid a shell printed), within 10 s. */
async function firstLine(c: ChildProcess): Promise<string> {
  let out = '';
  c.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  await until('a line on stdout', () => out.includes('\n'));
  return out.split('\n')[0] as string;
}

/** A zombie: `sleep 0.2` exits after its shell exec'd into `sleep 60`, which never reaps it. */
async function zombie(t: TestContext): Promise<number> {
  const parent = child(t, '/bin/sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 60']);
  const pid = Number(await firstLine(parent));
  await until(`pid ${pid} to be a zombie`, () => stat(pid).state === 'Z');
  return pid;
}

const refused = (err: unknown, pid: number) => isProbectlError(err, 'PROBECTL_ERR_DATA_DIR_LOCKED') && err.message.includes(`in use by process ${pid}`);

describe('data-directory lock: a process incarnation, not a pid', () => {
  it('kill -9 of a real server, then an immediate restart on the same data directory starts', async (t) => {
    const dataDir = tempDir(t);
    const env = { PROBECTL_DATA_DIR: dataDir, PROBECTL_LISTEN: '127.0.0.1:0' };
    const first = await serve(env);
    t.after(() => first.stop('SIGKILL'));
    first.child.kill('SIGKILL'); // not awaited: the restart races the reaping of the killed process
    const second = await serve(env);
    t.after(() => second.stop('SIGKILL'));
    assert.notEqual(second.child.pid, first.child.pid);
    assert.equal(lockHolder(dataDir), second.child.pid);
    assert.equal(await second.stop('SIGTERM'), 0);
    assert.equal(existsSync(dataPaths(dataDir).lock), false, 'a clean stop removes the lock');
  });

  it('a killed server that is not yet reaped (a zombie) does not hold the directory', { skip: !HAS_PROC && 'needs /proc' }, async (t) => {
    const dataDir = tempDir(t);
    const env = { PROBECTL_DATA_DIR: dataDir, PROBECTL_LISTEN: '127.0.0.1:0' };
    // The server's parent is exec'd into `sleep`, which never reaps it: kill -9 leaves a zombie.
    const parent = child(t, '/bin/sh', ['-c', `"$0" "$1" serve & echo $!; exec sleep 120`, process.execPath, CLI], env);
    const serverPid = Number(await firstLine(parent));
    t.after(() => {
      try {
        process.kill(serverPid, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    await until('the server to take the lock', () => lockHolder(dataDir) === serverPid, 60_000);
    process.kill(serverPid, 'SIGKILL');
    await until(`pid ${serverPid} to be a zombie`, () => stat(serverPid).state === 'Z');
    assert.equal(lockHolder(dataDir), undefined, 'a zombie holds nothing');
    const restarted = await serve(env);
    t.after(() => restarted.stop('SIGKILL'));
    assert.equal(lockHolder(dataDir), restarted.child.pid);
    assert.equal(await restarted.stop('SIGTERM'), 0);
  });

  it('a lock file naming this process\'s pid (a container restarted with the same pid) is taken over', (t) => {
    const dataDir = tempDir(t);
    for (const stale of [`${process.pid}\n`, { pid: process.pid, start: 1, boot: BOOT }, { pid: process.pid }]) {
      writeLock(dataDir, stale);
      assert.equal(lockHolder(dataDir), undefined, JSON.stringify(stale));
      const lock = lockDataDir(dataDir, 'start the server');
      const written = JSON.parse(readFileSync(dataPaths(dataDir).lock, 'utf8')) as { pid: number; start?: number; boot?: string };
      assert.equal(written.pid, process.pid);
      if (HAS_PROC) assert.deepEqual([written.start, written.boot], [stat(process.pid).start, BOOT]);
      lock.release();
      assert.equal(existsSync(dataPaths(dataDir).lock), false);
    }
  });

  it('while this process holds the lock, a second lock in the same process is refused and lockHolder names it', (t) => {
    const dataDir = tempDir(t);
    const lock = lockDataDir(dataDir, 'start the server');
    t.after(() => lock.release());
    assert.equal(lockHolder(dataDir), process.pid);
    assert.throws(() => lockDataDir(dataDir, 'migrate'), (err: unknown) => refused(err, process.pid));
    lock.release();
    assert.equal(lockHolder(dataDir), undefined);
    lockDataDir(dataDir, 'migrate').release();
  });

  it('a lock naming a live other process is refused, in the new and the old (bare pid) format', async (t) => {
    const dataDir = tempDir(t);
    const sleeper = child(t, 'sleep', ['60']);
    await once(sleeper, 'spawn');
    const pid = sleeper.pid!;
    const owners = [`${pid}\n`, ...(HAS_PROC ? [{ pid, start: stat(pid).start, boot: BOOT }] : [])];
    for (const owner of owners) {
      writeLock(dataDir, owner);
      assert.equal(lockHolder(dataDir), pid);
      assert.throws(() => lockDataDir(dataDir, 'start the server'), (err: unknown) => refused(err, pid));
      assert.equal(readFileSync(dataPaths(dataDir).lock, 'utf8'), typeof owner === 'string' ? owner : `${JSON.stringify(owner)}\n`, 'a live lock is left alone');
    }
  });

  it('a zombie holder, a reused pid (another start time) or a lock from another boot is taken over', { skip: !HAS_PROC && 'needs /proc' }, async (t) => {
    const dataDir = tempDir(t);
    const dead = await zombie(t);
    const sleeper = child(t, 'sleep', ['60']);
    await once(sleeper, 'spawn');
    const live = sleeper.pid!;
    for (const stale of [
      { pid: dead, start: stat(dead).start, boot: BOOT },
      `${dead}\n`,
      { pid: live, start: stat(live).start + 1, boot: BOOT },
      { pid: live, start: stat(live).start, boot: 'a-different-boot-id' },
    ]) {
      writeLock(dataDir, stale);
      assert.equal(lockHolder(dataDir), undefined, JSON.stringify(stale));
      lockDataDir(dataDir, 'start the server').release();
    }
  });

  it('where /proc is missing, kill(pid, 0) decides: a live pid holds, a pid that does not exist does not', async (t) => {
    const dataDir = tempDir(t);
    const noProc = { procRoot: tempDir(t, 'probectl-noproc-') };
    const sleeper = child(t, 'sleep', ['60']);
    await once(sleeper, 'spawn');
    writeLock(dataDir, { pid: sleeper.pid!, start: 1, boot: 'unknowable' });
    assert.equal(lockHolder(dataDir, noProc), sleeper.pid, 'conservative: another start time cannot be seen');
    assert.throws(() => lockDataDir(dataDir, 'start the server', noProc), (err: unknown) => refused(err, sleeper.pid!));
    writeLock(dataDir, { pid: 99_999_999 });
    assert.equal(lockHolder(dataDir, noProc), undefined);
    const lock = lockDataDir(dataDir, 'start the server', noProc);
    assert.deepEqual(JSON.parse(readFileSync(dataPaths(dataDir).lock, 'utf8')), { pid: process.pid });
    lock.release();
  });

  it('the CLI opens the database itself when the lock names a gone process, instead of looking for a server', { skip: !HAS_PROC && 'needs /proc' }, async (t) => {
    const dataDir = tempDir(t);
    const env = { PROBECTL_DATA_DIR: dataDir };
    const created = cli(['tenant', 'create', '--name', 'acme'], env);
    assert.equal(created.status, 0, created.stderr);
    const dead = await zombie(t);
    writeLock(dataDir, { pid: dead, start: stat(dead).start, boot: BOOT });
    const list = cli(['tenant', 'list', '--json'], env);
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).tenants.map((x: { name: string }) => x.name).sort(), ['acme', 'default']);
  });
});
