import { readdirSync, readFileSync } from 'node:fs';
import { sha256Hex } from '../core/canonical.ts';
import { ProbectlError } from '../core/errors.ts';
import type { Db, OwnerTx } from './db.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
// Any constant works: it only has to be the same in every probectl process.
const MIGRATION_LOCK_KEY = 7_233_105_119;

let shipped: Migration[] | undefined;

/** The migrations this build ships, read once. */
export function shippedMigrations(): Migration[] {
  shipped ??= loadMigrations(MIGRATIONS_DIR);
  return shipped;
}

export function loadMigrations(dir: URL): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const sql = readFileSync(new URL(file, dir), 'utf8');
      return { version: Number(file.slice(0, 4)), name: file.replace(/\.sql$/, ''), sql, checksum: sha256Hex(sql) };
    });
}

export interface MigrationReport {
  applied: string[];
  current: number;
}

/**
 * Applies pending migrations in order, each in its own transaction, under an
 * advisory lock so replicas starting together do not race. An applied migration
 * whose file changed, or a database newer than this build, stops everything.
 */
export async function migrate(db: Db, migrations: Migration[] = shippedMigrations()): Promise<MigrationReport> {
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  });
  const applied: string[] = [];
  for (const m of migrations) {
    const did = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      const existing = await appliedMigrations(tx);
      const newest = Math.max(0, ...existing.keys());
      const known = migrations[migrations.length - 1]?.version ?? 0;
      if (newest > known) throw new ProbectlError('PROBECTL_ERR_MIGRATION_NEWER', `database schema is at migration ${newest}, newer than this build (${known}); upgrade probectl`);
      const prior = existing.get(m.version);
      if (prior !== undefined) {
        if (prior !== m.checksum) throw new ProbectlError('PROBECTL_ERR_MIGRATION_CHECKSUM', `migration ${m.name} was applied with different content; refusing to continue`);
        return false;
      }
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
      return true;
    });
    if (did) applied.push(m.name);
  }
  return { applied, current: migrations[migrations.length - 1]?.version ?? 0 };
}

async function appliedMigrations(tx: OwnerTx): Promise<Map<number, string>> {
  const res = await tx.query<{ version: number; checksum: string }>('SELECT version, checksum FROM schema_migrations');
  return new Map(res.rows.map((r) => [r.version, r.checksum]));
}

/** True when every migration this build ships is applied (readiness). */
export async function isMigrated(db: Db, migrations: Migration[] = shippedMigrations()): Promise<boolean> {
  try {
    const rows = await db.transaction((tx) => appliedMigrations(tx));
    return migrations.every((m) => rows.get(m.version) === m.checksum);
  } catch {
    return false;
  }
}
