import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { LocalStreamEvents } from '../core/streams.ts';
import { parseJson } from '../core/json.ts';
import { INT8_OID, JSON_OID, JSONB_OID, parseInt8, type Db, type OwnerTx, type QueryResult, type Row } from './db.ts';

const pgliteLocks = new Set<bigint>();

/**
 * PostgreSQL settings of the embedded database. PGlite runs PostgreSQL in
 * this process (WebAssembly), so its buffers are the server's own memory:
 * 32 MB of shared buffers instead of PostgreSQL's 128 MB (the operating
 * system's page cache still caches the data files), and the default 4 MB
 * work_mem per sort. Measured in bench/siem.ts (docs/operations.md).
 */
export const PGLITE_SETTINGS: Readonly<Record<string, string>> = Object.freeze({ shared_buffers: '32MB', work_mem: '4MB' });

function startParams(): string[] {
  const defaults = (PGlite as unknown as { defaultStartParams?: string[] }).defaultStartParams ?? [];
  return [...defaults, ...Object.entries(PGLITE_SETTINGS).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
}

/**
 * Creates a new embedded database directory in a short-lived child process:
 * initdb runs a second WebAssembly instance whose memory (~300 MB) would
 * otherwise stay with the server for its whole life.
 */
function initInChild(dir: string): void {
  const script = new URL(`./pglite-init${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  const res = spawnSync(process.execPath, [fileURLToPath(script), dir], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 120_000 });
  if (res.status !== 0) throw new Error(`could not create the embedded database in ${dir}: ${(res.stderr ?? '').trim().split('\n').at(-1) ?? `exit ${res.status}`}`);
}

/** Opens the embedded database. `dir` undefined means in memory (tests). */
export async function openPglite(dir: string | undefined): Promise<Db> {
  if (dir !== undefined) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!existsSync(join(dir, 'PG_VERSION'))) initInChild(dir);
  }
  const pg = await PGlite.create(dir ?? 'memory://', {
    parsers: { [INT8_OID]: parseInt8, [JSON_OID]: parseJson, [JSONB_OID]: parseJson },
    startParams: startParams(),
  });
  const wrap = (q: Pick<PGlite, 'query' | 'exec'>): OwnerTx => ({
    async query<R = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const res = await q.query<R>(sql, params ? [...params] : undefined);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await q.exec(sql);
    },
  });
  let closed = false;
  return {
    driver: 'pglite',
    // One process owns the embedded database (the data directory lock): announcements stay in it.
    streams: new LocalStreamEvents(),
    transaction: (fn, options) => pg.transaction(async (tx) => {
      if (options?.begin) await tx.exec(options.begin);
      return fn(wrap(tx));
    }),
    // One process owns the embedded database (the data directory lock), so its locks are process-local.
    lockSession: async () => {
      const held = new Set<bigint>();
      return {
        get alive() {
          return !closed;
        },
        tryLock: async (key) => {
          if (held.has(key) || pgliteLocks.has(key)) return false;
          held.add(key);
          pgliteLocks.add(key);
          return true;
        },
        unlock: async (key) => {
          if (held.delete(key)) pgliteLocks.delete(key);
        },
        close: async () => {
          for (const key of held) pgliteLocks.delete(key);
          held.clear();
        },
      };
    },
    ping: async () => {
      if (closed) return false;
      try {
        await pg.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await pg.close();
    },
  };
}
