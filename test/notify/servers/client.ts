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
