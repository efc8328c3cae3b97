import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface FreshDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Runs one statement on its own connection, with deadlines on connecting and on the statement; the connection is closed on every path. */
async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 10_000, query_timeout: 60_000 });
  try {
    await client.connect();
    await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A new, empty database on the server named by `serverUrl`; drop() removes it again. */
export async function freshDatabaseOn(serverUrl: string, prefix = 'probectl_t'): Promise<FreshDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => dropDatabase(serverUrl, name),
  };
}

/**
 * Drops a test database. A plain DROP first: PostgreSQL itself stops an
 * autovacuum worker busy in it, whereas WITH (FORCE) refuses to terminate one
 * (it runs as another role: 42501, seen after the metrics store's bulk writes).
 * FORCE only when a client of ours is still connected (55006), a few times.
 */
async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name}`);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== '55006' || attempt >= 5) throw err;
    }
    try {
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== '42501') throw err;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}
