import type { Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { openPglite } from '../../src/store/pglite.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { freshDatabaseOn } from './pg.ts';

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
  const fresh = await freshDatabaseOn(serverUrl);
  const db = await openPostgres({ connectionString: fresh.url, poolSize: 8 });
  if (options.migrate !== false) await migrate(db);
  return {
    db,
    driver: 'postgres',
    url: fresh.url,
    async close() {
      await db.close();
      await fresh.drop();
    },
  };
}
