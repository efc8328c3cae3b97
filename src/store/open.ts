import { readFileSync } from 'node:fs';
import { ProbectlError } from '../core/errors.ts';
import { isLoopbackHost } from '../core/net.ts';
import type { Db } from './db.ts';
import { dataPaths } from './datadir.ts';
import { openPostgres } from './postgres.ts';

export interface StoreTarget {
  /** Resolved PostgreSQL URL; undefined selects the embedded database. */
  databaseUrl: string | undefined;
  databasePassword: string | (() => Promise<string>) | undefined;
  databaseCaFile: string | undefined;
  poolSize: number;
  dataDir: string;
}

/**
 * Plaintext to a database is allowed only on loopback or a Unix socket; remote
 * servers need sslmode=require, verify-ca or verify-full (all of which probectl
 * validates fully). Returns a problem, never the URL.
 */
export function databaseUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a valid URL';
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') return 'scheme must be postgres:// or postgresql://';
  const host = parsed.hostname || parsed.searchParams.get('host') || '';
  const sslmode = parsed.searchParams.get('sslmode');
  const local = host === '' || host.startsWith('/') || isLoopbackHost(host);
  if (!local && !['require', 'verify-ca', 'verify-full'].includes(sslmode ?? '')) {
    return 'a remote database needs sslmode=verify-full (plaintext is allowed only to loopback)';
  }
  return undefined;
}

export async function openStore(target: StoreTarget): Promise<Db> {
  // The embedded database's module (and its WebAssembly) loads only when it is used.
  if (target.databaseUrl === undefined) return (await import('./pglite.ts')).openPglite(dataPaths(target.dataDir).pglite);
  const problem = databaseUrlProblem(target.databaseUrl);
  if (problem) throw new ProbectlError('PROBECTL_ERR_CONFIG_INVALID', `PROBECTL_DATABASE_URL: ${problem}`);
  return openPostgres({
    connectionString: target.databaseUrl,
    password: target.databasePassword,
    poolSize: target.poolSize,
    ca: target.databaseCaFile ? readFileSync(target.databaseCaFile, 'utf8') : undefined,
  });
}
