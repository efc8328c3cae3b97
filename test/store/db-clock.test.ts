/**
 * DatabaseClock (store/db-clock.ts): a replica's clock anchored to the database's, so replicas
 * whose own clocks disagree judge the metrics store's time windows alike.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEmbeddedSeriesStore } from '../../src/federation/store/embedded.ts';
import { DatabaseClock, DB_CLOCK_MAX_ROUND_TRIP_MS } from '../../src/store/db-clock.ts';
import type { Db } from '../../src/store/db.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';
import { makeTenants } from '../helpers/tenants.ts';
import { samples } from '../federation/store/helpers.ts';

const skewed = (ms: number) => ({ now: () => Date.now() + ms });

describe(`DatabaseClock (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  let tenant: string;

  before(async () => {
    t = await openTestDb();
    [tenant] = (await makeTenants(t.db, 'db-clock')) as [string];
  });
  after(async () => {
    await t.close();
  });

  /** B stores a sample `ageMs` old and compacts; a different value re-sent through A must be refused as a conflict. */
  async function resendAfterCompaction(A: DatabaseClock, B: DatabaseClock, name: string, ageMs: number) {
    const replicaA = createEmbeddedSeriesStore(t.db, { now: () => A.now(), maxTenantSeries: 1000 });
    const replicaB = createEmbeddedSeriesStore(t.db, { now: () => B.now(), maxTenantSeries: 1000 });
    const l = { __name__: name };
    const ts = Math.floor(Date.now() / 1000) * 1000 - ageMs;
    assert.equal((await replicaB.append(tenant, [samples(l, [[ts, 1]])])).stored, 1);
    await replicaB.compact(tenant, B.now());
    const resent = await replicaA.append(tenant, [samples(l, [[ts, 2]])]);
    assert.deepEqual([resent.stored, resent.refused.conflicts], [0, 1]);
    return { replicaA, replicaB, ts };
  }

  it('measures the offset of a replica 90 s behind and answers the database\'s time', async () => {
    const clock = new DatabaseClock(t.db, skewed(-90_000));
    assert.equal(clock.offset, 0);
    const offset = await clock.sync();
    assert.ok(Math.abs(offset - 90_000) < 1_000, `offset ${offset}`);
    assert.ok(Math.abs(clock.now() - Date.now()) < 1_000, `now is ${clock.now() - Date.now()} ms off`);
  });

  it('a later failed measurement keeps the last offset; a too slow one is refused', async () => {
    let fail = false;
    let slow = false;
    const db = new Proxy(t.db, {
      get: (target, p, r) => {
        if (p !== 'transaction') return Reflect.get(target, p, r);
        if (fail) return () => Promise.reject(new Error('connection refused'));
        return (fn: (tx: unknown) => Promise<unknown>) => target.transaction((tx) => fn({
          query: async (sql: string) => {
            const res = await tx.query(sql);
            if (slow) await new Promise((r) => setTimeout(r, DB_CLOCK_MAX_ROUND_TRIP_MS + 100));
            return res;
          },
        }));
      },
    }) as Db;
    const seen: unknown[] = [];
    const clock = new DatabaseClock(db, skewed(45_000), (result) => seen.push(result));
    await clock.start(3_600_000);
    try {
      assert.ok(Math.abs(clock.offset + 45_000) < 1_000, `offset ${clock.offset}`);
      assert.ok('offsetMs' in (seen[0] as object));
      fail = true;
      await assert.rejects(clock.sync(), /connection refused/);
      assert.ok(Math.abs(clock.offset + 45_000) < 1_000, 'the last offset stays');
      fail = false;
      slow = true;
      await assert.rejects(clock.sync(), /took \d+ ms to answer its time/);
      assert.ok(Math.abs(clock.offset + 45_000) < 1_000, 'the last offset stays');
    } finally {
      clock.stop();
    }
  });

  it('start() does not return on the replica\'s own clock: it retries the first measurement, then rejects', async () => {
    let failures = 5;
    const db = new Proxy(t.db, {
      get: (target, p, r) => (p === 'transaction' && failures > 0 ? () => (failures--, Promise.reject(new Error('canceling statement due to statement timeout'))) : Reflect.get(target, p, r)),
    }) as Db;
    const seen: unknown[] = [];
    const clock = new DatabaseClock(db, skewed(-90_000), (result) => seen.push(result));
    await assert.rejects(clock.start(3_600_000), /statement timeout/);
    assert.equal(seen.length, 3, 'three attempts, each reported');
    assert.equal(failures, 2);
    // Two failures left: the next start succeeds at its third attempt, on the database's time.
    await clock.start(3_600_000);
    clock.stop();
    assert.ok(Math.abs(clock.offset - 90_000) < 1_000, `offset ${clock.offset}`);
  });

  it('a database answering no time (NULL, an empty text) is a failed measurement, not an offset of minus the epoch', async () => {
    for (const answer of [null, '', undefined]) {
      const db = new Proxy(t.db, {
        get: (target, p, r) => (p === 'transaction'
          ? (fn: (tx: unknown) => Promise<unknown>) => fn({ query: async () => ({ rows: answer === undefined ? [] : [{ t: answer }] }) })
          : Reflect.get(target, p, r)),
      }) as Db;
      const clock = new DatabaseClock(db, skewed(0));
      await assert.rejects(clock.sync(), /no time/, `answer ${JSON.stringify(answer)}`);
      assert.equal(clock.offset, 0, `answer ${JSON.stringify(answer)}: the offset stays`);
      assert.ok(Math.abs(clock.now() - Date.now()) < 1_000);
    }
  });

  it('replicas 90 s apart: a conflicting re-send through the one behind is refused after the one ahead compacts', async () => {
    // Replica A's clock is 90 s behind, B's 90 s ahead. B compacts (horizon 2 min); A receives a
    // different value for a sample 70 s old. On their own clocks B moves the sample into a chunk
    // (older than its now − 2 min) while A judges it too new to compare with chunks (newer than
    // its now − 1 min): A would answer the conflicting value stored, and compaction would keep
    // the old one. On the database's clock both see the same now.
    const A = new DatabaseClock(t.db, skewed(-90_000));
    const B = new DatabaseClock(t.db, skewed(90_000));
    await A.sync();
    await B.sync();
    const { replicaA, replicaB, ts } = await resendAfterCompaction(A, B, 'skewed_replicas', 70_000);
    await replicaB.compact(tenant, B.now() + 3_600_000);
    const got = await replicaA.select(tenant, [{ name: '__name__', op: '=', value: 'skewed_replicas' }], ts - 1, ts + 1);
    assert.deepEqual([...(got[0]?.values ?? [])], [1]);
  });
});
