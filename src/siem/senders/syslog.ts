import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { formatHostPort } from '../../core/net.ts';
import type { Sender, SenderTls, TransportResult, WireRequest } from './types.ts';

export interface SyslogSenderOptions {
  host: string;
  port: number;
  tls: boolean;
  ca?: string[] | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  /** How long an idle connection must stay healthy after a write before the write counts as delivered. */
  settleMs?: number;
}

/**
 * RFC 5425 transport: one long-lived TLS connection carrying octet-counted
 * frames (the target frames them with `frame`). Syslog has no acknowledgement; a
 * write counts as delivered once the bytes were handed to the kernel and the
 * connection was still healthy a moment later. A connection that fails
 * reports the batch as failed, so it is re-sent (same ids) — at least once.
 */
export class SyslogSender implements Sender {
  private opts: SyslogSenderOptions;
  private socket: Socket | TLSSocket | undefined;
  /** Why each connection broke, per connection: one stream's reconnect never clears another's broken write. */
  private readonly broken = new WeakMap<Socket | TLSSocket, string>();
  /** The connection being opened: concurrent streams share it rather than each opening (and leaking) one. */
  private connecting: Promise<Socket | TLSSocket> | undefined;

  constructor(opts: SyslogSenderOptions) {
    this.opts = opts;
  }

  private where(): string {
    return `${this.opts.tls ? 'syslog+tls' : 'syslog+tcp'}://${formatHostPort({ host: this.opts.host, port: this.opts.port })}`;
  }

  private connection(timeoutMs: number): Promise<Socket | TLSSocket> {
    const current = this.socket;
    if (current && !current.destroyed && !this.broken.has(current)) return Promise.resolve(current);
    if (this.connecting) return this.connecting;
    current?.destroy();
    this.socket = undefined;
    const opening = this.open(timeoutMs).finally(() => {
      if (this.connecting === opening) this.connecting = undefined;
    });
    this.connecting = opening;
    return opening;
  }

  private async open(timeoutMs: number): Promise<Socket | TLSSocket> {
    const socket = await new Promise<Socket | TLSSocket>((resolve, reject) => {
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error('connect timed out'));
      }, timeoutMs);
      const done = (err?: Error) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(s);
      };
      const s: Socket | TLSSocket = this.opts.tls
        ? tlsConnect({
            host: this.opts.host, port: this.opts.port, servername: /^[\d.:]+$/.test(this.opts.host) ? undefined : this.opts.host,
            rejectUnauthorized: true, minVersion: 'TLSv1.2',
            ...(this.opts.ca ? { ca: this.opts.ca } : {}), ...(this.opts.cert ? { cert: this.opts.cert, key: this.opts.key } : {}),
          }, () => done())
        : tcpConnect({ host: this.opts.host, port: this.opts.port }, () => done());
      s.once('error', (err) => done(err));
    });
    socket.setKeepAlive(true, 30_000);
    socket.on('error', (err) => {
      if (!this.broken.has(socket)) this.broken.set(socket, (err as NodeJS.ErrnoException).code ?? 'connection error');
    });
    socket.on('close', () => {
      if (!this.broken.has(socket)) this.broken.set(socket, 'connection closed by the receiver');
    });
    // A receiver never talks back on RFC 5425; anything it sends is ignored.
    socket.on('data', () => {});
    this.socket = socket;
    return socket;
  }

  async send(request: WireRequest, opts: { timeoutMs: number; signal?: AbortSignal | undefined }): Promise<TransportResult> {
    let socket: Socket | TLSSocket | undefined;
    try {
      socket = await this.connection(opts.timeoutMs);
      const s = socket;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('write timed out')), opts.timeoutMs);
        s.write(request.body, (err) => {
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        });
      });
      await new Promise((r) => setTimeout(r, this.opts.settleMs ?? 0));
      // The connection these bytes went to must still be healthy — whatever other streams did meanwhile.
      const broke = this.broken.get(s) ?? (s.destroyed ? 'connection closed' : undefined);
      if (broke !== undefined) throw new Error(broke);
      return { kind: 'sent' };
    } catch (err) {
      socket?.destroy();
      if (this.socket === socket) this.socket = undefined;
      const code = (err as NodeJS.ErrnoException).code;
      return { kind: 'failed', reason: `${this.where()}: ${code ?? (err as Error).message}` };
    }
  }

  /** Takes effect at the next connection; the current one keeps its identity until it closes. */
  setTls(tls: SenderTls): void {
    this.opts = { ...this.opts, ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}) };
  }

  async close(): Promise<void> {
    const opening = this.connecting;
    this.connecting = undefined;
    const s = this.socket ?? (opening ? await opening.catch(() => undefined) : undefined);
    this.socket = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.end(() => resolve());
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 2000).unref();
    });
  }
}

/** Octet-counting framing (RFC 5425): `MSG-LEN SP SYSLOG-MSG` per message, MSG-LEN in octets. */
export function frame(messages: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of messages) {
    const msg = Buffer.from(m, 'utf8');
    parts.push(Buffer.from(`${msg.length} `, 'ascii'), msg);
  }
  return Buffer.concat(parts);
}
