import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { openPostgres } from '../../src/store/postgres.ts';
import { openTestDb } from '../helpers/db.ts';

/**
 * A TCP relay to the PostgreSQL server whose connections can all be reset at once (a server restart), or
 * silenced: every byte dropped from then on, nothing closed (a failover or a partition, the peer gone silently).
 */
async function resettableRelay(target: URL): Promise<{ url: string; resetAll(): void; silence(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let silent = false;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    // While silent, bytes are swallowed both ways: the peer is gone without a word (no FIN, no RST).
    client.on('data', (d: Buffer) => void (silent || upstream.write(d)));
    upstream.on('data', (d: Buffer) => void (silent || client.write(d)));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as { port: number }).port);
  return {
    url: url.toString(),
    silence: () => {
      silent = true;
    },
    resetAll: () => {
      for (const s of sockets) s.resetAndDestroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('a PostgreSQL connection lost mid-transaction (PostgreSQL)', () => {
  it('fails that transaction only: no unhandled error event takes the process down, and the next transaction works', async (t) => {
    const test = await openTestDb({ migrate: false });
    t.after(() => test.close());
    assert.equal(test.driver, 'postgres', 'this suite needs PROBECTL_TEST_DATABASE_URL');
    const relay = await resettableRelay(new URL(test.url as string));
    t.after(() => relay.close());
    const db = await openPostgres({ connectionString: relay.url, poolSize: 2 });
    t.after(() => db.close());
    const crashes: unknown[] = [];
    const onCrash = (err: unknown) => void crashes.push(err);
    process.on('uncaughtException', onCrash);
    t.after(() => process.off('uncaughtException', onCrash));

    // A transaction holding its connection while the server goes away (the reset arrives between two statements).
    const inFlight = db.transaction(async (tx) => {
      await tx.query('SELECT 1');
      await new Promise((r) => setTimeout(r, 300));
      return tx.query('SELECT 2 AS two');
    });
    await new Promise((r) => setTimeout(r, 100));
    relay.resetAll();
    await assert.rejects(inFlight, 'the transaction that lost its connection fails');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(crashes.map(String), [], 'no uncaught error from the lost connection');
    const res = await db.transaction((tx) => tx.query<{ ok: number }>('SELECT 1 AS ok'));
    assert.equal(res.rows[0]?.ok, 1, 'a new connection serves the next transaction');
  });

  it('a server that falls silent fails the statement at its deadline instead of leaving it waiting forever', async (t) => {
    const test = await openTestDb({ migrate: false });
    t.after(() => test.close());
    assert.equal(test.driver, 'postgres', 'this suite needs PROBECTL_TEST_DATABASE_URL');
    const relay = await resettableRelay(new URL(test.url as string));
    t.after(() => relay.close());
    const db = await openPostgres({ connectionString: relay.url, poolSize: 2, queryTimeoutMs: 1000 });
    t.after(() => db.close());
    await db.transaction((tx) => tx.query('SELECT 1'));
    relay.silence();
    const started = Date.now();
    const outcome = await Promise.race([
      db.transaction((tx) => tx.query('SELECT 1')).then(() => 'answered', () => 'failed'),
      new Promise((r) => setTimeout(() => r('still waiting after 10 s'), 10_000)),
    ]);
    assert.equal(outcome, 'failed', 'the transaction fails at the statement deadline');
    assert.ok(Date.now() - started < 5000, `failed after ${Date.now() - started} ms (deadline 1000 ms, no ROLLBACK queued behind it)`);
  });
});
