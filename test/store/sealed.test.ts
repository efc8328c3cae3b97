import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { EncryptionKey, Keyring } from '../../src/core/envelope.ts';
import { isProbectlError } from '../../src/core/errors.ts';
import { listParked, parkItem } from '../../src/delivery/ledger.ts';
import { insertTenant } from '../../src/identity/tenants.ts';
import { connectorLinks, insertLinks, recordOpenEnded, recordOpens } from '../../src/notify/links.ts';
import { enqueue, markDone, outboxSource } from '../../src/notify/outbox.ts';
import { incidentKey } from '../../src/notify/providers/shared/keys.ts';
import type { IncidentView } from '../../src/notify/providers/types.ts';
import { withKeyring, type Db } from '../../src/store/db.ts';
import { migrate, shippedMigrations } from '../../src/store/migrate.ts';
import { loadLegacyPlaintext, probeSealedKeys, rotateTenant, SEALED_COLUMNS, storedKeyId, type SealedColumn } from '../../src/store/sealed.ts';
import { inSystem, inTenant } from '../../src/store/scope.ts';
import { seedIncident } from '../helpers/seed.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';

const DRIVER = process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite';
const CONNECTOR = 'jira-0000000001';

const view = (id: string, tenant: string, title: string): IncidentView => ({
  id, key: incidentKey(id), tenant, title, severity: 'critical', status: 'open', target: 'core-sw-1', kindFamily: 'link', signalCount: 1, openedAt: '2026-11-30T12:00:00.000Z',
});

/** A canary per payload kind and tenant: none may appear in the raw rows. */
const canary = (kind: string, tenant: string) => `CANARY-${kind}-${tenant.slice(0, 8)}-5f0c2a`;

/** Writes one value of every encrypted kind through the product's own functions, each carrying its canary. */
async function writeEveryKind(db: Db, tenant: string): Promise<{ incident: string }> {
  const incident = await seedIncident(db, tenant);
  const other = await seedIncident(db, tenant);
  await inTenant(db, tenant, async (tx) => {
    await parkItem(tx, 'siem', 'audit', { seq: 7, id: crypto.randomUUID(), status: 400, reason: canary('parked-reason', tenant), response: `{"error":"${canary('parked-response', tenant)}"}` }, new Date());
    await enqueue(tx, systemClock, [
      { connector: CONNECTOR, action: 'open', incident: view(incident, tenant, canary('outbox-incident', tenant)) },
      { connector: CONNECTOR, action: 'update', incident: view(incident, tenant, canary('outbox-incident', tenant)), update: { signals: 3, severityFrom: 'warning', severityTo: 'critical' } },
    ]);
    await markDone(tx, systemClock, CONNECTOR, [2], 'skipped', canary('outbox-reason', tenant));
    await insertLinks(tx, systemClock, incident, 'open', [{ id: CONNECTOR, provider: 'jira' }]);
    await insertLinks(tx, systemClock, other, 'open', [{ id: CONNECTOR, provider: 'jira' }]);
    await recordOpens(tx, systemClock, CONNECTOR, [{ incidentId: incident, ref: { id: 'OPS-1', data: { self: canary('link-ref-data', tenant) } } }]);
    await recordOpenEnded(tx, systemClock, CONNECTOR, other, 'failed', canary('link-failure', tenant));
  });
  return { incident };
}

/** Every stored value of every encrypted column of the tenant, raw (as SELECT returns the column). */
async function rawValues(db: Db, tenant: string): Promise<Array<{ col: SealedColumn; value: Buffer }>> {
  const out: Array<{ col: SealedColumn; value: Buffer }> = [];
  await inTenant(db, tenant, async (tx) => {
    for (const col of SEALED_COLUMNS) {
      const rows = (await tx.query<{ v: Uint8Array }>(`SELECT ${col.column} AS v FROM ${col.table} WHERE tenant_id = $1 AND ${col.column} IS NOT NULL`, [tenant])).rows;
      for (const r of rows) out.push({ col, value: Buffer.from(r.v) });
    }
  });
  return out;
}

async function readBack(db: Db, tenant: string) {
  return inTenant(db, tenant, async (tx) => {
    const parked = await listParked(tx, 'siem', 10);
    const ops = (await outboxSource(CONNECTOR, tenant).read(tx, 0, 10)).items;
    const reasons = (await tx.query<{ reason: Uint8Array | null }>('SELECT reason FROM notify_outbox WHERE tenant_id = $1 ORDER BY seq', [tenant])).rows;
    const incidents = (await tx.query<{ incident_id: string }>('SELECT incident_id FROM notify_links WHERE tenant_id = $1', [tenant])).rows.map((r) => r.incident_id);
    const links = [...(await connectorLinks(tx, CONNECTOR, incidents)).values()];
    return { parked, ops, reasons: reasons.length, links };
  });
}

const code = (err: unknown) => (isProbectlError(err) ? err.code : String(err));

describe(`encryption at rest of the stored payloads (${DRIVER})`, () => {
  let t: TestDb;
  let a: string;
  let b: string;
  before(async () => {
    t = await openTestDb();
    [a, b] = await inSystem(t.db, async (tx) => [(await insertTenant(tx, 'sealed-a')).id, (await insertTenant(tx, 'sealed-b')).id] as const);
    await writeEveryKind(t.db, a);
    await writeEveryKind(t.db, b);
  });
  after(() => t?.close());

  it('raw rows of every encrypted column hold no plaintext canary, only envelopes under the current key', async () => {
    for (const tenant of [a, b]) {
      const raw = await rawValues(t.db, tenant);
      assert.deepEqual([...new Set(raw.map((r) => `${r.col.table}.${r.col.column}`))].sort(), SEALED_COLUMNS.map((c) => `${c.table}.${c.column}`).sort(), 'every encrypted column was written');
      for (const { col, value } of raw) {
        const text = value.toString('latin1');
        assert.ok(!text.includes('CANARY'), `${col.table}.${col.column} holds plaintext`);
        assert.ok(!text.includes(canary('x', tenant).slice(-6)), `${col.table}.${col.column} holds the canary's tail`);
        assert.equal(storedKeyId(value), t.keyring.current.id, `${col.table}.${col.column} is sealed under the current key`);
      }
    }
  });

  it('what was written reads back: parked answers, outbox incident views, details and reasons, link ref data and failures', async () => {
    const back = await readBack(t.db, a);
    assert.deepEqual(back.parked.map((p) => [p.seq, p.status, p.reason, p.response]), [[7, 400, canary('parked-reason', a), `{"error":"${canary('parked-response', a)}"}`]]);
    assert.deepEqual(back.ops.map((o) => [o.seq, o.action, o.incident.title, o.incident.tenant]), [[1, 'open', canary('outbox-incident', a), a], [2, 'update', canary('outbox-incident', a), a]]);
    assert.deepEqual(back.ops[1]?.update, { signals: 3, severityFrom: 'warning', severityTo: 'critical' });
    assert.equal(back.ops[0]?.update, undefined);
    const byState = Object.fromEntries(back.links.map((l) => [l.state, l]));
    assert.deepEqual(byState.open?.ref_data, { self: canary('link-ref-data', a) });
    assert.equal(byState.failed?.failure, canary('link-failure', a));
  });

  it('a value copied into another tenant\'s row, or another row, does not open: a clear error, never the other value', async () => {
    const source = await inTenant(t.db, a, async (tx) => (await tx.query<{ response: Uint8Array }>("SELECT response FROM delivery_parked WHERE tenant_id = $1 AND seq = 7", [a])).rows[0]?.response);
    const hex = Buffer.from(source as Uint8Array).toString('hex');
    const scratch = await openTestDb({ keyring: t.keyring });
    try {
      const [x, y] = await inSystem(scratch.db, async (tx) => [(await insertTenant(tx, 'swap-x')).id, (await insertTenant(tx, 'swap-y')).id] as const);
      await writeEveryKind(scratch.db, x);
      await writeEveryKind(scratch.db, y);
      const xResponse = await inTenant(scratch.db, x, async (tx) => (await tx.query<{ response: Uint8Array }>('SELECT response FROM delivery_parked WHERE tenant_id = $1', [x])).rows[0]?.response);
      // Across tenants: x's answer put into y's row.
      await inTenant(scratch.db, y, (tx) => tx.query('UPDATE delivery_parked SET response = decode($2, \'hex\') WHERE tenant_id = $1', [y, Buffer.from(xResponse as Uint8Array).toString('hex')]));
      await assert.rejects(inTenant(scratch.db, y, (tx) => listParked(tx, 'siem', 10)), (err) => {
        assert.equal(code(err), 'PROBECTL_ERR_ENCRYPTION_DECRYPT');
        assert.match((err as Error).message, /delivery_parked\.response of tenant .* authentication failed/);
        assert.ok(!(err as Error).message.includes('CANARY'));
        return true;
      });
      // Across columns of one row: the response put into the reason.
      await inTenant(scratch.db, x, (tx) => tx.query('UPDATE delivery_parked SET reason = response WHERE tenant_id = $1', [x]));
      await assert.rejects(inTenant(scratch.db, x, (tx) => listParked(tx, 'siem', 10)), (err) => code(err) === 'PROBECTL_ERR_ENCRYPTION_DECRYPT');
      // Another database's row (a value from tenant a of the first database).
      await inTenant(scratch.db, x, (tx) => tx.query("UPDATE delivery_parked SET reason = decode($2, 'hex'), response = decode($2, 'hex') WHERE tenant_id = $1", [x, hex]));
      await assert.rejects(inTenant(scratch.db, x, (tx) => listParked(tx, 'siem', 10)), (err) => code(err) === 'PROBECTL_ERR_ENCRYPTION_DECRYPT');
      // A flipped ciphertext bit in the outbox: the drainer's read fails, it never hands garbage to a sink.
      await inTenant(scratch.db, x, (tx) => tx.query('UPDATE notify_outbox SET incident = set_byte(incident, 49, get_byte(incident, 49) # 1) WHERE tenant_id = $1 AND seq = 1', [x]));
      await assert.rejects(inTenant(scratch.db, x, (tx) => outboxSource(CONNECTOR, x).read(tx, 0, 10)), (err) => code(err) === 'PROBECTL_ERR_ENCRYPTION_DECRYPT');
    } finally {
      await scratch.close();
    }
  });

  it('a database read with another key is a clear error naming the key id and the row; one opened without a key refuses too', async () => {
    const stranger = withKeyring(t.db, new Keyring(EncryptionKey.generate()));
    await assert.rejects(inTenant(stranger, a, (tx) => listParked(tx, 'siem', 10)), (err) => {
      assert.equal(code(err), 'PROBECTL_ERR_ENCRYPTION_KEY_UNKNOWN');
      assert.match((err as Error).message, new RegExp(`delivery_parked\\.reason of tenant ${a} row \\(consumer=siem, stream=audit, seq=7\\): sealed with key ${t.keyring.current.id}, which is neither PROBECTL_ENCRYPTION_KEY`));
      return true;
    });
    await assert.rejects(inTenant(stranger, a, (tx) => outboxSource(CONNECTOR, a).read(tx, 0, 10)), (err) => code(err) === 'PROBECTL_ERR_ENCRYPTION_KEY_UNKNOWN');
    const keyless: Db = { ...withKeyring(t.db, t.keyring), keyring: undefined };
    await assert.rejects(inTenant(keyless, a, (tx) => listParked(tx, 'siem', 10)), (err) => code(err) === 'PROBECTL_ERR_ENCRYPTION_UNCONFIGURED');
  });
});

describe(`key rotation (${DRIVER})`, () => {
  it('rows under the old key read during and after the rotation; rotation re-seals every row under the new key, tenant by tenant, and a second run finds nothing', async (t) => {
    const oldKey = EncryptionKey.generate();
    const newKey = EncryptionKey.generate();
    const test = await openTestDb({ keyring: new Keyring(oldKey) });
    t.after(() => test.close());
    const [a, b] = await inSystem(test.db, async (tx) => [(await insertTenant(tx, 'rot-a')).id, (await insertTenant(tx, 'rot-b')).id] as const);
    for (const tenant of [a, b]) await writeEveryKind(test.db, tenant);
    const before = { a: await readBack(test.db, a), b: await readBack(test.db, b) };

    // Rotation started: the new key seals, the old one still opens.
    const rotating = withKeyring(test.db, new Keyring(newKey, oldKey));
    assert.deepEqual(await readBack(rotating, a), before.a, 'old rows read under the rotating keyring');
    const incident = await seedIncident(rotating, a);
    await inTenant(rotating, a, (tx) => enqueue(tx, systemClock, [{ connector: CONNECTOR, action: 'open', incident: view(incident, a, canary('outbox-incident', a)) }]));
    const mixed = (await rawValues(rotating, a)).map((r) => storedKeyId(r.value));
    assert.ok(mixed.includes(oldKey.id) && mixed.includes(newKey.id), 'new writes use the new key while old rows keep theirs');

    const first = await rotateTenant(rotating, a);
    const perColumn = SEALED_COLUMNS.length; // one value per column per tenant written by writeEveryKind, two outbox rows
    assert.equal(first.sealed, 0);
    assert.equal(first.resealed, (await rawValues(test.db, b)).length, 'every old value of tenant a re-sealed (as many as tenant b holds)');
    assert.ok(first.resealed >= perColumn);
    assert.deepEqual(new Set((await rawValues(rotating, a)).map((r) => storedKeyId(r.value))), new Set([newKey.id]), 'tenant a: every raw value now carries the new key id');
    assert.deepEqual(new Set((await rawValues(rotating, b)).map((r) => storedKeyId(r.value))), new Set([oldKey.id]), 'tenant b untouched until its turn');
    assert.deepEqual((await rotateTenant(rotating, a)).resealed, 0, 'idempotent');
    assert.equal((await rotateTenant(rotating, b, 2)).resealed, first.resealed, 'small batches reach every row');

    // Rotation finished: the old key can go; everything reads under the new key alone.
    const after = withKeyring(test.db, new Keyring(newKey));
    const readA = await readBack(after, a);
    assert.deepEqual(readA.parked, before.a.parked);
    assert.deepEqual(readA.ops.slice(0, 2), before.a.ops);
    assert.equal(readA.ops[2]?.incident.title, canary('outbox-incident', a));
    assert.deepEqual(await readBack(after, b), before.b);
    for (const tenant of [a, b]) for (const { value } of await rawValues(after, tenant)) assert.ok(!value.toString('latin1').includes('CANARY'));
    // The old key alone no longer opens anything.
    await assert.rejects(inTenant(withKeyring(test.db, new Keyring(oldKey)), a, (tx) => listParked(tx, 'siem', 10)), (err) => code(err) === 'PROBECTL_ERR_ENCRYPTION_KEY_UNKNOWN');
  });

  it('a row under an unknown key stops the rotation with that error; what was committed stays re-sealed and a later run resumes', async (t) => {
    const oldKey = EncryptionKey.generate();
    const newKey = EncryptionKey.generate();
    const test = await openTestDb({ keyring: new Keyring(oldKey) });
    t.after(() => test.close());
    const [tenant] = await inSystem(test.db, async (tx) => [(await insertTenant(tx, 'resume')).id] as const);
    await inTenant(test.db, tenant, async (tx) => {
      for (let seq = 1; seq <= 5; seq++) await parkItem(tx, 'siem', 'audit', { seq, id: crypto.randomUUID(), status: 400, reason: `r${seq}`, response: `a${seq}` }, new Date());
    });
    // Seq 4 was sealed by a key nobody configured any more.
    await inTenant(withKeyring(test.db, new Keyring(EncryptionKey.generate())), tenant, (tx) => parkItem(tx, 'siem', 'audit', { seq: 4, id: crypto.randomUUID(), status: 400, reason: 'r4', response: 'a4' }, new Date()));
    const rotating = withKeyring(test.db, new Keyring(newKey, oldKey));
    await assert.rejects(rotateTenant(rotating, tenant, 1), (err) => code(err) === 'PROBECTL_ERR_ENCRYPTION_KEY_UNKNOWN' && /delivery_parked\.reason .*seq=4/.test((err as Error).message));
    const reasons = await inTenant(test.db, tenant, async (tx) => (await tx.query<{ seq: number; reason: Uint8Array }>('SELECT seq, reason FROM delivery_parked WHERE tenant_id = $1 ORDER BY seq', [tenant])).rows.map((r) => storedKeyId(r.reason)));
    assert.deepEqual(reasons.slice(0, 3), [newKey.id, newKey.id, newKey.id], 'the batches before the bad row were committed');
    assert.notEqual(reasons[3], newKey.id);
    // The operator removes (or re-keys) the bad row; the next run picks up where the last one stopped.
    await inTenant(test.db, tenant, (tx) => tx.query('DELETE FROM delivery_parked WHERE tenant_id = $1 AND seq = 4', [tenant]));
    const resumed = await rotateTenant(rotating, tenant, 1);
    assert.equal(resumed.resealed, 1 + 4, 'the one reason left and the four responses');
    assert.deepEqual((await inTenant(rotating, tenant, (tx) => listParked(tx, 'siem', 10))).map((p) => p.reason), ['r1', 'r2', 'r3', 'r5']);
  });
});

describe(`rows from before encryption (migration 0008, ${DRIVER})`, () => {
  it('old plaintext rows keep reading after the migration, and the rotation seals them', async (t) => {
    const test = await openTestDb({ migrate: false });
    t.after(() => test.close());
    const { db } = test;
    await migrate(db, shippedMigrations().filter((m) => m.version <= 6));
    const [tenant] = await inSystem(db, async (tx) => [(await insertTenant(tx, 'legacy')).id] as const);
    const incident = await seedIncident(db, tenant as string);
    const opId = crypto.randomUUID();
    const legacyView = view(incident, tenant as string, 'LEGACY-TITLE');
    // Rows as the 0006 schema held them (text and jsonb), written in the tenant's scope.
    await inTenant(db, tenant as string, async (tx) => {
      await tx.query(`INSERT INTO delivery_parked (tenant_id, consumer, stream, seq, event_id, parked_at, status, reason, response)
        VALUES ($1, 'siem', 'audit', 3, $2, now(), 422, 'LEGACY-REASON', '{"error":"LEGACY-RESPONSE"}')`, [tenant, crypto.randomUUID()]);
      await tx.query(`INSERT INTO notify_outbox (tenant_id, connector, seq, id, incident_id, action, incident, detail, created_at, done_at, result, reason)
        VALUES ($1, $2, 1, $3, $4, 'open', $5::jsonb, NULL, now(), now(), 'skipped', 'LEGACY-SKIP')`, [tenant, CONNECTOR, opId, incident, JSON.stringify(legacyView)]);
      await tx.query(`INSERT INTO notify_links (tenant_id, connector, incident_id, provider, state, status, ref_id, ref_keys, ref_data, created_at, updated_at)
        VALUES ($1, $2, $3, 'jira', 'open', 'open', 'OPS-9', ARRAY['OPS-9'], '{"self":"LEGACY-REF"}'::jsonb, now(), now())`, [tenant, CONNECTOR, incident]);
    });
    const report = await migrate(db);
    assert.ok(report.applied.includes('0008_encryption'));
    const keyed = withKeyring(db, new Keyring(EncryptionKey.generate()));
    await loadLegacyPlaintext(keyed);
    assert.deepEqual([...(keyed.legacyPlaintext ?? [])], [tenant], 'migration 0009 listed the tenant that held plaintext');
    const check = async () => {
      const back = await readBack(keyed, tenant as string);
      assert.deepEqual(back.parked.map((p) => [p.reason, p.response]), [['LEGACY-REASON', '{"error":"LEGACY-RESPONSE"}']]);
      assert.deepEqual(back.ops[0]?.incident, legacyView);
      assert.deepEqual(back.links[0]?.ref_data, { self: 'LEGACY-REF' });
    };
    await check();
    const rotated = await rotateTenant(keyed, tenant as string);
    assert.deepEqual([rotated.sealed, rotated.resealed], [5, 0], 'parked reason and response, outbox incident and reason, link ref data');
    for (const { col, value } of await rawValues(keyed, tenant as string)) {
      assert.ok(!value.toString('latin1').includes('LEGACY'), `${col.table}.${col.column} sealed`);
      assert.equal(storedKeyId(value), keyed.keyring?.current.id);
    }
    await check();
    // Downgrade refused: once rotated, plaintext written over a sealed value is an error, never the forged value
    // (also after a restart, which reloads the list from the database).
    assert.deepEqual([...(keyed.legacyPlaintext ?? [])], [], 'the completed rotation ended plaintext for the tenant');
    await inTenant(keyed, tenant as string, (tx) => tx.query("UPDATE delivery_parked SET response = convert_to('FORGED-RESPONSE', 'UTF8') WHERE tenant_id = $1", [tenant]));
    const restarted = withKeyring({ ...keyed, legacyPlaintext: undefined }, keyed.keyring as Keyring);
    await loadLegacyPlaintext(restarted);
    for (const db2 of [keyed, restarted]) {
      await assert.rejects(inTenant(db2, tenant as string, (tx) => listParked(tx, 'siem', 10)), (err) => {
        assert.equal(code(err), 'PROBECTL_ERR_ENCRYPTION_DECRYPT');
        assert.match((err as Error).message, /delivery_parked\.response of tenant .* holds plaintext \(15 bytes\) where an encrypted value belongs/);
        assert.ok(!(err as Error).message.includes('FORGED'));
        return true;
      });
    }
    await assert.rejects(rotateTenant(keyed, tenant as string), (err) => code(err) === 'PROBECTL_ERR_ENCRYPTION_DECRYPT', 'a rotation never seals forged plaintext');
  });

  it('a new install (no plaintext at migration) and a tenant created later never accept plaintext: a forged value is an error', async (t) => {
    const test = await openTestDb();
    t.after(() => test.close());
    await loadLegacyPlaintext(test.db);
    const [tenant] = await inSystem(test.db, async (tx) => [(await insertTenant(tx, 'fresh')).id] as const);
    await inTenant(test.db, tenant, (tx) => parkItem(tx, 'siem', 'audit', { seq: 1, id: crypto.randomUUID(), status: 400, reason: 'sealed reason', response: 'sealed answer' }, new Date()));
    await inTenant(test.db, tenant, (tx) => tx.query("UPDATE delivery_parked SET reason = convert_to('FORGED', 'UTF8') WHERE tenant_id = $1", [tenant]));
    await assert.rejects(inTenant(test.db, tenant, (tx) => listParked(tx, 'siem', 10)), (err) => code(err) === 'PROBECTL_ERR_ENCRYPTION_DECRYPT' && !(err as Error).message.includes('FORGED'));
    await inTenant(test.db, tenant, async (tx) => {
      const id = crypto.randomUUID();
      await enqueue(tx, systemClock, [{ connector: CONNECTOR, action: 'open', incident: view(id, tenant, 'sealed title') }]);
    });
    await inTenant(test.db, tenant, (tx) => tx.query(`UPDATE notify_outbox SET incident = convert_to($2, 'UTF8') WHERE tenant_id = $1`, [tenant, JSON.stringify(view(crypto.randomUUID(), tenant, 'FORGED-TITLE'))]));
    await assert.rejects(inTenant(test.db, tenant, (tx) => outboxSource(CONNECTOR, tenant).read(tx, 0, 10)), (err) => code(err) === 'PROBECTL_ERR_ENCRYPTION_DECRYPT', 'the drainer never sends a forged incident');
  });

  it('the startup probe names a column whose values are under a key neither current nor previous, never a key', async (t) => {
    const oldKey = EncryptionKey.generate();
    const test = await openTestDb({ keyring: new Keyring(oldKey) });
    t.after(() => test.close());
    const [tenant] = await inSystem(test.db, async (tx) => [(await insertTenant(tx, 'probe')).id] as const);
    await inTenant(test.db, tenant, (tx) => parkItem(tx, 'siem', 'audit', { seq: 1, id: crypto.randomUUID(), status: 400, reason: 'r', response: 'a' }, new Date()));
    assert.deepEqual(await probeSealedKeys(test.db), []);
    const newKey = EncryptionKey.generate();
    assert.deepEqual(await probeSealedKeys(withKeyring(test.db, new Keyring(newKey, oldKey))), [], 'during a rotation the old key is known');
    const found = await probeSealedKeys(withKeyring(test.db, new Keyring(newKey)));
    assert.deepEqual(found.map((f) => [f.tenant, f.table, f.column, f.keyId]), [[tenant, 'delivery_parked', 'reason', oldKey.id], [tenant, 'delivery_parked', 'response', oldKey.id]]);
  });
});
