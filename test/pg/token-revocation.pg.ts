/**
 * A token revoked by one replica is refused by another at once (PostgreSQL): the revocation's
 * `tokens` announcement crosses processes through LISTEN/NOTIFY and empties the other
 * replica's cache of verified tokens (src/server/auth.ts), well before VERIFIED_TOKEN_TTL_MS.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createToken, revokeToken } from '../../src/identity/tokens.ts';
import { Authenticator, VERIFIED_TOKEN_TTL_MS } from '../../src/server/auth.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { inTenant } from '../../src/store/scope.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';
import { makeTenants, manualClock } from '../helpers/tenants.ts';

/** A test database, an authenticator on it whose clock never moves (only an announcement can end a cached verdict), and a token it has cached. */
async function cachedToken(t: TestContext): Promise<{ test: TestDb; auth: Authenticator; tenant: string; id: string; token: string }> {
  const test = await openTestDb();
  t.after(() => test.close());
  assert.equal(test.driver, 'postgres', 'this suite needs PROBECTL_TEST_DATABASE_URL');
  const [provider, tenant] = await makeTenants(test.db, 'provider', 'acme') as [string, string];
  const auth = new Authenticator({ db: test.db, clock: manualClock(), providerTenantId: provider, failureAuditPerMinute: 1000, successAuditIntervalMs: 3_600_000 });
  t.after(() => auth.close());
  const { id, token } = await inTenant(test.db, tenant, (tx) => createToken(tx, { name: 'r', permissions: ['incidents-read'], createdBy: 'test' }));
  assert.equal((await auth.authenticate(`Bearer ${token}`, 'src')).tokenId, id);
  await new Promise((r) => setTimeout(r, 500)); // the LISTEN connection opens on the first subscription
  return { test, auth, tenant, id, token };
}

describe('token revocation across replicas (PostgreSQL)', () => {
  it('revoked through another connection pool (another replica): refused here within moments, the clock standing still', async (t) => {
    const { test, auth, tenant, id, token } = await cachedToken(t);
    const other = await openPostgres({ connectionString: test.url as string, poolSize: 2 });
    t.after(() => other.close());
    await inTenant(other, tenant, (tx) => revokeToken(tx, id, new Date()));
    const started = Date.now();
    for (;;) {
      const refused = await auth.authenticate(`Bearer ${token}`, 'src').then(() => false, (err: { code?: string }) => err.code === 'PROBECTL_ERR_UNAUTHENTICATED');
      if (refused) {
        t.diagnostic(`refused ${Date.now() - started} ms after the other replica revoked`);
        break;
      }
      assert.ok(Date.now() - started < 5_000, `the other replica's revocation did not arrive within 5 s (the cache alone would keep it ${VERIFIED_TOKEN_TTL_MS} ms)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('revoked by a process that closes its database at once (`probectl token revoke` on PostgreSQL): its announcement still goes out before it exits', async (t) => {
    const { test, auth, tenant, id, token } = await cachedToken(t);
    // The CLI's process: a fresh pool, one revocation, closed right after (as withApi closes the in-process app).
    const cli = await openPostgres({ connectionString: test.url as string, poolSize: 2 });
    try {
      await inTenant(cli, tenant, (tx) => revokeToken(tx, id, new Date()));
    } finally {
      await cli.close();
    }
    const started = Date.now();
    for (;;) {
      const refused = await auth.authenticate(`Bearer ${token}`, 'src').then(() => false, (err: { code?: string }) => err.code === 'PROBECTL_ERR_UNAUTHENTICATED');
      if (refused) break;
      assert.ok(Date.now() - started < 3_000, 'the closing process\'s revocation was never announced (only the cache TTL would end it)');
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});
