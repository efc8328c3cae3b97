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
  private broken: string | undefined;

  constructor(opts: SyslogSenderOptions) {
    this.opts = opts;
  }

  private where(): string {
    return `${this.opts.tls ? 'syslog+tls' : 'syslog+tcp'}://${formatHostPort({ host: this.opts.host, port: this.opts.port })}`;
  }

  private async connection(timeoutMs: number): Promise<Socket | TLSSocket> {
    if (this.socket && !this.socket.destroyed && this.broken === undefined) return this.socket;
    this.socket?.destroy();
    this.broken = undefined;
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
      this.broken = (err as NodeJS.ErrnoException).code ?? 'connection error';
    });
    socket.on('close', () => {
      this.broken ??= 'connection closed by the receiver';
    });
    // A receiver never talks back on RFC 5425; anything it sends is ignored.
    socket.on('data', () => {});
    this.socket = socket;
    return socket;
  }

  async send(request: WireRequest, opts: { timeoutMs: number; signal?: AbortSignal | undefined }): Promise<TransportResult> {
    try {
      const socket = await this.connection(opts.timeoutMs);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('write timed out')), opts.timeoutMs);
        socket.write(request.body, (err) => {
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        });
      });
      await new Promise((r) => setTimeout(r, this.opts.settleMs ?? 0));
      if (this.broken !== undefined) throw new Error(this.broken);
      return { kind: 'sent' };
    } catch (err) {
      this.socket?.destroy();
      this.socket = undefined;
      const code = (err as NodeJS.ErrnoException).code;
      return { kind: 'failed', reason: `${this.where()}: ${code ?? (err as Error).message}` };
    }
  }

  /** Takes effect at the next connection; the current one keeps its identity until it closes. */
  setTls(tls: SenderTls): void {
    this.opts = { ...this.opts, ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}) };
  }

  async close(): Promise<void> {
    const s = this.socket;
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
