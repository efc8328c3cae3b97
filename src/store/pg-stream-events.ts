import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { LocalStreamEvents, type StreamEvents } from '../core/streams.ts';

/** The PostgreSQL channel stream announcements travel on. */
export const STREAMS_CHANNEL = 'probectl_streams';
const FLUSH_MS = 20;
const RECONNECT_MS = 2000;

export interface PgStreamEventsOptions {
  /** Sends NOTIFY statements (a pool query, outside any transaction). */
  notify(payloads: string[]): Promise<void>;
  /** A dedicated connection for LISTEN (not from the pool: it stays open). */
  connect(): Promise<pg.Client>;
}

/**
 * Stream announcements across replicas sharing one PostgreSQL: each one is
 * delivered in this process at once, and sent to the others with NOTIFY on
 * `probectl_streams` (coalesced per tenant stream over 20 ms, one statement);
 * a dedicated connection LISTENs while anyone here subscribes, reconnecting
 * after a loss, and relays the other replicas' announcements (its own are
 * recognised by the replica nonce and ignored). Best effort by design: a lost
 * announcement only means a drainer finds the work at its next poll.
 */
export class PgStreamEvents implements StreamEvents {
  private readonly local = new LocalStreamEvents();
  private readonly nonce = randomUUID();
  private readonly opts: PgStreamEventsOptions;
  private readonly pending = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private listener: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(opts: PgStreamEventsOptions) {
    this.opts = opts;
  }

  notify(tenantId: string, stream: string): void {
    this.local.notify(tenantId, stream);
    if (this.closed) return;
    this.pending.add(`${tenantId}|${stream}`);
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  subscribe(fn: (tenantId: string, stream: string) => void): () => void {
    const off = this.local.subscribe(fn);
    this.listen();
    return () => {
      off();
      if (this.local.subscribers === 0) this.unlisten();
    };
  }

  /** NOTIFY statements sent and not yet answered: close() waits for them (a process exiting right after a revocation). */
  private readonly sending = new Set<Promise<void>>();

  private flush(): void {
    this.flushTimer = undefined;
    const payloads = [...this.pending].map((key) => `${this.nonce}|${key}`);
    this.pending.clear();
    if (payloads.length === 0) return;
    const sent: Promise<void> = this.opts.notify(payloads).catch(() => undefined).finally(() => this.sending.delete(sent));
    this.sending.add(sent);
  }

  private listen(): void {
    if (this.closed || this.listener || this.connecting) return;
    this.connecting = (async () => {
      try {
        const client = await this.opts.connect();
        client.on('notification', (msg) => this.relay(msg.payload));
        client.on('error', () => this.lost(client));
        client.on('end', () => this.lost(client));
        await client.query(`LISTEN ${STREAMS_CHANNEL}`);
        if (this.closed || this.local.subscribers === 0) {
          await client.end().catch(() => undefined);
          return;
        }
        this.listener = client;
      } catch {
        this.scheduleReconnect();
      } finally {
        this.connecting = undefined;
      }
    })();
  }

  private relay(payload: string | undefined): void {
    const [nonce, tenant, stream] = (payload ?? '').split('|');
    if (!nonce || !tenant || !stream || nonce === this.nonce) return;
    this.local.notify(tenant, stream);
  }

  private lost(client: pg.Client): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer || this.local.subscribers === 0) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.listen();
    }, RECONNECT_MS);
    this.reconnectTimer.unref();
  }

  private unlisten(): void {
    const client = this.listener;
    this.listener = undefined;
    if (client) void client.end().catch(() => undefined);
  }

  /** Flushes pending announcements, waits until they are sent (the pool is ended next), and stops listening. */
  async close(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flush();
    }
    this.closed = true;
    await Promise.all(this.sending);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.connecting;
    const client = this.listener;
    this.listener = undefined;
    await client?.end().catch(() => undefined);
  }
}
