import { closeSync, constants, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ProbectlError } from '../core/errors.ts';

/** Files probectl keeps in its data directory. */
export function dataPaths(dataDir: string) {
  return {
    root: dataDir,
    pglite: join(dataDir, 'pglite'),
    lock: join(dataDir, 'probectl.lock'),
    adminToken: join(dataDir, 'admin-token'),
    tlsDir: join(dataDir, 'tls'),
    controlSocket: join(dataDir, 'control.sock'),
  };
}

export function ensureDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
}

export interface DataDirLock {
  release(): void;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid holding the data directory's embedded database, if a live process does. */
export function lockHolder(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(dataPaths(dataDir).lock, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The embedded database may be opened by one process only. The lock file is
 * created exclusively and names its pid; a lock left by a dead process is
 * taken over.
 */
export function lockDataDir(dataDir: string, purpose: string): DataDirLock {
  ensureDataDir(dataDir);
  const path = dataPaths(dataDir).lock;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          try {
            if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder(dataDir);
      if (holder !== undefined) {
        throw new ProbectlError('PROBECTL_ERR_DATA_DIR_LOCKED', `the embedded database in ${dataDir} is in use by process ${holder}; cannot ${purpose} while it runs`);
      }
      rmSync(path, { force: true });
    }
  }
  throw new ProbectlError('PROBECTL_ERR_DATA_DIR_LOCKED', `could not lock ${dataDir}`);
}
