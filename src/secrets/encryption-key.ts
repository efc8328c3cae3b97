import { readFileSync, statSync } from 'node:fs';
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
function keyFile(dataDir: string): { key: EncryptionKey; generated: boolean; path: string } {
  const path = dataPaths(dataDir).encryptionKey;
  const fresh = EncryptionKey.generate();
  const generated = createPrivateFile(path, `${fresh.exportBase64()}\n`);
  if (generated) return { key: fresh, generated, path };
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw configError([{ variable: 'PROBECTL_ENCRYPTION_KEY', problem: `unset, and the key file ${path} may be read by others (mode ${mode.toString(8).padStart(4, '0')})`, accepts: `chmod 600 ${path}, or a key in PROBECTL_ENCRYPTION_KEY` }]);
  }
  const text = readFileSync(path, 'utf8');
  const problem = encryptionKeyProblem(text);
  if (problem) throw configError([{ variable: 'PROBECTL_ENCRYPTION_KEY', problem: `unset, and the key file ${path} holds a value that is ${problem}`, accepts: 'the file as probectl wrote it, or a key in PROBECTL_ENCRYPTION_KEY' }]);
  return { key: parseEncryptionKey(text), generated: false, path };
}

/**
 * The keys that seal values at rest (core/envelope.ts), resolved at startup
 * like every credential: PROBECTL_ENCRYPTION_KEY (a literal or a secret
 * reference) and PROBECTL_ENCRYPTION_KEY_PREVIOUS; with the embedded database
 * and no key set, the data directory's generated key file. Errors: the
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
    return { keyring: new Keyring(file.key), generatedFile: file.generated ? file.path : undefined, source: 'key file' };
  }
  const current = await resolveKey(resolver, 'PROBECTL_ENCRYPTION_KEY', settings.encryptionKey);
  const previous = settings.encryptionKeyPrevious === undefined ? undefined : await resolveKey(resolver, 'PROBECTL_ENCRYPTION_KEY_PREVIOUS', settings.encryptionKeyPrevious);
  return { keyring: new Keyring(current, previous), generatedFile: undefined, source: 'PROBECTL_ENCRYPTION_KEY' };
}
