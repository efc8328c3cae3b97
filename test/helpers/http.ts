import { Agent } from 'undici';

/** Deadlines of every HTTP exchange a test makes: connecting, waiting for headers, and between body chunks. */
export const TEST_HTTP_DEADLINES = { connectMs: 10_000, headersMs: 60_000, bodyMs: 60_000 } as const;

/**
 * An undici Agent for tests that trusts `ca` (validation stays on) and has a
 * deadline on every phase of a request, so a server that stops answering
 * fails the request with a timeout error well before the test's own timeout,
 * instead of leaving the test (and its file) waiting. Close it with the test
 * (`t.after(() => agent.close())`).
 */
export function testAgent(ca: string, opts: { servername?: string } = {}): Agent {
  return new Agent({
    connect: { ca, timeout: TEST_HTTP_DEADLINES.connectMs, ...(opts.servername ? { servername: opts.servername } : {}) },
    headersTimeout: TEST_HTTP_DEADLINES.headersMs,
    bodyTimeout: TEST_HTTP_DEADLINES.bodyMs,
  });
}
