import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { listParked, parkItem } from '../../src/delivery/ledger.ts';
import { inTenant } from '../../src/store/scope.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';
import { makeTenants } from '../helpers/tenants.ts';

describe(`delivery ledger: parking what a receiver answered (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await openTestDb();
  });
  afterEach(() => t.close());

  it('a reason or answer holding a NUL or a lone surrogate is stored (as U+FFFD), never a failed commit that would stall the stream', async () => {
    const [tenant] = await makeTenants(t.db, 'hostile-answer');
    const id = randomUUID();
    await inTenant(t.db, tenant!, (tx) => parkItem(tx, 'siem', 'audit', { seq: 1, id, status: 400, reason: 'refused: a\u0000b \ud800', response: '{"text":"x\u0000y \udc00"}' }, new Date()));
    const [row] = await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 10));
    assert.equal(row?.reason, 'refused: a\ufffdb \ufffd');
    assert.equal(row?.response, '{"text":"x\ufffdy \ufffd"}');
  });

  it('cutting a long reason never leaves half a surrogate pair', async () => {
    const [tenant] = await makeTenants(t.db, 'long-answer');
    await inTenant(t.db, tenant!, (tx) => parkItem(tx, 'siem', 'audit', { seq: 1, id: randomUUID(), status: 400, reason: `${'a'.repeat(999)}😀`, response: '' }, new Date()));
    const [row] = await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 10));
    assert.ok(row?.reason.isWellFormed());
    assert.equal(row?.reason, 'a'.repeat(999));
  });
});
