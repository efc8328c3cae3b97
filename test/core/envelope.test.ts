import assert from 'node:assert/strict';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { EncryptionKey, encryptionKeyProblem, envelopeKeyId, isEnvelope, Keyring, parseEncryptionKey } from '../../src/core/envelope.ts';
import { isProbectlError } from '../../src/core/errors.ts';

const code = (err: unknown) => (isProbectlError(err) ? err.code : String(err));

describe('the AES-256-GCM envelope', () => {
  it('is version 1 with the key id, a fresh nonce and the tag, and decrypts with plain node:crypto as documented', () => {
    const text = randomBytes(32).toString('base64');
    const key = parseEncryptionKey(text);
    const ring = new Keyring(key);
    const a = ring.seal('secret payload', 'ctx');
    const b = ring.seal('secret payload', 'ctx');
    assert.ok(!a.equals(b), 'a fresh nonce per value');
    assert.equal(a[0], 0x00);
    assert.equal(a[1], 0x01);
    assert.equal(envelopeKeyId(a), key.id);
    assert.match(key.id, /^[0-9a-f]{16}$/);
    assert.equal(a.length, 2 + 8 + 12 + 16 + Buffer.byteLength('secret payload'));
    // Independent decryption, following the format in src/core/envelope.ts.
    const d = createDecipheriv('aes-256-gcm', Buffer.from(text, 'base64'), a.subarray(10, 22));
    d.setAAD(Buffer.concat([a.subarray(0, 10), Buffer.from('ctx')]));
    d.setAuthTag(a.subarray(22, 38));
    assert.equal(Buffer.concat([d.update(a.subarray(38)), d.final()]).toString(), 'secret payload');
    assert.equal(ring.open(a, 'ctx', 'here').toString(), 'secret payload');
  });

  it('another context, a flipped bit, a truncated value or a foreign version is PROBECTL_ERR_ENCRYPTION_DECRYPT, never plaintext', () => {
    const ring = new Keyring(EncryptionKey.generate());
    const sealed = ring.seal('payload', 'table.col\0tenant-a\0row-1');
    assert.throws(() => ring.open(sealed, 'table.col\0tenant-b\0row-1', 'where'), (err) => code(err) === 'PROBECTL_ERR_ENCRYPTION_DECRYPT' && /where: authentication failed/.test((err as Error).message));
    for (const index of [1, 12, 30, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[index] = (bad[index] as number) ^ 1;
      assert.throws(() => ring.open(bad, 'table.col\0tenant-a\0row-1', 'where'), (err) => code(err) === 'PROBECTL_ERR_ENCRYPTION_DECRYPT', `byte ${index}`);
    }
    assert.throws(() => ring.open(sealed.subarray(0, 20), 'x', 'where'), (err) => code(err) === 'PROBECTL_ERR_ENCRYPTION_DECRYPT');
    // A key id changed to the other configured key: the id is authenticated too.
    const other = EncryptionKey.generate();
    const both = new Keyring(other, ring.current);
    const moved = Buffer.from(sealed);
    Buffer.from(other.id, 'hex').copy(moved, 2);
    assert.throws(() => both.open(moved, 'table.col\0tenant-a\0row-1', 'where'), (err) => code(err) === 'PROBECTL_ERR_ENCRYPTION_DECRYPT');
  });

  it('a value under neither the current nor the previous key is PROBECTL_ERR_ENCRYPTION_KEY_UNKNOWN naming the ids, never a key', () => {
    const old = EncryptionKey.generate();
    const sealed = new Keyring(old).seal('x', 'c');
    const current = EncryptionKey.generate();
    const previous = EncryptionKey.generate();
    assert.throws(() => new Keyring(current, previous).open(sealed, 'c', 'notify_outbox.incident of tenant t row (id=1)'), (err) => {
      assert.equal(code(err), 'PROBECTL_ERR_ENCRYPTION_KEY_UNKNOWN');
      assert.equal((err as Error).message, `notify_outbox.incident of tenant t row (id=1): sealed with key ${old.id}, which is neither PROBECTL_ENCRYPTION_KEY (${current.id}) nor PROBECTL_ENCRYPTION_KEY_PREVIOUS (${previous.id})`);
      return true;
    });
    assert.equal(new Keyring(current, old).open(sealed, 'c', 'w').toString(), 'x', 'the previous key still opens');
    assert.ok(!new Keyring(current, old).isCurrent(sealed));
  });

  it('keys are 32 random bytes in base64; anything else is refused without quoting it; printing a key or keyring shows only its id', () => {
    const good = randomBytes(32).toString('base64');
    assert.equal(encryptionKeyProblem(good), undefined);
    assert.equal(encryptionKeyProblem(`  ${good}\n`), undefined, 'a trailing newline (a file, openssl output) is fine');
    const cases: Array<[string, RegExp]> = [
      ['hunter2-not-base64!', /^not base64/],
      [randomBytes(16).toString('base64'), /^16 bytes once decoded, not 32$/],
      [randomBytes(48).toString('base64'), /^48 bytes once decoded, not 32$/],
      [Buffer.alloc(32).toString('base64'), /placeholder/],
      [randomBytes(32).toString('hex'), /not base64|bytes once decoded/],
    ];
    for (const [text, why] of cases) {
      const problem = encryptionKeyProblem(text) ?? '';
      assert.match(problem, why, text);
      assert.ok(!problem.includes(text.trim()), 'never quoted');
    }
    const key = parseEncryptionKey(good);
    const ring = new Keyring(key);
    for (const shown of [String(key), JSON.stringify({ key }), inspect(key), inspect(ring), JSON.stringify(ring)]) {
      assert.ok(!shown.includes(good) && !shown.includes(Buffer.from(good, 'base64').toString('hex')), shown);
      assert.ok(shown.includes(key.id), shown);
    }
    assert.equal(new Keyring(key, parseEncryptionKey(good)).previous, undefined, 'the same key twice is one key');
    assert.ok(!isEnvelope(Buffer.from('{"legacy":"json"}')));
  });
});
