import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Keyring, parseEncryptionKey } from '../../src/core/envelope.ts';
import { listParked, parkItem } from '../../src/delivery/ledger.ts';
import { withKeyring, type Db } from '../../src/store/db.ts';
import { openPglite } from '../../src/store/pglite.ts';
import { storedKeyId } from '../../src/store/sealed.ts';
import { inSystem, inTenant } from '../../src/store/scope.ts';
import { cli, serve, type ServerProcess } from '../helpers/process.ts';

/**
 * The real binary on the embedded database: the quickstart's generated key
 * (first start, restart), `probectl keys rotate` in direct mode, and the
 * refusals of a missing or bad key.
 */
describe('encryption key: embedded quickstart, rotation from the CLI, refusals', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'probectl-e2e-keys-'));
  const env = { PROBECTL_DATA_DIR: dataDir, PROBECTL_LISTEN: '127.0.0.1:0' };
  const keyFile = join(dataDir, 'encryption-key');
  let server: ServerProcess | undefined;
  after(async () => {
    await server?.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Opens the embedded database with a keyring (no server running) and runs fn. */
  const withDb = async <T>(keyring: Keyring, fn: (db: Db, tenant: string) => Promise<T>): Promise<T> => {
    const db = withKeyring(await openPglite(join(dataDir, 'pglite')), keyring);
    try {
      const tenant = await inSystem(db, async (tx) => (await tx.query<{ id: string }>('SELECT id FROM tenants WHERE provider')).rows[0]?.id as string);
      return await fn(db, tenant);
    } finally {
      await db.close();
    }
  };
  const rawKeyIds = (keyring: Keyring) => withDb(keyring, (db, tenant) => inTenant(db, tenant, async (tx) =>
    (await tx.query<{ reason: Uint8Array; response: Uint8Array }>('SELECT reason, response FROM delivery_parked ORDER BY seq')).rows.flatMap((r) => [storedKeyId(r.reason), storedKeyId(r.response)])));

  let fileKey: Keyring;

  it('first start generates a 32-byte key into the data directory with mode 0600, logs its id and file, never the key', async () => {
    server = await serve(env);
    const text = readFileSync(keyFile, 'utf8');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(Buffer.from(text.trim(), 'base64').length, 32);
    fileKey = new Keyring(parseEncryptionKey(text));
    assert.match(server.output(), new RegExp(`"key_file":"${keyFile}","key_id":"${fileKey.current.id}".*generated the encryption key`));
    assert.ok(!server.output().includes(text.trim()), 'the key is never logged');
    assert.equal(await server.stop('SIGTERM'), 0);
    server = undefined;
  });

  it('a restart reuses the key file (same key, nothing generated), and rows sealed under it read', async () => {
    const before = readFileSync(keyFile, 'utf8');
    await withDb(fileKey, (db, tenant) => inTenant(db, tenant, async (tx) => {
      for (let seq = 1; seq <= 3; seq++) await parkItem(tx, 'siem', 'audit', { seq, id: crypto.randomUUID(), status: 400, reason: `reason ${seq}`, response: `answer ${seq}` }, new Date());
    }));
    server = await serve(env);
    assert.equal(readFileSync(keyFile, 'utf8'), before);
    assert.ok(!server.output().includes('generated the encryption key'));
    const rotate = cli(['keys', 'rotate'], env);
    assert.equal(rotate.status, 0, rotate.stderr);
    assert.match(rotate.stdout, new RegExp(`rotated to key ${fileKey.current.id}: 0 value\\(s\\) re-encrypted, 0 plaintext value\\(s\\) encrypted in 1 tenant\\(s\\)`), 'through the running server: nothing to do under the same key');
    assert.equal(await server.stop('SIGTERM'), 0);
    server = undefined;
    assert.deepEqual(new Set(await rawKeyIds(fileKey)), new Set([fileKey.current.id]));
  });

  it('rotation to a new key: the file key as PROBECTL_ENCRYPTION_KEY_PREVIOUS, `probectl keys rotate` re-encrypts every row, a second run finds nothing, the new key alone reads them', async () => {
    const newText = randomBytes(32).toString('base64');
    const newKey = new Keyring(parseEncryptionKey(newText));
    const rotating = { ...env, PROBECTL_ENCRYPTION_KEY: newText, PROBECTL_ENCRYPTION_KEY_PREVIOUS: readFileSync(keyFile, 'utf8').trim() };
    const first = cli(['keys', 'rotate', '--json'], rotating);
    assert.equal(first.status, 0, first.stderr);
    const report = JSON.parse(first.stdout) as { current_key: string; previous_key: string; resealed: number; sealed: number; tenants: Array<{ resealed: number }> };
    assert.deepEqual([report.current_key, report.previous_key, report.resealed, report.sealed], [newKey.current.id, fileKey.current.id, 6, 0]);
    assert.deepEqual(new Set(await rawKeyIds(fileKey)), new Set([newKey.current.id]), 'the key id changed in the raw rows');
    const again = cli(['keys', 'rotate'], rotating);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /: 0 value\(s\) re-encrypted, 0 plaintext value\(s\) encrypted in 1 tenant\(s\)/);
    const parked = await withDb(newKey, (db, tenant) => inTenant(db, tenant, (tx) => listParked(tx, 'siem', 10)));
    assert.deepEqual(parked.map((p) => [p.reason, p.response]), [['reason 1', 'answer 1'], ['reason 2', 'answer 2'], ['reason 3', 'answer 3']]);
    // The old key alone no longer opens them: a clear error naming the key id, never garbage.
    await assert.rejects(withDb(fileKey, (db, tenant) => inTenant(db, tenant, (tx) => listParked(tx, 'siem', 10))),
      new RegExp(`sealed with key ${newKey.current.id}, which is neither PROBECTL_ENCRYPTION_KEY`));
  });

  it('startup is refused without a key on PostgreSQL, and with a key that is not 32 base64 bytes, naming the variable and never the value', () => {
    const pg = cli(['serve'], { ...env, PROBECTL_DATABASE_URL: 'postgres://probectl@127.0.0.1:1/none' });
    assert.equal(pg.status, 1);
    assert.match(pg.stderr, /PROBECTL_ENCRYPTION_KEY: required when PROBECTL_DATABASE_URL is set/);
    const literal = cli(['serve'], { ...env, PROBECTL_ENCRYPTION_KEY: 'changeme-changeme' });
    assert.equal(literal.status, 1);
    assert.match(literal.stderr, /PROBECTL_ENCRYPTION_KEY: not base64/);
    assert.ok(!literal.stderr.includes('changeme'));
    const short = randomBytes(16).toString('base64');
    const ref = cli(['serve'], { ...env, PROBECTL_ENCRYPTION_KEY: 'env:MY_PROBECTL_KEY', MY_PROBECTL_KEY: short });
    assert.equal(ref.status, 1);
    assert.match(ref.stderr, /PROBECTL_ENCRYPTION_KEY: env:MY_PROBECTL_KEY resolves to a value that is 16 bytes once decoded, not 32/);
    assert.ok(!ref.stderr.includes(short));
    const previousAlone = cli(['serve'], { ...env, PROBECTL_ENCRYPTION_KEY_PREVIOUS: randomBytes(32).toString('base64') });
    assert.equal(previousAlone.status, 1);
    assert.match(previousAlone.stderr, /PROBECTL_ENCRYPTION_KEY_PREVIOUS: set without PROBECTL_ENCRYPTION_KEY/);
  });
});
