import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { HttpClient, type HttpMethod, type HttpResponse } from '../../../src/core/http/client.ts';

/**
 * The hardened product client, trusting the stand-ins' test CA, closed when
 * the test ends. `call` sends JSON (or raw text) with a short deadline.
 */
export function vendorClient(t: TestContext, caPem: string, timeoutMs = 5_000): {
  http: HttpClient;
  call(url: string, opts?: { method?: HttpMethod; json?: unknown; body?: string; headers?: Record<string, string>; timeoutMs?: number }): Promise<HttpResponse>;
} {
  const http = new HttpClient({ tls: { ca: [caPem] }, timeoutMs });
  t.after(() => http.close());
  return {
    http,
    call(url, opts = {}) {
      const headers: Record<string, string> = { ...(opts.json !== undefined ? { 'content-type': 'application/json' } : {}), ...(opts.headers ?? {}) };
      const body = opts.json !== undefined ? JSON.stringify(opts.json) : opts.body;
      return http.request(url, {
        method: opts.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      });
    },
  };
}

/** Basic credentials header value. */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export interface Captured {
  headers: Record<string, unknown>;
  body: string;
}

/**
 * A plain-HTTP loopback receiver standing in for probectl's inbound endpoint
 * in emitter tests: records each delivery and answers `status`; closed when
 * the test ends.
 */
export async function captureReceiver(t: TestContext, status = 200): Promise<{ url(path: string): string; seen: Captured[] }> {
  const seen: Captured[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  const port = (server.address() as AddressInfo).port;
  return { url: (path) => `http://127.0.0.1:${port}${path}`, seen };
}
