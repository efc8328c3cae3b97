import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { HttpClient } from '../../../src/core/http/client.ts';
import { type UrlSecret, vendorHttp } from '../../../src/notify/http.ts';
import type { Clock } from '../../../src/core/clock.ts';
import type { Severity } from '../../../src/incidents/model.ts';
import type { ConnectorEndpoint, IncidentView, NotifyAction, Operation, VendorHttp } from '../../../src/notify/providers/types.ts';

/**
 * The product's VendorHttp (src/notify/http.ts) over its hardened client
 * trusting the stand-ins' test CA, with the URL credential parameter set from
 * `urlSecret` as the notify core does (NotifyProvider.urlSecretParam). Closed
 * when the test ends.
 */
export function testVendorHttp(t: TestContext, caPem: string, timeoutMs = 3_000, urlSecret?: UrlSecret): VendorHttp {
  const client = new HttpClient({ tls: { ca: [caPem] }, timeoutMs });
  t.after(() => client.close());
  return vendorHttp(client, 'probectl/test', urlSecret);
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
  /** The provider's urlSecretParam: set from `secret` on requests to `url` when the URL has none. */
  urlSecretParam?: string;
}

/** A ConnectorEndpoint as the notify core builds one (URL with probectl's options already removed). */
export function testEndpoint(t: TestContext, input: EndpointInput): ConnectorEndpoint {
  const secret = input.secret;
  return {
    url: new URL(input.url),
    options: input.options ?? {},
    secret: () => Promise.resolve(secret),
    http: testVendorHttp(t, input.caPem, input.timeoutMs, input.urlSecretParam ? { param: input.urlSecretParam, endpoint: new URL(input.url), value: () => Promise.resolve(secret) } : undefined),
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
