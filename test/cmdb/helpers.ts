import { HttpClient } from '../../src/core/http/client.ts';
import { cmdbGet } from '../../src/cmdb/http.ts';
import { CmdbLookup, type CmdbLookupOptions } from '../../src/cmdb/lookup.ts';
import { netboxProvider } from '../../src/cmdb/providers/netbox.ts';
import { serviceNowProvider } from '../../src/cmdb/providers/servicenow.ts';
import type { CmdbProvider } from '../../src/cmdb/providers/types.ts';
import { authorizationFor } from '../../src/cmdb/runtime.ts';
import type { Clock } from '../../src/core/clock.ts';
import { NetBox } from './servers/netbox.ts';
import { ServiceNowCmdb } from './servers/servicenow-cmdb.ts';

export const SN_WEB01 = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
export const SN_DB01 = 'b1b2c3d4e5f60718293a4b5c6d7e8f91';

/** Two servers: web01 (IPv4) and db01 (IPv6). */
export function seedServiceNow(sn: ServiceNowCmdb): void {
  sn.records.push(
    { sys_id: SN_WEB01, name: 'web01', sys_class_name: 'cmdb_ci_linux_server', class_label: 'Linux Server', ip_address: '10.0.0.1', fqdn: 'web01.example.com', owned_by: 'Ada Lovelace', support_group: 'Network Ops', location: 'Paris DC1', install_status: '1' },
    { sys_id: SN_DB01, name: 'db01', sys_class_name: 'cmdb_ci_db_instance', class_label: 'Database Instance', ip_address: '2001:db8::10', fqdn: 'db01.example.com', owned_by: 'Grace Hopper', location: 'Berlin DC2', install_status: '1' },
  );
}

/** A device web01 (10.0.0.1 on an interface, primary) and a VM vm7 (2001:db8::7 on a VM interface, dns vm7.example.com). */
export function seedNetBox(nb: NetBox): void {
  nb.devices.push({ id: 12, name: 'web01', role: 'Web Server', site: 'Paris DC1', status: 'Active', tenant: 'Payments', primary_ip4: '10.0.0.1/24' });
  nb.vms.push({ id: 7, name: 'vm7', role: 'Application', site: 'Berlin DC2', status: 'Active', tenant: 'Search', primary_ip6: '2001:db8::7/64' });
  nb.addresses.push({ id: 1, address: '10.0.0.1/24', dns_name: 'web01.example.com', assigned: { type: 'device', id: 12 } });
  nb.addresses.push({ id: 2, address: '2001:db8::7/64', dns_name: 'vm7.example.com', assigned: { type: 'vm', id: 7 } });
  nb.addresses.push({ id: 3, address: '10.9.9.9/32' });
}

export interface Harness {
  provider: CmdbProvider;
  client: HttpClient;
  lookup(opts?: Partial<CmdbLookupOptions>): CmdbLookup;
  close(): Promise<void>;
}

/** A provider on the hardened client trusting the stand-in's CA, and lookups over it. */
export function harness(server: ServiceNowCmdb | NetBox, secret: string, clock: Clock = { now: () => Date.now() }, timeoutMs = 2000, connections = 64): Harness {
  const client = new HttpClient({ tls: { ca: [server.standIn.caPem] }, timeoutMs, connections });
  const base = new URL(`${server.url}/`);
  const kind = server instanceof ServiceNowCmdb ? 'servicenow' : 'netbox';
  const get = cmdbGet(client, 'probectl/test', async () => authorizationFor(kind, secret));
  const provider = kind === 'servicenow' ? serviceNowProvider(base, 'cmdb_ci', get) : netboxProvider(base, get);
  return {
    provider, client,
    lookup: (opts = {}) => new CmdbLookup({ provider, clock, ttlMs: 60_000, negativeTtlMs: 10_000, max: 100, timeoutMs, ...opts }),
    close: () => client.close(),
  };
}
