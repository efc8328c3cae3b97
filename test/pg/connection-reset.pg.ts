import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { openPostgres } from '../../src/store/postgres.ts';
import { openTestDb } from '../helpers/db.ts';

/** A TCP relay to the PostgreSQL server whose connections can all be reset at once (a server restart, a failover). */
async function resettableRelay(target: URL): Promise<{ url: string; resetAll(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
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
});
