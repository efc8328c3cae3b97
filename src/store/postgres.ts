import { createHash } from 'node:crypto';
import pg from 'pg';
import { PgStreamEvents, STREAMS_CHANNEL } from './pg-stream-events.ts';
import { parseJson } from '../core/json.ts';
import { INT8_OID, JSON_OID, JSONB_OID, parseInt8, type Db, type OwnerTx, type QueryResult, type Row } from './db.ts';

export interface PostgresOptions {
  connectionString: string;
  /** A fixed password, or a function asked for each new connection (a rotated secret applies without a restart). */
  password?: string | (() => Promise<string>) | undefined;
  poolSize: number;
  /** Extra PEM CAs for verify-full; the system roots stay trusted. */
  ca?: string | undefined;
  applicationName?: string;
  /**
   * Deadline of one statement on the wire, ms (default QUERY_TIMEOUT_MS). A server that vanished without
   * closing its connections (a failover, a partition) otherwise leaves a statement waiting forever, and
   * with it the drainer or the request that sent it.
   */
  queryTimeoutMs?: number;
}

/** The default deadline of one statement: far above any statement probectl sends, finite. */
export const QUERY_TIMEOUT_MS = 120_000;
/** TCP keepalive on every connection, so a dead peer is also noticed by idle connections (LISTEN). */
const KEEPALIVE = { keepAlive: true, keepAliveInitialDelayMillis: 10_000 } as const;

const typeParsers = {
  getTypeParser(oid: number, format?: string) {
    if (oid === INT8_OID) return parseInt8;
    if (oid === JSON_OID || oid === JSONB_OID) return parseJson;
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

const statementNames = new Map<string, string>();

function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) {
    name = `p_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  return name;
}

export async function openPostgres(opts: PostgresOptions): Promise<Db> {
  const url = new URL(opts.connectionString);
  const sslmode = url.searchParams.get('sslmode');
  // TLS to a remote server is validated; `sslmode=disable` is only honoured by pg for loopback-by-operator-choice.
  const ssl = sslmode === null || sslmode === 'disable' ? undefined : { rejectUnauthorized: true, ...(opts.ca ? { ca: opts.ca } : {}) };
  url.searchParams.delete('sslmode');
  const pool = new pg.Pool({
    connectionString: url.toString(),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    max: opts.poolSize,
    ssl,
    types: typeParsers,
    application_name: opts.applicationName ?? 'probectl',
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    query_timeout: opts.queryTimeoutMs ?? QUERY_TIMEOUT_MS,
    ...KEEPALIVE,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const wrap = (client: pg.PoolClient): OwnerTx => ({
    async query<R = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      // Parameterized statements are prepared once per connection under a name derived from their text.
      const res = params
        ? await client.query<R & Row>({ name: statementName(sql), text: sql, values: [...params] })
        : await client.query<R & Row>(sql);
      return { rows: res.rows, rowCount: res.rowCount ?? res.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await client.query(sql);
    },
  });
  const clientOptions = () => ({
    connectionString: url.toString(),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    ssl,
    types: typeParsers,
    connectionTimeoutMillis: 10_000,
    query_timeout: opts.queryTimeoutMs ?? QUERY_TIMEOUT_MS,
    ...KEEPALIVE,
  });
  const streams = new PgStreamEvents({
    notify: async (payloads) => {
      await pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [STREAMS_CHANNEL, payloads]);
    },
    connect: async () => {
      const client = new pg.Client({ ...clientOptions(), application_name: `${opts.applicationName ?? 'probectl'}-listen` });
      client.on('error', () => {});
      await client.connect();
      return client;
    },
  });
  return {
    driver: 'postgres',
    streams,
    async transaction(fn, options) {
      const client = await pool.connect();
      let broken = false;
      // A checked-out client has no listener of the pool's: without this one, a connection lost mid-transaction
      // (a server restart, a failover, a reset) is an unhandled 'error' event that ends the process. The
      // transaction's pending statement fails on its own; the client is then discarded, not returned.
      const onLost = () => {
        broken = true;
      };
      client.on('error', onLost);
      try {
        await client.query(options?.begin ? `BEGIN; ${options.begin}` : 'BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // After a statement's deadline the connection is in an unknown state (the statement may still be
        // on the wire): it is discarded, which makes the server roll the transaction back, instead of
        // queueing a ROLLBACK behind the statement that never answers.
        if (!broken && !(err instanceof Error && err.message === 'Query read timeout')) {
          try {
            await client.query('ROLLBACK');
          } catch {
            broken = true;
          }
        } else broken = true;
        throw err;
      } finally {
        client.removeListener('error', onLost);
        client.release(broken);
      }
    },
    async lockSession() {
      const client = new pg.Client({ ...clientOptions(), application_name: `${opts.applicationName ?? 'probectl'}-locks` });
      let alive = true;
      client.on('error', () => {
        alive = false;
      });
      client.on('end', () => {
        alive = false;
      });
      await client.connect();
      // One statement at a time on the session's connection: several jobs share it, and a
      // pg client given a query while one runs only queues it (deprecated in pg 9).
      let turn: Promise<unknown> = Promise.resolve();
      const inTurn = <T>(fn: () => Promise<T>): Promise<T> => {
        const mine = turn.then(fn, fn);
        turn = mine.catch(() => undefined);
        return mine;
      };
      return {
        get alive() {
          return alive;
        },
        async tryLock(key) {
          const res = await inTurn(() => client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key.toString()]));
          return res.rows[0]?.ok === true;
        },
        async unlock(key) {
          if (alive) await inTurn(() => client.query('SELECT pg_advisory_unlock($1::bigint)', [key.toString()]));
        },
        async close() {
          if (!alive) return;
          alive = false;
          await client.end().catch(() => undefined);
        },
      };
    },
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await streams.close();
      await pool.end();
    },
  };
}
