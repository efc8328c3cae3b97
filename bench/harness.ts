import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPglite } from '../src/store/pglite.ts';
import { openPostgres } from '../src/store/postgres.ts';
import { freshDatabaseOn } from '../test/helpers/pg.ts';

export { freshDatabaseOn };

export interface BenchDb {
  name: 'pglite' | 'postgres';
  db: Db;
  /** The PostgreSQL database's URL (for statements that cannot run in a transaction, such as VACUUM). */
  url?: string;
  close(): Promise<void>;
}

/** The server benchmarks run against: PROBECTL_BENCH_DATABASE_URL, else PROBECTL_TEST_DATABASE_URL. */
export function benchServerUrl(): string | undefined {
  return process.env.PROBECTL_BENCH_DATABASE_URL ?? process.env.PROBECTL_TEST_DATABASE_URL;
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
    const fresh = await freshDatabaseOn(server, 'probectl_bench');
    const db = await openPostgres({ connectionString: fresh.url, poolSize });
    await migrate(db);
    out.push({
      name: 'postgres', db, url: fresh.url,
      close: async () => {
        await db.close();
        await fresh.drop();
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

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so every run generates the same data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The p-th percentile of ascending `sorted`. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * Per-call latencies (ns) of `fn` over `samples` sequential calls, after 10,000 warm-up calls
 * (for micro-benchmarks of in-process work: a cached lookup, a sealed secret's use).
 */
export async function measureCalls(fn: () => unknown | Promise<unknown>, samples: number): Promise<number[]> {
  for (let i = 0; i < 10_000; i++) await fn();
  const out = new Array<number>(samples);
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    out[i] = Number(process.hrtime.bigint() - t0);
  }
  return out;
}

/** Median and p99 (µs, two decimals) and calls per second of latencies in ns (sorted in place). */
export function latencyStats(ns: number[]): { median_us: number; p99_us: number; ops_per_s: number } {
  ns.sort((a, b) => a - b);
  const mean = ns.reduce((s, v) => s + v, 0) / ns.length;
  const us = (v: number) => Number((v / 1000).toFixed(2));
  return { median_us: us(ns[Math.floor(ns.length / 2)] as number), p99_us: us(ns[Math.floor(ns.length * 0.99)] as number), ops_per_s: Math.round(1e9 / mean) };
}

/**
 * CPU seconds (user + system, /proc/<pid>/stat fields 14 and 15 at 100 ticks/s) used so far by
 * `pid` and every live process below it (a `probectl serve` the launcher re-ran is its child).
 * Linux only. Children that already exited are not counted.
 */
export function processTreeCpuSeconds(pid: number): number {
  const parents = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    parents.set(Number(entry), Number(fields[1]));
    cpu.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / 100);
  }
  let total = 0;
  for (const [p, seconds] of cpu) {
    for (let x: number | undefined = p; x !== undefined && x > 1; x = parents.get(x)) {
      if (x === pid) {
        total += seconds;
        break;
      }
    }
  }
  return total;
}
