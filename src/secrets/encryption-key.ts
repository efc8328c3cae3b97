import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { configError } from '../config/section.ts';
import { EncryptionKey, encryptionKeyProblem, Keyring, parseEncryptionKey } from '../core/envelope.ts';
import { isProbectlError, ProbectlError } from '../core/errors.ts';
import { createPrivateFile, dataPaths } from '../store/datadir.ts';
import { redactRef, type SecretRef } from './ref.ts';
import type { SecretResolver } from './resolver.ts';

/** The settings the keyring is built from (the server section's). */
export interface EncryptionKeySettings {
  readonly encryptionKey: SecretRef | undefined;
  readonly encryptionKeyPrevious: SecretRef | undefined;
  readonly databaseUrl: SecretRef | undefined;
  readonly dataDir: string;
}

export interface LoadedKeyring {
  readonly keyring: Keyring;
  /** Where the key was generated on this start (embedded quickstart, first start); undefined otherwise. */
  readonly generatedFile: string | undefined;
  /** Where the key was read from: the variable, or the data directory's key file. */
  readonly source: 'PROBECTL_ENCRYPTION_KEY' | 'key file';
}

const ACCEPTS = '32 random bytes, base64 (`openssl rand -base64 32`), or a secret reference resolving to one';

async function resolveKey(resolver: SecretResolver, variable: string, ref: SecretRef): Promise<EncryptionKey> {
  let text: string;
  try {
    text = await resolver.use(ref, (b) => b.toString('utf8'));
  } catch (err) {
    if (!isProbectlError(err)) throw err;
    throw new ProbectlError(err.code, `${variable} (${redactRef(ref)}): ${err.message}`);
  }
  const problem = encryptionKeyProblem(text);
  if (problem) throw configError([{ variable, problem: ref.scheme === 'literal' ? problem : `${redactRef(ref)} resolves to a value that is ${problem}`, accepts: ACCEPTS }]);
  return parseEncryptionKey(text);
}

/**
 * The embedded quickstart's key: `<data dir>/encryption-key`, created on
 * first start with 32 random bytes (base64, mode 0600, atomically: two
 * processes racing get one key), read on every later start. A key file that
 * others may read, or that is not a key, refuses startup naming the file.
 */
function keyFile(dataDir: string): { key: EncryptionKey; previous: EncryptionKey | undefined; generated: boolean; path: string } {
  const paths = dataPaths(dataDir);
  const path = paths.encryptionKey;
  const fresh = EncryptionKey.generate();
  const generated = createPrivateFile(path, `${fresh.exportBase64()}\n`);
  if (generated) return { key: fresh, previous: undefined, generated, path };
  const previous = existsSync(paths.encryptionKeyPrevious) ? readKeyFile(paths.encryptionKeyPrevious) : undefined;
  return { key: readKeyFile(path), previous, generated: false, path };
}

function readKeyFile(path: string): EncryptionKey {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw configError([{ variable: 'PROBECTL_ENCRYPTION_KEY', problem: `unset, and the key file ${path} may be read by others (mode ${mode.toString(8).padStart(4, '0')})`, accepts: `chmod 600 ${path}, or a key in PROBECTL_ENCRYPTION_KEY` }]);
  }
  const text = readFileSync(path, 'utf8');
  const problem = encryptionKeyProblem(text);
  if (problem) throw configError([{ variable: 'PROBECTL_ENCRYPTION_KEY', problem: `unset, and the key file ${path} holds a value that is ${problem}`, accepts: 'the file as probectl wrote it, or a key in PROBECTL_ENCRYPTION_KEY' }]);
  return parseEncryptionKey(text);
}

/**
 * `probectl keys new` (docs/encryption.md, embedded database with the data
 * directory's key file): keeps the current key file's key as
 * `encryption-key.previous` and writes a fresh key into `encryption-key`
 * (both mode 0600; the new file replaces the old one atomically), so a plain
 * restart seals with the new key while the old one still opens, and
 * `probectl keys rotate` re-seals. Returns both key ids (never a key).
 * Errors (PROBECTL_ERR_CONFIG_INVALID): PROBECTL_ENCRYPTION_KEY or
 * PROBECTL_DATABASE_URL set (the key file is not used), no key file yet, or a
 * previous key file still there (a rotation not finished).
 */
export function newKeyFile(settings: EncryptionKeySettings): { current: string; previous: string; previousFile: string } {
  const paths = dataPaths(settings.dataDir);
  const refuse = (variable: string, problem: string, accepts: string) => configError([{ variable, problem, accepts }]);
  if (settings.databaseUrl !== undefined) throw refuse('PROBECTL_DATABASE_URL', 'set: with PostgreSQL the key is PROBECTL_ENCRYPTION_KEY in your secret store, not a key file', 'the rotation steps for PostgreSQL in docs/encryption.md');
  if (settings.encryptionKey !== undefined) throw refuse('PROBECTL_ENCRYPTION_KEY', 'set: the data directory\'s key file is not used', 'unset it to rotate the key file, or rotate through PROBECTL_ENCRYPTION_KEY_PREVIOUS (docs/encryption.md)');
  if (!existsSync(paths.encryptionKey)) throw refuse('PROBECTL_ENCRYPTION_KEY', `unset, and there is no key file ${paths.encryptionKey} yet (the first start creates it)`, 'start the server once');
  if (existsSync(paths.encryptionKeyPrevious)) {
    throw refuse('PROBECTL_ENCRYPTION_KEY', `a rotation is not finished: ${paths.encryptionKeyPrevious} still holds the key being replaced`, 'restart, run `probectl keys rotate`, then move that file to your key backups');
  }
  const old = readKeyFile(paths.encryptionKey);
  // The old key first (exclusive create, 0600): a crash after this leaves previous == current, harmless.
  if (!createPrivateFile(paths.encryptionKeyPrevious, `${old.exportBase64()}\n`)) throw refuse('PROBECTL_ENCRYPTION_KEY', `${paths.encryptionKeyPrevious} appeared meanwhile`, 'run the command once at a time');
  const fresh = EncryptionKey.generate();
  const tmp = `${paths.encryptionKey}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, `${fresh.exportBase64()}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, paths.encryptionKey);
  } finally {
    rmSync(tmp, { force: true });
  }
  return { current: fresh.id, previous: old.id, previousFile: paths.encryptionKeyPrevious };
}

/**
 * The keys that seal values at rest (core/envelope.ts), resolved at startup
 * like every credential: PROBECTL_ENCRYPTION_KEY (a literal or a secret
 * reference) and PROBECTL_ENCRYPTION_KEY_PREVIOUS; with the embedded database
 * and no key set, the data directory's generated key file (and, during a
 * rotation started by `probectl keys new`, `encryption-key.previous`). Errors: the
 * resolver's (the variable and redacted reference named), or
 * PROBECTL_ERR_CONFIG_INVALID naming the variable when the value is not a
 * 32-byte base64 key or a PostgreSQL database has no key. Never a key's text.
 */
export async function loadKeyring(settings: EncryptionKeySettings, resolver: SecretResolver): Promise<LoadedKeyring> {
  if (settings.encryptionKey === undefined) {
    if (settings.databaseUrl !== undefined) {
      throw configError([{ variable: 'PROBECTL_ENCRYPTION_KEY', problem: 'required when PROBECTL_DATABASE_URL is set', accepts: ACCEPTS }]);
    }
    const file = keyFile(settings.dataDir);
    return { keyring: new Keyring(file.key, file.previous), generatedFile: file.generated ? file.path : undefined, source: 'key file' };
  }
  const current = await resolveKey(resolver, 'PROBECTL_ENCRYPTION_KEY', settings.encryptionKey);
  const previous = settings.encryptionKeyPrevious === undefined ? undefined : await resolveKey(resolver, 'PROBECTL_ENCRYPTION_KEY_PREVIOUS', settings.encryptionKeyPrevious);
  return { keyring: new Keyring(current, previous), generatedFile: undefined, source: 'PROBECTL_ENCRYPTION_KEY' };
}
