/**
 * The one database interface both drivers implement. Product code never sees a
 * driver: it receives a `Db` and reaches tenant data only through `inTenant()`
 * (store/scope.ts), which hands out a `TenantTx`.
 */
import type { Keyring } from '../core/envelope.ts';
import type { StreamEvents } from '../core/streams.ts';

export type Row = Record<string, unknown>;

export interface QueryResult<R = Row> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

/** An owner transaction: also runs multi-statement scripts (migrations). */
export interface OwnerTx extends Queryable {
  exec(sql: string): Promise<void>;
}

export interface LockSession {
  tryLock(key: bigint): Promise<boolean>;
  unlock(key: bigint): Promise<void>;
  /** False once the session's connection is gone (and with it every lock). */
  readonly alive: boolean;
  close(): Promise<void>;
}

export type DriverName = 'pglite' | 'postgres';

export interface Db {
  readonly driver: DriverName;
  /** Announcements that a tenant's durable stream grew (TenantTx.streamGrew), for drainers to wake on. */
  readonly streams: StreamEvents;
  /**
   * The keys that seal the values kept encrypted at rest (store/sealed.ts),
   * attached by the composition root with withKeyring(); undefined on a
   * database opened without one (reading or writing such a value then fails).
   */
  readonly keyring?: Keyring | undefined;
  /**
   * The tenants whose sealed columns may still hold plaintext from before
   * encryption (table encryption_legacy, loaded by store/sealed.ts
   * loadLegacyPlaintext after migrating; a completed rotation removes its
   * tenant). A plaintext value read in any other tenant is refused.
   */
  readonly legacyPlaintext?: Set<string> | undefined;
  /**
   * Runs fn in one transaction as the connecting (owner) role; commits, or
   * rolls back on throw. `begin` is a parameterless statement sent with BEGIN
   * in the same round trip (the tenant scope setup).
   */
  transaction<T>(fn: (tx: OwnerTx) => Promise<T>, options?: { begin?: string }): Promise<T>;
  /**
   * A dedicated session for session-level advisory locks, held until released
   * or until the session ends (a crashed process releases its locks).
   */
  lockSession(): Promise<LockSession>;
  /** Is the database reachable right now? */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Type parsers shared by both drivers so rows look the same whichever is used. */
/**
 * A transaction that failed only because another one ran at the same time and may succeed
 * when run again: PostgreSQL's deadlock_detected (40P01) or serialization_failure (40001),
 * SQLSTATE class 40 "Transaction Rollback" (nothing of it was kept).
 */
export function isTransactionConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/**
 * A unique violation (SQLSTATE 23505), optionally of the named constraint (PostgreSQL
 * and PGlite both report it as `constraint`). The transaction it happened in is aborted.
 */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && (constraint === undefined || e.constraint === undefined || e.constraint === constraint);
}

export const INT8_OID = 20;
export const NUMERIC_OID = 1700;
export const JSON_OID = 114;
export const JSONB_OID = 3802;
export const parseInt8 = (text: string): number => {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError('int8 value outside the safe integer range');
  return n;
};

/** The same database with the keyring that seals its encrypted columns (the composition root attaches it). */
export function withKeyring(db: Db, keyring: Keyring): Db {
  return {
    driver: db.driver, streams: db.streams, keyring, legacyPlaintext: db.legacyPlaintext ?? new Set<string>(),
    transaction: (fn, options) => db.transaction(fn, options),
    lockSession: () => db.lockSession(),
    ping: () => db.ping(),
    close: () => db.close(),
  };
}
