import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appendAudit } from '../../src/audit/log.ts';
import { systemClock } from '../../src/core/clock.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { inTenant } from '../../src/store/scope.ts';
import { openTestDb } from '../helpers/db.ts';
import { makeTenants } from '../helpers/tenants.ts';

function collector() {
  const seen: string[] = [];
  return {
    seen,
    fn: (tenant: string, stream: string) => void seen.push(`${tenant}|${stream}`),
    async until(n: number, timeoutMs: number): Promise<void> {
      const end = Date.now() + timeoutMs;
      while (seen.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    },
  };
}

describe('stream announcements reach other replicas through LISTEN/NOTIFY (PostgreSQL)', () => {
  it('an append committed by one replica wakes the other within moments; each replica hears its own once', async (t) => {
    const test = await openTestDb();
    t.after(() => test.close());
    assert.equal(test.driver, 'postgres', 'this suite needs PROBECTL_TEST_DATABASE_URL');
    const other = await openPostgres({ connectionString: test.url as string, poolSize: 2 });
    t.after(() => other.close());
    const [tenant] = await makeTenants(test.db, 'notify-a');
    const here = collector();
    const there = collector();
    const offHere = test.db.streams.subscribe(here.fn);
    const offThere = other.streams.subscribe(there.fn);
    t.after(() => {
      offHere();
      offThere();
    });
    // The LISTEN connection opens on the first subscription; give it a moment.
    await new Promise((r) => setTimeout(r, 500));
    const started = Date.now();
    await inTenant(test.db, tenant!, (tx) => appendAudit(tx, systemClock, { actor: 'token:t', action: 'config.change', target: 'x', outcome: 'success' }));
    await there.until(1, 5000);
    assert.deepEqual(there.seen, [`${tenant}|audit`]);
    assert.ok(Date.now() - started < 2000, `the other replica heard it after ${Date.now() - started} ms`);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(here.seen, [`${tenant}|audit`], 'its own announcement once, not echoed back');
    // A rolled-back transaction announces nothing.
    await inTenant(test.db, tenant!, async (tx) => {
      await appendAudit(tx, systemClock, { actor: 'token:t', action: 'config.change', target: 'y', outcome: 'success' });
      throw new Error('roll back');
    }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(there.seen.length, 1);
    assert.equal(here.seen.length, 1);
  });
});
