import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { ProbectlError } from './errors.ts';

/**
 * Envelope encryption of values kept at rest (AES-256-GCM, node:crypto,
 * NIST SP 800-38D): each stored value carries the id of the key that sealed
 * it, so the key can be rotated (current + previous) and a value under an
 * unknown key is a clear error, never garbage.
 *
 * Format, version 1 (bytes):
 *   0x00            marker: text kept in PostgreSQL never holds NUL, so a value
 *                   starting with 0x00 is always an envelope, never legacy plaintext
 *   0x01            format version
 *   key id          8 bytes: SHA-256("probectl.encryption-key.v1\0" ‖ key)[0..8]
 *   nonce           12 random bytes (a fresh one per value)
 *   tag             16 bytes, the GCM authentication tag
 *   ciphertext      as long as the plaintext
 * The additional authenticated data is the 10-byte header (marker, version,
 * key id) followed by the caller's context (table, column, tenant, row key),
 * so a value moved to another row, column or tenant fails authentication.
 */

export const ENVELOPE_VERSION = 1;
const MARKER = 0x00;
const KEY_ID_BYTES = 8;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Marker, version and key id: what identifies the key a value is sealed with. */
export const ENVELOPE_HEADER_BYTES = 2 + KEY_ID_BYTES;
const PAYLOAD_OFFSET = ENVELOPE_HEADER_BYTES + NONCE_BYTES + TAG_BYTES;
/** Bytes of an AES-256 key. */
export const ENCRYPTION_KEY_BYTES = 32;

/** One 256-bit key and its id (16 hex digits). Printing it never shows the key. */
export class EncryptionKey {
  readonly id: string;
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    this.#key = Buffer.from(key);
    this.id = createHash('sha256').update('probectl.encryption-key.v1\0').update(this.#key).digest().subarray(0, KEY_ID_BYTES).toString('hex');
  }

  /** A key from its 32 raw bytes (copied). Throws RangeError on any other length. */
  static fromBytes(key: Uint8Array): EncryptionKey {
    if (key.length !== ENCRYPTION_KEY_BYTES) throw new RangeError(`an encryption key is ${ENCRYPTION_KEY_BYTES} bytes`);
    return new EncryptionKey(Buffer.from(key));
  }

  /** A fresh random key (what the embedded quickstart generates). */
  static generate(): EncryptionKey {
    return new EncryptionKey(randomBytes(ENCRYPTION_KEY_BYTES));
  }

  /** The key as `openssl rand -base64 32` prints one: for writing the generated key file only. */
  exportBase64(): string {
    return this.#key.toString('base64');
  }

  /** For the Keyring only. */
  bytes(): Buffer {
    return this.#key;
  }

  toString(): string {
    return `[encryption key ${this.id}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * Why a text is not a usable key (undefined when it is): standard base64
 * (RFC 4648 §4, padding required, surrounding whitespace ignored) of exactly
 * 32 bytes, as `openssl rand -base64 32` prints. Never quotes the text.
 */
export function encryptionKeyProblem(text: string): string | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) return 'not base64 (expected the output of `openssl rand -base64 32`)';
  const bytes = Buffer.from(trimmed, 'base64');
  if (bytes.length !== ENCRYPTION_KEY_BYTES) return `${bytes.length} bytes once decoded, not ${ENCRYPTION_KEY_BYTES}`;
  if (bytes.every((b) => b === bytes[0])) return 'a placeholder (every byte the same), not a random key';
  return undefined;
}

/** The key in a base64 text; throws RangeError with encryptionKeyProblem's wording when it is not one. */
export function parseEncryptionKey(text: string): EncryptionKey {
  const problem = encryptionKeyProblem(text);
  if (problem) throw new RangeError(problem);
  return EncryptionKey.fromBytes(Buffer.from(text.trim(), 'base64'));
}

/** Whether stored bytes are an envelope (else they are plaintext written before encryption existed). */
export function isEnvelope(stored: Uint8Array): boolean {
  return stored.length > 0 && stored[0] === MARKER;
}

/** The key id (16 hex digits) of an envelope; undefined for plaintext or a truncated value. */
export function envelopeKeyId(stored: Uint8Array): string | undefined {
  if (!isEnvelope(stored) || stored.length < ENVELOPE_HEADER_BYTES) return undefined;
  return Buffer.from(stored.buffer, stored.byteOffset + 2, KEY_ID_BYTES).toString('hex');
}

/**
 * The current key (seals) and optionally the previous one (still opens, during
 * a rotation). `seal`/`open` take the value's context, the additional
 * authenticated data that binds it to where it is stored.
 */
export class Keyring {
  readonly current: EncryptionKey;
  readonly previous: EncryptionKey | undefined;

  constructor(current: EncryptionKey, previous?: EncryptionKey) {
    this.current = current;
    // The same key given twice is one key: nothing to rotate from.
    this.previous = previous && previous.id !== current.id ? previous : undefined;
  }

  /** The 10 bytes every value sealed under the current key starts with. */
  currentHeader(): Buffer {
    return header(this.current.id);
  }

  /** Seals plaintext (UTF-8 text or bytes) under the current key, bound to `context`. */
  seal(plaintext: string | Uint8Array, context: string): Buffer {
    const head = this.currentHeader();
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.bytes(), nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.concat([head, Buffer.from(context, 'utf8')]));
    const body = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext), cipher.final()]);
    return Buffer.concat([head, nonce, cipher.getAuthTag(), body]);
  }

  /**
   * Opens an envelope sealed under the current or the previous key.
   * Errors: PROBECTL_ERR_ENCRYPTION_KEY_UNKNOWN when its key id is neither
   * (the id is named, never a key); PROBECTL_ERR_ENCRYPTION_DECRYPT when it is
   * malformed, or its tag does not verify (a wrong key with a colliding id,
   * a tampered value, or a value moved from another row or tenant).
   * `where` names the value in those messages (table, column, row).
   */
  open(stored: Uint8Array, context: string, where: string): Buffer {
    const buf = Buffer.from(stored.buffer, stored.byteOffset, stored.length);
    if (!isEnvelope(buf) || buf.length < PAYLOAD_OFFSET || buf[1] !== ENVELOPE_VERSION) {
      throw new ProbectlError('PROBECTL_ERR_ENCRYPTION_DECRYPT', `${where}: not an encrypted value of format version ${ENVELOPE_VERSION} (${buf.length} bytes${isEnvelope(buf) && buf.length > 1 ? `, version ${buf[1]}` : ''})`);
    }
    const id = envelopeKeyId(buf) as string;
    const key = this.keyFor(id);
    if (!key) {
      throw new ProbectlError('PROBECTL_ERR_ENCRYPTION_KEY_UNKNOWN', `${where}: sealed with key ${id}, which is neither PROBECTL_ENCRYPTION_KEY (${this.current.id}) nor PROBECTL_ENCRYPTION_KEY_PREVIOUS (${this.previous?.id ?? 'unset'})`, { details: { key_id: id } });
    }
    const decipher = createDecipheriv('aes-256-gcm', key.bytes(), buf.subarray(ENVELOPE_HEADER_BYTES, ENVELOPE_HEADER_BYTES + NONCE_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.concat([buf.subarray(0, ENVELOPE_HEADER_BYTES), Buffer.from(context, 'utf8')]));
    decipher.setAuthTag(buf.subarray(ENVELOPE_HEADER_BYTES + NONCE_BYTES, PAYLOAD_OFFSET));
    try {
      return Buffer.concat([decipher.update(buf.subarray(PAYLOAD_OFFSET)), decipher.final()]);
    } catch (err) {
      throw new ProbectlError('PROBECTL_ERR_ENCRYPTION_DECRYPT', `${where}: authentication failed under key ${id} (a wrong key, a tampered value, or a value moved from another row or tenant)`, { cause: err });
    }
  }

  /** Whether stored bytes are sealed under the current key (a rotation leaves those alone). */
  isCurrent(stored: Uint8Array): boolean {
    return envelopeKeyId(stored) === this.current.id;
  }

  private keyFor(id: string): EncryptionKey | undefined {
    if (id === this.current.id) return this.current;
    return this.previous?.id === id ? this.previous : undefined;
  }

  toString(): string {
    return `[keyring current=${this.current.id}${this.previous ? ` previous=${this.previous.id}` : ''}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function header(id: string): Buffer {
  return Buffer.concat([Buffer.from([MARKER, ENVELOPE_VERSION]), Buffer.from(id, 'hex')]);
}
