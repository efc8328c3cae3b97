import type { Db } from '../../src/store/db.ts';
import { inSystem, inTenant } from '../../src/store/scope.ts';

/**
 * Row counts of every table in the schema, for "nothing was written"
 * assertions: tenant-owned tables (those with a tenant_id column) counted
 * through each given tenant's scope, the registry and other system tables in
 * the system scope. Found from information_schema, so a new table is counted
 * without editing this helper.
 */
export async function countRows(db: Db, tenantIds: readonly string[]): Promise<Record<string, number>> {
  const tables = await inSystem(db, async (tx) => (await tx.query<{ table_name: string; tenant_owned: boolean }>(
    `SELECT t.table_name, EXISTS (SELECT 1 FROM information_schema.columns c WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name AND c.column_name = 'tenant_id') AS tenant_owned
       FROM information_schema.tables t WHERE t.table_schema = current_schema() AND t.table_type = 'BASE TABLE' ORDER BY t.table_name`,
  )).rows);
  const counts: Record<string, number> = {};
  for (const { table_name: table, tenant_owned: owned } of tables) {
    const sql = `SELECT count(*)::int AS n FROM "${table.replace(/"/g, '""')}"`;
    if (!owned) {
      counts[table] = await inSystem(db, async (tx) => (await tx.query<{ n: number }>(sql)).rows[0]?.n ?? 0);
      continue;
    }
    let n = 0;
    for (const tenant of tenantIds) n += await inTenant(db, tenant, async (tx) => (await tx.query<{ n: number }>(sql)).rows[0]?.n ?? 0);
    counts[table] = n;
  }
  return counts;
}
