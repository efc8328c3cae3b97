import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { HttpClient } from '../../../src/core/http/client.ts';
import { type Clock, systemClock } from '../../../src/core/clock.ts';
import type { ConnectorConfig } from '../../../src/notify/config/connectors.ts';
import type { NotifySettings } from '../../../src/notify/config/vars.ts';
import { type UrlSecret, vendorHttp } from '../../../src/notify/http.ts';
import type { Severity } from '../../../src/incidents/model.ts';
import { incidentKey } from '../../../src/notify/providers/shared/keys.ts';
import type { ConnectorEndpoint, IncidentView, NotifyAction, Operation, VendorHttp } from '../../../src/notify/providers/types.ts';
import { loadConfig } from '../../../src/settings.ts';

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
    clock: input.clock ?? systemClock,
  };
}

/** The tenant of the connectors `connector` builds. */
export const CONNECTOR_TENANT = '7d9c2f4e-1b3a-4c5d-8e6f-0a1b2c3d4e5f';

/**
 * A connector exactly as the configuration builds it from an entry
 * (`<provider>|<endpoint>|<secret>` of CONNECTOR_TENANT: probectl's options
 * parsed and removed from the URL, the provider's validate() passed), and its
 * endpoint on testVendorHttp trusting `caPem`.
 */
export function connector(t: TestContext, caPem: string, entry: string, timeoutMs = 5_000): { config: ConnectorConfig; ep: ConnectorEndpoint } {
  const settings = loadConfig({ PROBECTL_DATA_DIR: '/tmp/probectl-provider-test', PROBECTL_NOTIFY_CONNECTORS: `${CONNECTOR_TENANT}|${entry}` }).integrations.notify as NotifySettings;
  const config = settings.connectors[0] as ConnectorConfig;
  const secret = async () => (config.secret?.scheme === 'literal' ? config.secret.value : undefined);
  return { config, ep: { url: config.url, options: config.options, secret, http: testVendorHttp(t, caPem, timeoutMs), clock: systemClock } };
}

let n = 0;

/** An incident as the notify core shows it; a fresh id each call unless given. */
export function testIncident(over: Partial<IncidentView> = {}): IncidentView {
  n++;
  const id = over.id ?? `0190d7c2-7b1e-7c3a-9f00-${String(n).padStart(12, '0')}`;
  return {
    id,
    key: incidentKey(id),
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
