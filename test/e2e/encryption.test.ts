import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EncryptionKey, Keyring, parseEncryptionKey } from '../../src/core/envelope.ts';
import { listParked, parkItem } from '../../src/delivery/ledger.ts';
import { withKeyring, type Db } from '../../src/store/db.ts';
import { openPglite } from '../../src/store/pglite.ts';
import { storedKeyId } from '../../src/store/sealed.ts';
import { inSystem, inTenant } from '../../src/store/scope.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { cli, serve, type ServerProcess } from '../helpers/process.ts';

/** Opens the data directory's embedded database with a keyring (no server running) and runs fn with the provider tenant. */
function embeddedDb(dataDir: string) {
  return async <T>(keyring: Keyring, fn: (db: Db, tenant: string) => Promise<T>): Promise<T> => {
    const db = withKeyring(await openPglite(join(dataDir, 'pglite')), keyring);
    try {
      const tenant = await inSystem(db, async (tx) => (await tx.query<{ id: string }>('SELECT id FROM tenants WHERE provider')).rows[0]?.id as string);
      return await fn(db, tenant);
    } finally {
      await db.close();
    }
  };
}

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

  const withDb = embeddedDb(dataDir);
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

  it('a plain restart after an env-var rotation (the key file still holds the old key) is not silent: not ready, the unknown key id logged', async () => {
    const rotatedTo = (await rawKeyIds(new Keyring(EncryptionKey.generate())))[0] as string;
    assert.notEqual(rotatedTo, fileKey.current.id);
    server = await serve(env);
    const line = server.output().split('\n').find((l) => l.includes('not ready: stored values in delivery_parked.reason, delivery_parked.response'));
    assert.ok(line, server.output());
    assert.match(line, new RegExp(`sealed with key ${rotatedTo}, which is neither PROBECTL_ENCRYPTION_KEY nor PROBECTL_ENCRYPTION_KEY_PREVIOUS`));
    assert.ok(!server.output().includes(readFileSync(keyFile, 'utf8').trim()), 'never a key');
    assert.equal(await server.stop('SIGTERM'), 0);
    server = undefined;
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

/**
 * The embedded rotation as docs/encryption.md gives it: `probectl keys new`
 * (the old key kept as encryption-key.previous), a plain restart, `probectl
 * keys rotate`, the previous file moved out, a plain restart.
 */
describe('encryption key: the embedded key file rotation (`probectl keys new`)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'probectl-e2e-keynew-'));
  const env = { PROBECTL_DATA_DIR: dataDir, PROBECTL_LISTEN: '127.0.0.1:0' };
  const keyFile = join(dataDir, 'encryption-key');
  const previousFile = join(dataDir, 'encryption-key.previous');
  let server: ServerProcess | undefined;
  after(async () => {
    await server?.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });
  const withDb = embeddedDb(dataDir);

  it('followed literally, every row ends under the new key, reads after plain restarts, and the server is never left with an unknown key', async () => {
    server = await serve(env);
    assert.equal(await server.stop('SIGTERM'), 0);
    server = undefined;
    const oldText = readFileSync(keyFile, 'utf8');
    const oldKey = new Keyring(parseEncryptionKey(oldText));
    await withDb(oldKey, (db, tenant) => inTenant(db, tenant, async (tx) => {
      for (let seq = 1; seq <= 3; seq++) await parkItem(tx, 'siem', 'audit', { seq, id: crypto.randomUUID(), status: 400, reason: `reason ${seq}`, response: `answer ${seq}` }, new Date());
    }));

    const made = cli(['keys', 'new'], env);
    assert.equal(made.status, 0, made.stderr);
    const newText = readFileSync(keyFile, 'utf8');
    const newKey = new Keyring(parseEncryptionKey(newText));
    assert.notEqual(newKey.current.id, oldKey.current.id);
    assert.equal(readFileSync(previousFile, 'utf8'), oldText, 'the old key is kept');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(statSync(previousFile).mode & 0o777, 0o600);
    assert.match(made.stdout, new RegExp(`new key ${newKey.current.id} written; the old key ${oldKey.current.id} is kept in ${previousFile}`));
    assert.ok(!made.stdout.includes(newText.trim()) && !made.stdout.includes(oldText.trim()), 'never a key');
    const again = cli(['keys', 'new'], env);
    assert.notEqual(again.status, 0, 'a second `keys new` before the rotation finished would lose the old key');
    assert.match(again.stderr, /a rotation is not finished: .*encryption-key\.previous still holds the key being replaced/);
    assert.equal(readFileSync(keyFile, 'utf8'), newText, 'nothing changed');
    const withVar = cli(['keys', 'new'], { ...env, PROBECTL_ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    assert.match(withVar.stderr, /PROBECTL_ENCRYPTION_KEY: set: the data directory's key file is not used/);

    // A plain restart: the new key seals, the previous file still opens; no unknown key.
    server = await serve(env);
    assert.ok(!server.output().includes('not ready'), server.output());
    const rotate = cli(['keys', 'rotate'], env);
    assert.equal(rotate.status, 0, rotate.stderr);
    assert.match(rotate.stdout, new RegExp(`rotated to key ${newKey.current.id} \\(from ${oldKey.current.id}\\): 6 value\\(s\\) re-encrypted`));
    assert.equal(await server.stop('SIGTERM'), 0);
    server = undefined;

    // The previous file moved to the backups; a plain restart reads everything under the new key alone.
    rmSync(previousFile);
    server = await serve(env);
    assert.ok(!server.output().includes('not ready'), server.output());
    assert.equal(await server.stop('SIGTERM'), 0);
    server = undefined;
    const parked = await withDb(newKey, (db, tenant) => inTenant(db, tenant, (tx) => listParked(tx, 'siem', 10)));
    assert.deepEqual(parked.map((p) => [p.reason, p.response]), [['reason 1', 'answer 1'], ['reason 2', 'answer 2'], ['reason 3', 'answer 3']]);
    assert.ok(!existsSync(previousFile));
  });
});

describe('encryption key: readiness and the audit of a failed rotation (embedded, in process)', () => {
  it('a rotation stopped by a row under an unknown key is audited as a failure (key ids, no key); a restart under a key that opens nothing stored answers /readyz 503 naming the key id', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'probectl-e2e-keyready-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    let app: TestApp | undefined = await startTestApp({ PROBECTL_DATA_DIR: dataDir });
    try {
      const fileText = readFileSync(join(dataDir, 'encryption-key'), 'utf8').trim();
      const fileId = new Keyring(parseEncryptionKey(fileText)).current.id;
      const stray = EncryptionKey.generate();
      const tenant = app.service.deps.providerTenantId;
      await inTenant(withKeyring(app.service.deps.db, new Keyring(stray)), tenant, (tx) => parkItem(tx, 'siem', 'audit', { seq: 1, id: crypto.randomUUID(), status: 400, reason: 'r', response: 'a' }, new Date()));
      const res = await app.request('POST', '/v1/keys/rotate', { token: app.adminToken, body: {} });
      assert.equal(res.status, 500, res.text);
      assert.equal(res.json.code, 'PROBECTL_ERR_ENCRYPTION_KEY_UNKNOWN');
      const audit = await app.request('GET', '/v1/audit?limit=500', { token: app.adminToken });
      const records = JSON.stringify(audit.json);
      assert.match(records, /"action":"keys\.rotate"/);
      assert.match(records, /"outcome":"failure"/);
      assert.ok(records.includes(stray.id) && records.includes(fileId), 'the failure names the key ids');
      assert.ok(!records.includes(fileText), 'never a key');
      assert.equal((await app.request('GET', '/readyz')).status, 200, 'the probe runs at startup');
      await app.close();
      app = undefined;

      // Restarted under a key that is neither the file's nor its previous: stored values cannot be read.
      const other = EncryptionKey.generate().exportBase64();
      app = await startTestApp({ PROBECTL_DATA_DIR: dataDir, PROBECTL_ENCRYPTION_KEY: other });
      const ready = await app.request('GET', '/readyz');
      assert.equal(ready.status, 503, ready.text);
      assert.equal(ready.json.code, 'PROBECTL_ERR_ENCRYPTION_NOT_READY');
      assert.match(ready.json.message, new RegExp(`delivery_parked\\.reason, delivery_parked\\.response \\(1 tenant\\(s\\)\\) are sealed with key ${stray.id}, which is neither`));
      assert.ok(!ready.text.includes(other) && !ready.text.includes(fileText));
      assert.ok(app.logs.some((l) => l.includes('"level":50') && l.includes('not ready: stored values')), 'an error is logged at startup');
    } finally {
      await app?.close();
    }
  });
});
