import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPglite } from '../src/store/pglite.ts';
import { openPostgres } from '../src/store/postgres.ts';

export interface BenchDb {
  name: 'pglite' | 'postgres';
  db: Db;
  close(): Promise<void>;
}

/** The server benchmarks run against: PROBECTL_BENCH_DATABASE_URL, else PROBECTL_TEST_DATABASE_URL. */
export function benchServerUrl(): string | undefined {
  return process.env.PROBECTL_BENCH_DATABASE_URL ?? process.env.PROBECTL_TEST_DATABASE_URL;
}

/** A fresh, empty database on a server; drop() removes it. */
export async function freshDatabaseOn(server: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `probectl_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Fresh, migrated databases: embedded PGlite on disk (as deployed), and PostgreSQL when a server is named. */
export async function benchDatabases(poolSize = 16): Promise<BenchDb[]> {
  const out: BenchDb[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'probectl-bench-'));
  const lite = await openPglite(join(dir, 'pglite'));
  await migrate(lite);
  out.push({ name: 'pglite', db: lite, close: async () => { await lite.close(); rmSync(dir, { recursive: true, force: true }); } });
  const server = benchServerUrl();
  if (server) {
    const name = `probectl_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(server);
    url.pathname = `/${name}`;
    const db = await openPostgres({ connectionString: url.toString(), poolSize });
    await migrate(db);
    out.push({
      name: 'postgres', db,
      close: async () => {
        await db.close();
        const c = new pg.Client({ connectionString: server });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    });
  } else {
    process.stderr.write('bench: no PROBECTL_BENCH_DATABASE_URL / PROBECTL_TEST_DATABASE_URL; PostgreSQL rows are skipped\n');
  }
  return out;
}

export function printTable(title: string, rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0] as object);
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2)) : v);
  const cells = rows.map((r) => cols.map((c) => fmt(r[c] as string | number)));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(widths[i] as number)).join(' | ')} |`;
  process.stdout.write(`\n${title}\n${line(cols)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${cells.map(line).join('\n')}\n`);
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const start = process.hrtime.bigint();
  const result = await fn();
  return { result, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}
