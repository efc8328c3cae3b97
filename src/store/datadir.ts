import { randomBytes } from 'node:crypto';
import { closeSync, constants, linkSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ProbectlError } from '../core/errors.ts';
import { parseJson } from '../core/json.ts';
import { pidExists } from '../core/pid.ts';

/** Files probectl keeps in its data directory. */
export function dataPaths(dataDir: string) {
  return {
    root: dataDir,
    pglite: join(dataDir, 'pglite'),
    lock: join(dataDir, 'probectl.lock'),
    adminToken: join(dataDir, 'admin-token'),
    tlsDir: join(dataDir, 'tls'),
    controlSocket: join(dataDir, 'control.sock'),
    /** The embedded quickstart's generated PROBECTL_ENCRYPTION_KEY (mode 0600). */
    encryptionKey: join(dataDir, 'encryption-key'),
    /** The key being replaced during a rotation (`probectl keys new` keeps it here, mode 0600). */
    encryptionKeyPrevious: join(dataDir, 'encryption-key.previous'),
  };
}

export function ensureDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
}

export interface DataDirLock {
  release(): void;
}

/** A seam for tests: where the process table is read (a directory without it behaves as a system without /proc). */
export interface LockOptions {
  procRoot?: string;
}

/**
 * Who wrote a lock file. `start` is the process's start time in clock ticks
 * since boot (/proc/<pid>/stat field 22) and `boot` the kernel's boot id
 * (/proc/sys/kernel/random/boot_id): together with the pid they name one
 * process incarnation, which a pid alone does not (pids are reused, and in a
 * container probectl gets the same pid after every restart). Both are absent
 * where /proc is not, and in lock files written by older versions (a bare pid).
 */
interface LockOwner {
  pid: number;
  start?: number | undefined;
  boot?: string | undefined;
}

/** Locks this process holds, by lock-file path (realpath), with the exact content written. */
const heldHere = new Map<string, string>();

/** A lock file that cannot be parsed is treated as being written (not stale) this long after its last change. */
const UNPARSABLE_GRACE_MS = 5_000;

function readProc(procRoot: string, path: string): string | undefined {
  try {
    return readFileSync(join(procRoot, path), 'utf8');
  } catch {
    return undefined;
  }
}

/** State (field 3) and start time (field 22) from a /proc/<pid>/stat line; the command name (field 2) may hold spaces and parentheses. */
function parseStat(stat: string): { state: string; start: number } | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const start = Number(fields[19]);
  return state === undefined || !Number.isSafeInteger(start) ? undefined : { state, start };
}

function selfIdentity(procRoot: string): LockOwner {
  const stat = readProc(procRoot, 'self/stat');
  const parsed = stat === undefined ? undefined : parseStat(stat);
  return { pid: process.pid, start: parsed?.start, boot: readProc(procRoot, 'sys/kernel/random/boot_id')?.trim() || undefined };
}

function parseOwner(text: string): LockOwner | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed) }; // written by an older version
  try {
    const o = parseJson(trimmed) as Record<string, unknown>;
    if (!Number.isSafeInteger(o.pid) || (o.pid as number) <= 0) return undefined;
    return {
      pid: o.pid as number,
      start: Number.isSafeInteger(o.start) ? (o.start as number) : undefined,
      boot: typeof o.boot === 'string' ? o.boot : undefined,
    };
  } catch {
    return undefined;
  }
}


/**
 * Whether the process that wrote a lock still runs. Stale: this process's
 * own pid (unless this process holds the lock now), another boot, no such
 * process, a zombie (killed, not yet reaped: it still answers kill(pid, 0)),
 * or the pid now naming a process that started at another time. Where /proc
 * cannot tell, the answer is conservative: any process with that pid holds it.
 */
function ownerAlive(owner: LockOwner, lockPath: string, procRoot: string): boolean {
  if (owner.pid === process.pid) return heldHere.has(lockPath);
  const self = selfIdentity(procRoot);
  if (owner.boot !== undefined && self.boot !== undefined && owner.boot !== self.boot) return false;
  const stat = readProc(procRoot, `${owner.pid}/stat`);
  const parsed = stat === undefined ? undefined : parseStat(stat);
  if (parsed !== undefined) {
    if (parsed.state === 'Z' || parsed.state === 'X') return false;
    return owner.start === undefined || owner.start === parsed.start;
  }
  // No /proc, or the entry is hidden (hidepid) or gone: ask the kernel whether the pid exists at all.
  return pidExists(owner.pid);
}

function lockKey(dataDir: string): string {
  return join(realpathSync(dataDir), 'probectl.lock');
}

/** What the lock file at `path` says, and whether its writer still runs. */
function inspect(path: string, procRoot: string): { content: string; owner: LockOwner | undefined; alive: boolean } | undefined {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const owner = parseOwner(content);
  if (owner === undefined) {
    // Written by a version that created the file first and wrote it after: give the writer a moment.
    let fresh = false;
    try {
      fresh = Date.now() - statSync(path).mtimeMs < UNPARSABLE_GRACE_MS;
    } catch {
      // gone meanwhile
    }
    return { content, owner, alive: fresh };
  }
  return { content, owner, alive: ownerAlive(owner, path, procRoot) };
}

/**
 * The pid holding the data directory's embedded database, if a live process
 * does (this process included, while it holds the lock); undefined when the
 * directory is free or its lock was left by a process that is gone.
 */
export function lockHolder(dataDir: string, opts: LockOptions = {}): number | undefined {
  let path: string;
  try {
    path = lockKey(dataDir);
  } catch {
    return undefined;
  }
  const seen = inspect(path, opts.procRoot ?? '/proc');
  return seen?.alive ? seen.owner?.pid : undefined;
}

/**
 * Creates a file readable by its owner only (mode 0600) with its full content in one step (a hard link of a
 * finished file), or reports (false) that one exists: two processes racing get one file, never a mix.
 */
export function createPrivateFile(path: string, content: string): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  // A file system without hard links: exclusive create, then write (readers allow for the gap).
  let fd: number;
  try {
    fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes a stale lock, but only the one judged stale: the file is renamed
 * aside (atomic, one winner) and its content compared; if another process
 * replaced it in between, its fresh lock is put back.
 */
function takeOver(path: string, staleContent: string): void {
  const aside = `${path}.stale.${process.pid}.${randomBytes(6).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else took it over
    throw err;
  }
  try {
    if (readFileSync(aside, 'utf8') !== staleContent) {
      try {
        linkSync(aside, path);
      } catch {
        // a third lock is in place already; the fresh one we moved is superseded by it
      }
    }
  } finally {
    rmSync(aside, { force: true });
  }
}

/**
 * The embedded database may be opened by one process only. The lock file is
 * created atomically with its content — JSON naming the pid, the process's
 * start time and the boot id — and is taken over when the process that wrote
 * it is gone (see ownerAlive: a pid alone is not trusted, since a killed
 * process stays a zombie until reaped and a restarted container reuses its
 * pid). Node offers no lock the kernel releases at death (flock/fcntl) without
 * a native addon; this is the portable substitute. A data directory shared by
 * two machines is not protected by it (the embedded database does not support
 * that). Throws PROBECTL_ERR_DATA_DIR_LOCKED naming the live holder.
 */
export function lockDataDir(dataDir: string, purpose: string, opts: LockOptions = {}): DataDirLock {
  ensureDataDir(dataDir);
  const procRoot = opts.procRoot ?? '/proc';
  const path = lockKey(dataDir);
  const self = selfIdentity(procRoot);
  const content = `${JSON.stringify({ pid: self.pid, ...(self.start === undefined ? {} : { start: self.start }), ...(self.boot === undefined ? {} : { boot: self.boot }) })}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (heldHere.has(path)) {
      throw new ProbectlError('PROBECTL_ERR_DATA_DIR_LOCKED', `the embedded database in ${dataDir} is in use by process ${process.pid} (this process); cannot ${purpose} while it runs`);
    }
    if (createPrivateFile(path, content)) {
      heldHere.set(path, content);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          heldHere.delete(path);
          try {
            if (readFileSync(path, 'utf8') === content) rmSync(path);
          } catch {
            // already gone
          }
        },
      };
    }
    const seen = inspect(path, procRoot);
    if (seen === undefined) continue; // removed meanwhile: try again
    if (seen.alive) {
      const holder = seen.owner?.pid;
      throw new ProbectlError('PROBECTL_ERR_DATA_DIR_LOCKED', `the embedded database in ${dataDir} is in use by process ${holder ?? '(being started)'}; cannot ${purpose} while it runs`);
    }
    takeOver(path, seen.content);
  }
  throw new ProbectlError('PROBECTL_ERR_DATA_DIR_LOCKED', `could not lock ${dataDir}: other processes keep taking the lock over`);
}
