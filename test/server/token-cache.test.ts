/**
 * The authenticator's cache of verified tokens (src/server/auth.ts): a known token costs no
 * database transaction while fresh; a revocation empties it at once (the `tokens` stream
 * announcement; across processes on PostgreSQL: test/pg/token-revocation.pg.ts); a revocation nobody announced is honoured within
 * VERIFIED_TOKEN_TTL_MS; a lookup that raced a revocation does not refill it; unknown and
 * revoked tokens are never cached.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { appendAudit } from '../../src/audit/log.ts';
import { revokeTokenOf } from '../../src/identity/admin.ts';
import { createToken, revokeToken, TOKENS_STREAM } from '../../src/identity/tokens.ts';
import { Authenticator, VERIFIED_TOKEN_TTL_MS } from '../../src/server/auth.ts';
import type { Db } from '../../src/store/db.ts';
import { inSystem, inTenant } from '../../src/store/scope.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';
import { makeTenants, manualClock } from '../helpers/tenants.ts';

/** `db` with its transactions counted, and held at `gate` while one is set. */
function counted(db: Db): { db: Db; transactions: () => number; hold(): () => void } {
  let n = 0;
  let gate: Promise<void> | undefined;
  return {
    db: {
      ...db,
      streams: db.streams,
      async transaction(fn, options) {
        n++;
        if (gate) await gate;
        return db.transaction(fn, options);
      },
    },
    transactions: () => n,
    hold() {
      let release!: () => void;
      gate = new Promise((resolve) => { release = resolve; });
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

/** Authenticators of the running test, closed after it (afterEach). */
const opened: Authenticator[] = [];

function authenticator(db: Db, clock: { now(): number }, providerTenantId: string): Authenticator {
  const auth = new Authenticator({ db, clock, providerTenantId, failureAuditPerMinute: 1000, successAuditIntervalMs: 3_600_000 });
  opened.push(auth);
  return auth;
}

describe(`verified-token cache (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  let tenant: string;
  let provider: string;
  before(async () => {
    t = await openTestDb();
    [provider, tenant] = await makeTenants(t.db, 'provider', 'acme') as [string, string];
  });
  after(() => t?.close());
  afterEach(() => {
    for (const auth of opened.splice(0)) auth.close();
  });

  const issue = (permissions = ['incidents-read'] as const) => inTenant(t.db, tenant, (tx) => createToken(tx, { name: 'cache', permissions, createdBy: 'test' }));
  /** A fresh token of `tenant`, authenticated once by a new authenticator on a clock of its own (so it is cached). */
  const usedOnce = async () => {
    const clock = manualClock();
    const auth = authenticator(t.db, clock, provider);
    const { id, token } = await issue();
    const use = () => auth.authenticate(`Bearer ${token}`, 'src');
    await use();
    return { clock, id, use };
  };
  /** Revoked in the database only: no announcement (as a missed NOTIFY leaves it). */
  const revokeSilently = (id: string) => inSystem(t.db, (tx) => tx.asTenant(tenant, (s) => s.query('UPDATE tokens SET revoked_at = now() WHERE id = $1', [id])));

  it('a known token is looked up once while fresh, again after VERIFIED_TOKEN_TTL_MS; an unknown one every time', async () => {
    const clock = manualClock();
    const c = counted(t.db);
    const auth = authenticator(c.db, clock, provider);
    const { token } = await issue();
    const base = c.transactions();
    const first = await auth.authenticate(`Bearer ${token}`, 'src');
    const lookups = c.transactions() - base;
    assert.ok(lookups >= 1, 'the first request reads the database');
    for (let i = 0; i < 5; i++) assert.equal((await auth.authenticate(`Bearer ${token}`, 'src')).tokenId, first.tokenId);
    assert.equal(c.transactions() - base, lookups, 'no transaction while the entry is fresh');
    clock.advance(VERIFIED_TOKEN_TTL_MS + 1);
    await auth.authenticate(`Bearer ${token}`, 'src');
    assert.ok(c.transactions() - base > lookups, 'read again once stale');
  });

  it('an unknown well-formed token is looked up on every try (never cached), its failures audited under the per-source limit', async () => {
    const c = counted(t.db);
    // One failure audited per minute: every transaction after the first is a lookup.
    const auth = new Authenticator({ db: c.db, clock: manualClock(), providerTenantId: provider, failureAuditPerMinute: 1, successAuditIntervalMs: 3_600_000 });
    try {
      const unknown = `pcl_${'A'.repeat(43)}`;
      const before = c.transactions();
      for (let i = 0; i < 3; i++) await assert.rejects(auth.authenticate(`Bearer ${unknown}`, 'src'), { code: 'PROBECTL_ERR_UNAUTHENTICATED' });
      assert.equal(c.transactions() - before, 3 + 1, 'three lookups and one audited failure');
    } finally {
      auth.close();
    }
  });

  it('revoked through revokeToken: refused on the next request (the announcement empties the cache)', async () => {
    const { clock, id, use } = await usedOnce();
    const r = await inTenant(t.db, tenant, (tx) => revokeToken(tx, id, new Date(clock.now())));
    assert.deepEqual(r, { found: true, changed: true });
    await assert.rejects(use(), { code: 'PROBECTL_ERR_UNAUTHENTICATED' });
    await assert.rejects(use(), { code: 'PROBECTL_ERR_UNAUTHENTICATED' }, 'a revoked token is not cached as valid');
  });

  it('a revocation is announced once: revoking a revoked token again announces nothing (no caller can empty every replica\'s cache in a loop)', async () => {
    const heard: string[] = [];
    const off = t.db.streams.subscribe((tn, stream) => { if (stream === TOKENS_STREAM) heard.push(tn); });
    try {
      const { id } = await issue();
      const first = await inTenant(t.db, tenant, (tx) => revokeToken(tx, id, new Date()));
      const again = await inTenant(t.db, tenant, (tx) => revokeToken(tx, id, new Date(Date.now() + 1000)));
      assert.deepEqual([first.changed, again.changed], [true, false]);
      assert.deepEqual(heard, [tenant], 'one announcement, for the revocation that changed the token');
    } finally {
      off();
    }
  });

  it('revoked by the provider through revokeTokenOf (the REST DELETE of another tenant\'s token): refused on the next request', async () => {
    const { clock, id, use } = await usedOnce();
    const r = await revokeTokenOf({ db: t.db, clock, audit: appendAudit }, { tenantId: provider, name: 'token:provider' }, tenant, id);
    assert.deepEqual(r, { changed: true });
    await assert.rejects(use(), { code: 'PROBECTL_ERR_UNAUTHENTICATED' });
  });

  it('revoked without an announcement: still taken until VERIFIED_TOKEN_TTL_MS has passed, then refused', async () => {
    const { clock, id, use } = await usedOnce();
    await revokeSilently(id);
    clock.advance(VERIFIED_TOKEN_TTL_MS - 1);
    await use();
    clock.advance(2);
    await assert.rejects(use(), { code: 'PROBECTL_ERR_UNAUTHENTICATED' });
  });

  it('the clock stepping back does not stretch a cached verdict past VERIFIED_TOKEN_TTL_MS of lookups', async () => {
    const { clock, id, use } = await usedOnce();
    // The wall clock is stepped back an hour (NTP, a VM restored), and the token is revoked unannounced.
    clock.advance(-3_600_000);
    await revokeSilently(id);
    await assert.rejects(use(), { code: 'PROBECTL_ERR_UNAUTHENTICATED' }, 'an entry from the clock\'s future is not trusted');
  });

  it('a lookup that began before a revocation was announced does not refill the cache', async () => {
    const clock = manualClock();
    const c = counted(t.db);
    const auth = authenticator(c.db, clock, provider);
    const { id, token } = await issue();
    const release = c.hold();
    const pending = auth.authenticate(`Bearer ${token}`, 'src');
    await new Promise((r) => setTimeout(r, 20));
    // The revocation commits and is announced while the lookup waits; the lookup then reads the
    // token from before (as a read that started before the commit would).
    t.db.streams.notify(tenant, TOKENS_STREAM);
    release();
    await pending;
    await revokeSilently(id);
    await assert.rejects(auth.authenticate(`Bearer ${token}`, 'src'), { code: 'PROBECTL_ERR_UNAUTHENTICATED' }, 'the raced answer was not kept');
  });
});
