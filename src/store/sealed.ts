import { envelopeKeyId, isEnvelope, type Keyring } from '../core/envelope.ts';
import { ProbectlError } from '../core/errors.ts';
import type { Db } from './db.ts';
import { inSystem, inTenant, type TenantTx } from './scope.ts';
import { parseJson } from '../core/json.ts';

/**
 * The columns probectl keeps encrypted at rest (bytea, core/envelope.ts
 * format), with the columns that identify their row. Each value is bound to
 * its table, column, tenant and row key (the AEAD's additional data), so a
 * ciphertext copied to another row or tenant does not open.
 *
 * Values written before migration 0008 are the old text/jsonb as UTF-8 bytes
 * (never starting with 0x00, which PostgreSQL text cannot hold): they still
 * read in a tenant that held such rows at migration 0009 (encryption_legacy,
 * Db.legacyPlaintext) until `probectl keys rotate` has sealed them all
 * (docs/encryption.md); anywhere else a plaintext value is refused.
 */
export interface SealedColumn {
  readonly table: string;
  readonly column: string;
  /** The row's key columns after tenant_id, in the order of the values passed as `row`. */
  readonly key: readonly string[];
}

const column = (table: string, name: string, key: readonly string[]): SealedColumn => Object.freeze({ table, column: name, key: Object.freeze([...key]) });

const PARKED_KEY = ['consumer', 'stream', 'seq'];
const OUTBOX_KEY = ['connector', 'id'];
const LINK_KEY = ['connector', 'incident_id'];

/** Every encrypted column (src/store/migrations/0008_encryption.sql). */
export const SEALED = Object.freeze({
  /** What a receiver said when it refused an item for good (parked SIEM events, notify operations). */
  parkedReason: column('delivery_parked', 'reason', PARKED_KEY),
  parkedResponse: column('delivery_parked', 'response', PARKED_KEY),
  /** The notify outbox: the incident view sent to the vendor, the update's detail, why an operation was skipped. */
  outboxIncident: column('notify_outbox', 'incident', OUTBOX_KEY),
  outboxDetail: column('notify_outbox', 'detail', OUTBOX_KEY),
  outboxReason: column('notify_outbox', 'reason', OUTBOX_KEY),
  /** An incident's mirror: the vendor's reference data and why its open failed. */
  linkRefData: column('notify_links', 'ref_data', LINK_KEY),
  linkFailure: column('notify_links', 'failure', LINK_KEY),
});

export const SEALED_COLUMNS: readonly SealedColumn[] = Object.freeze(Object.values(SEALED));

/** The additional authenticated data of one value: table, column, tenant and row key, NUL-separated. */
function context(col: SealedColumn, tenantId: string, row: readonly unknown[]): string {
  return [`probectl:${col.table}.${col.column}`, tenantId, ...row.map((v) => String(v))].join('\0');
}

function where(col: SealedColumn, tenantId: string, row: readonly unknown[]): string {
  return `${col.table}.${col.column} of tenant ${tenantId} row (${col.key.map((k, i) => `${k}=${String(row[i])}`).join(', ')})`;
}

function keyringOf(keyring: Keyring | undefined, col: SealedColumn): Keyring {
  if (!keyring) throw new ProbectlError('PROBECTL_ERR_ENCRYPTION_UNCONFIGURED', `${col.table}.${col.column} is kept encrypted, and this database was opened without an encryption key`);
  return keyring;
}

/**
 * Seals text for one column of one row of the scope's tenant. Returns the
 * envelope base64-encoded: pass it as a text parameter and store it with
 * `decode($n, 'base64')` (the same for both drivers, arrays included).
 */
export function sealText(tx: TenantTx, col: SealedColumn, row: readonly unknown[], plaintext: string): string {
  return keyringOf(tx.keyring, col).seal(plaintext, context(col, tx.tenantId, row)).toString('base64');
}

/** sealText for a JSON value (null stays null). */
export function sealJson(tx: TenantTx, col: SealedColumn, row: readonly unknown[], value: unknown): string | null {
  return value === null || value === undefined ? null : sealText(tx, col, row, JSON.stringify(value));
}

/**
 * Opens a stored value of one column of one row of the scope's tenant (null
 * stays null; a value from before encryption reads as its text). Errors:
 * PROBECTL_ERR_ENCRYPTION_KEY_UNKNOWN, PROBECTL_ERR_ENCRYPTION_DECRYPT
 * (naming the table, column and row), PROBECTL_ERR_ENCRYPTION_UNCONFIGURED.
 */
export function openText(tx: TenantTx, col: SealedColumn, row: readonly unknown[], stored: Uint8Array | null): string | null {
  return openWith(tx.keyring, col, tx.tenantId, row, stored, tx.plaintextAccepted);
}

/** openText for a JSON value. */
export function openJson<T>(tx: TenantTx, col: SealedColumn, row: readonly unknown[], stored: Uint8Array | null): T | null {
  const text = openText(tx, col, row, stored);
  return text === null ? null : (parseJson(text) as T);
}

function openWith(keyring: Keyring | undefined, col: SealedColumn, tenantId: string, row: readonly unknown[], stored: Uint8Array | null, plaintextAccepted: boolean): string | null {
  if (stored === null) return null;
  if (!isEnvelope(stored)) {
    if (!plaintextAccepted) {
      throw new ProbectlError('PROBECTL_ERR_ENCRYPTION_DECRYPT', `${where(col, tenantId, row)}: holds plaintext (${stored.length} bytes) where an encrypted value belongs; this tenant's values are all encrypted (new, or rotated by \`probectl keys rotate\`), so plaintext is refused, never read`);
    }
    return Buffer.from(stored.buffer, stored.byteOffset, stored.length).toString('utf8');
  }
  return keyringOf(keyring, col).open(stored, context(col, tenantId, row), where(col, tenantId, row)).toString('utf8');
}

/** What a rotation did in one tenant, per column and in total. */
export interface TenantRotation {
  tenant: string;
  /** Values that were under the previous key, now under the current one. */
  resealed: number;
  /** Values written before encryption existed, now sealed. */
  sealed: number;
  columns: Array<{ table: string; column: string; resealed: number; sealed: number }>;
}

/** Rows a rotation re-seals per transaction. */
export const ROTATION_BATCH = 200;

/**
 * Re-seals every value of the tenant that is not under the current key
 * (under the previous key, or plaintext from before encryption), column by
 * column, in transactions of `batch` rows. Idempotent and resumable: what
 * is under the current key is never selected again, so an interrupted run
 * continues where it stopped, and a second run finds nothing. A row whose
 * key id is unknown, or whose tag does not verify, stops it with that error
 * (the batch rolls back; rows already committed stay re-sealed).
 */
export async function rotateTenant(db: Db, tenantId: string, batch = ROTATION_BATCH): Promise<TenantRotation> {
  const keyring = keyringOf(db.keyring, SEALED_COLUMNS[0] as SealedColumn);
  const header = keyring.currentHeader();
  const result: TenantRotation = { tenant: tenantId, resealed: 0, sealed: 0, columns: [] };
  for (const col of SEALED_COLUMNS) {
    const counts = { table: col.table, column: col.column, resealed: 0, sealed: 0 };
    const keys = col.key.join(', ');
    for (;;) {
      const done = await inTenant(db, tenantId, async (tx) => {
        const rows = (await tx.query<Record<string, unknown>>(
          `SELECT ${keys}, ${col.column} AS v FROM ${col.table}
            WHERE tenant_id = $1 AND ${col.column} IS NOT NULL AND substring(${col.column} FROM 1 FOR ${header.length}) <> decode($2, 'hex')
            ORDER BY ${keys} LIMIT $3 FOR UPDATE`,
          [tx.tenantId, header.toString('hex'), batch],
        )).rows;
        for (const r of rows) {
          const row = col.key.map((k) => r[k]);
          const stored = r.v as Uint8Array;
          const plaintext = openWith(keyring, col, tx.tenantId, row, stored, tx.plaintextAccepted) as string;
          if (isEnvelope(stored)) counts.resealed += 1;
          else counts.sealed += 1;
          await tx.query(
            `UPDATE ${col.table} SET ${col.column} = decode($2, 'base64') WHERE tenant_id = $1 AND ${col.key.map((k, i) => `${k} = $${i + 3}`).join(' AND ')}`,
            [tx.tenantId, sealText(tx, col, row, plaintext), ...row],
          );
        }
        return rows.length < batch;
      });
      if (done) break;
    }
    result.resealed += counts.resealed;
    result.sealed += counts.sealed;
    result.columns.push(counts);
  }
  // Every value of the tenant is sealed now: plaintext is refused from here on (migration 0009).
  await inTenant(db, tenantId, (tx) => tx.query('DELETE FROM encryption_legacy WHERE tenant_id = $1', [tx.tenantId]));
  db.legacyPlaintext?.delete(tenantId.toLowerCase());
  return result;
}

/**
 * Loads into `db.legacyPlaintext` the tenants whose plaintext from before
 * encryption still reads (table encryption_legacy, migration 0009); run once
 * the database is migrated. A replica that did not run the rotation keeps
 * accepting that tenant's plaintext until it restarts.
 */
export async function loadLegacyPlaintext(db: Db): Promise<void> {
  const rows = await inSystem(db, async (tx) => (await tx.query<{ tenant_id: string }>('SELECT tenant_id FROM encryption_legacy')).rows);
  const set = db.legacyPlaintext;
  if (!set) return;
  set.clear();
  for (const r of rows) set.add(r.tenant_id.toLowerCase());
}

/** The key id a stored value is sealed with (`plaintext` before encryption): for tests and diagnostics. */
export function storedKeyId(stored: Uint8Array | null): string | null {
  if (stored === null) return null;
  return envelopeKeyId(stored) ?? 'plaintext';
}

/** A stored value found under a key that is neither current nor previous. */
export interface UnknownKeyFinding {
  tenant: string;
  table: string;
  column: string;
  keyId: string;
}

/**
 * The startup probe behind readiness (docs/encryption.md): per tenant, one
 * statement reads the header (10 bytes) of one stored value of every
 * encrypted column, and answers those sealed with a key the keyring cannot
 * open (a restart with the wrong key: every read of them would fail). Cheap —
 * one round trip per tenant, never a value's body — and it names key ids only.
 */
export async function probeSealedKeys(db: Db): Promise<UnknownKeyFinding[]> {
  const keyring = db.keyring;
  if (!keyring) return [];
  const known = new Set([keyring.current.id, ...(keyring.previous ? [keyring.previous.id] : [])]);
  const probe = `SELECT ${SEALED_COLUMNS.map((c, i) => `(SELECT substring(${c.column} FROM 1 FOR 10) FROM ${c.table} WHERE ${c.column} IS NOT NULL LIMIT 1) AS c${i}`).join(', ')}`;
  return inSystem(db, async (tx) => {
    const found: UnknownKeyFinding[] = [];
    for (const { id } of (await tx.query<{ id: string }>('SELECT id FROM tenants ORDER BY id')).rows) {
      const row = await tx.asTenant(id, async (t) => (await t.query<Record<string, Uint8Array | null>>(probe)).rows[0] ?? {});
      SEALED_COLUMNS.forEach((c, i) => {
        const keyId = envelopeKeyId(row[`c${i}`] ?? new Uint8Array());
        if (keyId !== undefined && !known.has(keyId)) found.push({ tenant: id, table: c.table, column: c.column, keyId });
      });
    }
    return found;
  });
}
