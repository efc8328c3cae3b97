import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { openPglite } from '../../src/store/pglite.ts';
import { openPostgres } from '../../src/store/postgres.ts';

export interface TestDb {
  db: Db;
  driver: 'pglite' | 'postgres';
  /** A URL for a second connection to the same database (postgres only). */
  url: string | undefined;
  close(): Promise<void>;
}

/**
 * A fresh, migrated database: in-memory PGlite, or a new database on the server
 * named by PROBECTL_TEST_DATABASE_URL (dropped again on close).
 */
export async function openTestDb(options: { migrate?: boolean } = {}): Promise<TestDb> {
  const serverUrl = process.env.PROBECTL_TEST_DATABASE_URL;
  if (!serverUrl) {
    const db = await openPglite(undefined);
    if (options.migrate !== false) await migrate(db);
    return { db, driver: 'pglite', url: undefined, close: () => db.close() };
  }
  const name = `probectl_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = await openPostgres({ connectionString: url.toString(), poolSize: 8 });
  if (options.migrate !== false) await migrate(db);
  return {
    db,
    driver: 'postgres',
    url: url.toString(),
    async close() {
      await db.close();
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
