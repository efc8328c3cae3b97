import { EncryptionKey, Keyring } from '../../src/core/envelope.ts';
import { withKeyring, type Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { openPglite } from '../../src/store/pglite.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { freshDatabaseOn } from './pg.ts';

export interface TestDb {
  db: Db;
  driver: 'pglite' | 'postgres';
  /** A URL for a second connection to the same database (postgres only). */
  url: string | undefined;
  /** The keyring `db` seals its encrypted columns with (a fresh random key per database). */
  keyring: Keyring;
  close(): Promise<void>;
}

/**
 * A fresh, migrated database: in-memory PGlite, or a new database on the server
 * named by PROBECTL_TEST_DATABASE_URL (dropped again on close).
 */
export async function openTestDb(options: { migrate?: boolean; keyring?: Keyring } = {}): Promise<TestDb> {
  const serverUrl = process.env.PROBECTL_TEST_DATABASE_URL;
  const keyring = options.keyring ?? new Keyring(EncryptionKey.generate());
  if (!serverUrl) {
    const db = withKeyring(await openPglite(undefined), keyring);
    await migrateOrClose(db, options, () => db.close());
    return { db, driver: 'pglite', url: undefined, keyring, close: () => db.close() };
  }
  const fresh = await freshDatabaseOn(serverUrl);
  let db: Db;
  try {
    db = withKeyring(await openPostgres({ connectionString: fresh.url, poolSize: 8 }), keyring);
  } catch (err) {
    await fresh.drop().catch(() => undefined);
    throw err;
  }
  const close = async () => {
    try {
      await db.close();
    } finally {
      await fresh.drop();
    }
  };
  await migrateOrClose(db, options, close);
  return { db, driver: 'postgres', url: fresh.url, keyring, close };
}

/** Migrates unless told not to; a failed migration closes the database before the error propagates. */
async function migrateOrClose(db: Db, options: { migrate?: boolean }, close: () => Promise<void>): Promise<void> {
  if (options.migrate === false) return;
  try {
    await migrate(db);
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
