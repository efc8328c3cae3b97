import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM under a random key made when the Sealer is built and never
 * exported: the key lives in a KeyObject (native memory, outside the JS heap)
 * and dies with the process. A sealed value is `iv | tag | ciphertext`; the
 * AAD binds it to one reference, so a ciphertext moved to another cache slot
 * fails to open.
 */
export class Sealer {
  readonly #key: KeyObject;

  constructor() {
    const raw = randomBytes(32);
    this.#key = createSecretKey(raw);
    raw.fill(0);
  }

  seal(plaintext: Buffer, aad: Buffer): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const body = cipher.update(plaintext);
    cipher.final();
    const sealed = Buffer.concat([iv, cipher.getAuthTag(), body]);
    body.fill(0);
    return sealed;
  }

  /** The plaintext in a fresh buffer the caller must zero; throws when the AAD or ciphertext does not match. */
  open(sealed: Buffer, aad: Buffer): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const plain = decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES));
    try {
      decipher.final();
    } catch (err) {
      plain.fill(0);
      throw err;
    }
    return plain;
  }
}
