import type { TestContext } from 'node:test';
import { systemClock } from '../../../src/core/clock.ts';
import { HttpClient } from '../../../src/core/http/client.ts';
import type { ConnectorConfig } from '../../../src/notify/config/connectors.ts';
import type { NotifySettings } from '../../../src/notify/config/vars.ts';
import { vendorHttp } from '../../../src/notify/http.ts';
import { incidentKey } from '../../../src/notify/providers/shared/keys.ts';
import type { ConnectorEndpoint, IncidentView } from '../../../src/notify/providers/types.ts';
import { loadConfig } from '../../../src/settings.ts';

export const TENANT = '7d9c2f4e-1b3a-4c5d-8e6f-0a1b2c3d4e5f';

/**
 * A connector exactly as the configuration builds it from an entry
 * (`<provider>|<endpoint>|<secret>` for TENANT) and its endpoint on the
 * hardened client trusting `caPem`, closed when the test ends.
 */
export function connector(t: TestContext, caPem: string, entry: string, timeoutMs = 5_000): { config: ConnectorConfig; ep: ConnectorEndpoint } {
  const settings = loadConfig({ PROBECTL_DATA_DIR: '/tmp/probectl-provider-test', PROBECTL_NOTIFY_CONNECTORS: `${TENANT}|${entry}` }).integrations.notify as NotifySettings;
  const config = settings.connectors[0] as ConnectorConfig;
  const client = new HttpClient({ tls: { ca: [caPem] }, timeoutMs });
  t.after(() => client.close());
  const secret = async () => (config.secret?.scheme === 'literal' ? config.secret.value : undefined);
  return { config, ep: { url: config.url, options: config.options, secret, http: vendorHttp(client, 'probectl/test'), clock: systemClock } };
}

let n = 0;
/** A fresh incident view. */
export function incident(over: Partial<IncidentView> = {}): IncidentView {
  n += 1;
  const id = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  return {
    id, key: incidentKey(id), tenant: TENANT, title: `Link down on core-sw-${n}`, severity: 'critical', status: 'open',
    target: `core-sw-${n}:ge-0/0/1`, kindFamily: 'link', signalCount: 1, openedAt: '2026-11-30T12:00:00.000Z', ...over,
  };
}
