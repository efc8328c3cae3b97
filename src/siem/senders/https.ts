import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { isProbectlError } from '../../core/errors.ts';
import { HttpClient, HttpClientError, type HttpTlsOptions } from '../../core/http/client.ts';
import { withoutSentCredentials } from '../../core/http/credentials.ts';
import type { Sender, SenderTls, TransportResult, WireRequest } from './types.ts';

const gzip = promisify(gzipCb);

export interface HttpsSenderOptions {
  endpoint: URL;
  tls: HttpTlsOptions;
  gzip: boolean;
  /** The Authorization header value, resolved at each use (a rotated token applies at once); undefined sends none. */
  authorization: () => Promise<string | undefined>;
  connections?: number;
}

/** HTTPS POSTs over keep-alive connections with validated TLS (optional mTLS), optionally gzip-compressed. */
export class HttpsSender implements Sender {
  private readonly client: HttpClient;
  private opts: HttpsSenderOptions;

  constructor(opts: HttpsSenderOptions) {
    this.opts = opts;
    this.client = new HttpClient({ tls: opts.tls, connections: opts.connections ?? 8, maxResponseBytes: 16 * 1024 * 1024 });
  }

  async send(request: WireRequest, opts: { timeoutMs: number; signal?: AbortSignal | undefined }): Promise<TransportResult> {
    const url = new URL(request.path ?? `${this.opts.endpoint.pathname}${this.opts.endpoint.search}`, this.opts.endpoint);
    const headers: Record<string, string> = { 'content-type': request.contentType, ...(request.headers ?? {}) };
    let auth: string | undefined;
    try {
      auth = await this.opts.authorization();
    } catch (err) {
      // The token could not be resolved (secret backend down, reference gone): nothing was sent; the stream
      // pauses with an alarm and retries. The message names the variable and backend, never a value.
      return { kind: 'failed', reason: `the ingest credential is unavailable: ${isProbectlError(err) ? err.message : 'resolution failed'}`, alarm: true };
    }
    if (auth !== undefined) headers.authorization = auth;
    let body = request.body;
    if (this.opts.gzip && body.length > 0) {
      body = await gzip(body);
      headers['content-encoding'] = 'gzip';
    }
    try {
      const res = await this.client.request(url, { method: 'POST', headers, body, timeoutMs: opts.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
      return { kind: 'answered', status: res.status, headers: res.headers, body: withoutSentCredentials(res.body, headers) };
    } catch (err) {
      if (err instanceof HttpClientError) return { kind: 'failed', reason: err.message, alarm: err.kind === 'tls' || err.kind === 'insecure' };
      throw err;
    }
  }

  /** Replaces what is given (a renewed client certificate, a new CA bundle) and keeps the rest. */
  setTls(tls: SenderTls): void {
    const current = this.opts.tls;
    const next = {
      ...current,
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
    };
    this.opts = { ...this.opts, tls: next };
    this.client.setTls(next);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
