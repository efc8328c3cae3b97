import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { HttpClient, HttpClientError } from '../../../src/core/http/client.ts';
import type { Clock } from '../../../src/core/clock.ts';
import type { Severity } from '../../../src/incidents/model.ts';
import type { ConnectorEndpoint, IncidentView, NotifyAction, Operation, VendorAnswer, VendorHttp } from '../../../src/notify/providers/types.ts';

/**
 * Test-only VendorHttp over the product's hardened client (src/core/http/client.ts)
 * trusting the stand-ins' test CA: an HTTP answer of any status is `answered`;
 * a failure below HTTP is `failed` (TLS and refused-address failures with
 * `alarm`), its reason naming scheme and host only, as the product client's
 * errors do. Closed when the test ends.
 */
export function testVendorHttp(t: TestContext, caPem: string, timeoutMs = 3_000): VendorHttp {
  const client = new HttpClient({ tls: { ca: [caPem] }, timeoutMs });
  t.after(() => client.close());
  return {
    async request(method, url, opts): Promise<VendorAnswer> {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      let body: Buffer | undefined = opts.body;
      if (opts.json !== undefined) {
        body = Buffer.from(JSON.stringify(opts.json), 'utf8');
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
      }
      try {
        const res = await client.request(url, { method, headers, ...(body !== undefined ? { body } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
        return { kind: 'answered', status: res.status, headers: res.headers, body: res.body };
      } catch (err) {
        if (err instanceof HttpClientError) return { kind: 'failed', reason: err.message, ...(err.kind === 'tls' || err.kind === 'insecure' ? { alarm: true } : {}) };
        throw err;
      }
    },
  };
}

/** A clock a test moves by hand. */
export function fixedClock(at = Date.parse('2026-03-01T12:00:00Z')): Clock & { set(ms: number): void } {
  let now = at;
  return { now: () => now, set: (ms) => void (now = ms) };
}

export interface EndpointInput {
  url: string;
  caPem: string;
  options?: Record<string, string>;
  secret?: string | undefined;
  clock?: Clock;
  timeoutMs?: number;
}

/** A ConnectorEndpoint as the notify core builds one (URL with probectl's options already removed). */
export function testEndpoint(t: TestContext, input: EndpointInput): ConnectorEndpoint {
  const secret = input.secret;
  return {
    url: new URL(input.url),
    options: input.options ?? {},
    secret: () => Promise.resolve(secret),
    http: testVendorHttp(t, input.caPem, input.timeoutMs),
    clock: input.clock ?? { now: () => Date.now() },
  };
}

let n = 0;

/** An incident as the notify core shows it; a fresh id each call unless given. */
export function testIncident(over: Partial<IncidentView> = {}): IncidentView {
  n++;
  const id = over.id ?? `0190d7c2-7b1e-7c3a-9f00-${String(n).padStart(12, '0')}`;
  return {
    id,
    key: `probectl-${id}`,
    tenant: '4b0f3c1e-2a7d-4c55-9b1e-6f2d8a9c0e11',
    title: 'Link down on core-1 (ge-0/0/1)',
    severity: 'critical',
    status: 'open',
    target: 'core-1.dc1.example.net',
    kindFamily: 'link',
    signalCount: 3,
    openedAt: '2026-03-01T11:58:00.000Z',
    ...over,
  };
}

/** One operation; the idempotency key is stable per (incident, action) unless given. */
export function testOp(action: NotifyAction, incident: IncidentView, extra: Partial<Omit<Operation, 'action' | 'incident'>> = {}): Operation {
  return {
    action,
    incident,
    ref: extra.ref,
    idempotencyKey: extra.idempotencyKey ?? `outbox-${incident.id}-${action}`,
    ...(extra.update ? { update: extra.update } : {}),
  };
}

export function update(signals: number, severityFrom: Severity, severityTo: Severity): Operation['update'] {
  return { signals, severityFrom, severityTo };
}

/** Fails when any secret appears anywhere in the JSON of the values (and in their plain string forms). */
export function assertNoSecret(values: unknown[], secrets: string[]): void {
  for (const v of values) {
    const text = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
    for (const s of secrets) {
      if (s === '') continue;
      assert.ok(!text.includes(s), `a secret appeared in ${text.slice(0, 200)}`);
      assert.ok(!text.includes(encodeURIComponent(s)), `an encoded secret appeared in ${text.slice(0, 200)}`);
    }
  }
}
