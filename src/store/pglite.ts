import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { INT8_OID, parseInt8, type Db, type OwnerTx, type QueryResult, type Row } from './db.ts';

const pgliteLocks = new Set<bigint>();

/** Opens the embedded database. `dir` undefined means in memory (tests). */
export async function openPglite(dir: string | undefined): Promise<Db> {
  if (dir !== undefined) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pg = await PGlite.create(dir ?? 'memory://', {
    parsers: { [INT8_OID]: parseInt8 },
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
