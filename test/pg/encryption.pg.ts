import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { Keyring, parseEncryptionKey } from '../../src/core/envelope.ts';
import { listParked, parkItem } from '../../src/delivery/ledger.ts';
import { enqueue, outboxSource } from '../../src/notify/outbox.ts';
import { incidentKey } from '../../src/notify/providers/shared/keys.ts';
import { loadConfig } from '../../src/settings.ts';
import { startService } from '../../src/service.ts';
import { SEALED_COLUMNS, storedKeyId } from '../../src/store/sealed.ts';
import { inTenant } from '../../src/store/scope.ts';
import { freshDatabaseUrl, startTestApp, type TestApp } from '../helpers/app.ts';

/**
 * The service on PostgreSQL: the key is required, the payloads land sealed
 * in the raw rows, and POST /v1/keys/rotate after a restart with a new key
 * re-seals every tenant's rows while the old ones keep reading.
 */
describe('encryption at rest on PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> };
  const dataDir = mkdtempSync(join(tmpdir(), 'probectl-pg-keys-'));
  const oldText = randomBytes(32).toString('base64');
  const newText = randomBytes(32).toString('base64');
  let app: TestApp | undefined;
  let tenants: string[] = [];

  before(async () => {
    if (!process.env.PROBECTL_TEST_DATABASE_URL) throw new Error('this suite needs PROBECTL_TEST_DATABASE_URL (run it through npm run test:pg)');
    database = (await freshDatabaseUrl())!;
  });
  after(async () => {
    await app?.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const env = (keys: Record<string, string>) => ({ PROBECTL_DATA_DIR: dataDir, PROBECTL_DATABASE_URL: database.url, ...keys });
  const rawIds = async (tenant: string) => inTenant((app as TestApp).service.deps.db, tenant, async (tx) => {
    const out: Array<{ column: string; id: string | null; text: string }> = [];
    for (const col of SEALED_COLUMNS) {
      for (const r of (await tx.query<{ v: Uint8Array }>(`SELECT ${col.column} AS v FROM ${col.table} WHERE ${col.column} IS NOT NULL`)).rows) {
        out.push({ column: `${col.table}.${col.column}`, id: storedKeyId(r.v), text: Buffer.from(r.v).toString('latin1') });
      }
    }
    return out;
  });

  it('startup without PROBECTL_ENCRYPTION_KEY is refused before anything is opened', async () => {
    assert.throws(() => loadConfig(env({})), /PROBECTL_ENCRYPTION_KEY: required when PROBECTL_DATABASE_URL is set/);
    // startService itself refuses too (a configuration built without the cross-check, as a library caller might).
    const config = { ...loadConfig(env({ PROBECTL_ENCRYPTION_KEY: oldText, PROBECTL_LISTEN: '127.0.0.1:0' })), encryptionKey: undefined };
    await assert.rejects(startService(config, { env: {} }), /PROBECTL_ENCRYPTION_KEY: required when PROBECTL_DATABASE_URL is set/);
  });

  it('payloads written by the service are sealed in the raw rows and read back', async () => {
    app = await startTestApp(env({ PROBECTL_ENCRYPTION_KEY: oldText, PROBECTL_LISTEN: '127.0.0.1:0' }));
    for (const name of ['pg-keys-a', 'pg-keys-b']) tenants.push((await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name } })).json.id);
    const { db } = app.service.deps;
    for (const tenant of tenants) {
      await inTenant(db, tenant, async (tx) => {
        await parkItem(tx, 'siem', 'audit', { seq: 1, id: crypto.randomUUID(), status: 400, reason: 'PGCANARY reason', response: 'PGCANARY answer' }, new Date());
        const id = crypto.randomUUID();
        await enqueue(tx, systemClock, [{ connector: 'webhook-0000000001', action: 'open', incident: { id, key: incidentKey(id), tenant, title: 'PGCANARY title', severity: 'critical', status: 'open', target: 't', kindFamily: 'k', signalCount: 1, openedAt: '2026-11-30T12:00:00.000Z' } }]);
      });
      const raw = await rawIds(tenant);
      assert.equal(raw.length, 3);
      const old = new Keyring(parseEncryptionKey(oldText)).current.id;
      for (const r of raw) {
        assert.ok(!r.text.includes('PGCANARY'), `${r.column} holds plaintext`);
        assert.equal(r.id, old);
      }
      assert.equal((await inTenant(db, tenant, (tx) => outboxSource('webhook-0000000001', tenant).read(tx, 0, 10))).items[0]?.incident.title, 'PGCANARY title');
    }
    await app.close();
    app = undefined;
  });

  it('after a restart with a new key and the old one as previous, old rows read, the rotation route re-seals every tenant, and the new key alone reads them', async () => {
    app = await startTestApp(env({ PROBECTL_ENCRYPTION_KEY: newText, PROBECTL_ENCRYPTION_KEY_PREVIOUS: oldText, PROBECTL_LISTEN: '127.0.0.1:0' }));
    const { db } = app.service.deps;
    assert.deepEqual((await inTenant(db, tenants[0]!, (tx) => listParked(tx, 'siem', 10))).map((p) => p.response), ['PGCANARY answer']);
    const res = await app.request('POST', '/v1/keys/rotate', { token: app.adminToken, body: {} });
    assert.equal(res.status, 200, res.text);
    const newId = new Keyring(parseEncryptionKey(newText)).current.id;
    assert.equal(res.json.current_key, newId);
    assert.equal(res.json.resealed, 6, 'three values in each of two tenants');
    assert.deepEqual(res.json.tenants.map((t: { resealed: number }) => t.resealed).sort(), [0, 3, 3], 'the provider tenant had none');
    for (const tenant of tenants) assert.deepEqual(new Set((await rawIds(tenant)).map((r) => r.id)), new Set([newId]));
    assert.equal((await app.request('POST', '/v1/keys/rotate', { token: app.adminToken, body: {} })).json.resealed, 0, 'idempotent');
    const audit = await app.request('GET', '/v1/audit?limit=500', { token: app.adminToken });
    assert.ok(JSON.stringify(audit.json).includes('keys.rotate'), 'the rotation is audited in the provider chain');
    await app.close();
    app = await startTestApp(env({ PROBECTL_ENCRYPTION_KEY: newText, PROBECTL_LISTEN: '127.0.0.1:0' }));
    assert.deepEqual((await inTenant(app.service.deps.db, tenants[1]!, (tx) => listParked(tx, 'siem', 10))).map((p) => p.reason), ['PGCANARY reason']);
  });
});
