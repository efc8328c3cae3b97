import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpClient } from '../../src/core/http/client.ts';
import { cmdbGet } from '../../src/cmdb/http.ts';
import { CmdbLookup } from '../../src/cmdb/lookup.ts';
import { netboxProvider } from '../../src/cmdb/providers/netbox.ts';
import { serviceNowProvider } from '../../src/cmdb/providers/servicenow.ts';
import { authorizationFor } from '../../src/cmdb/runtime.ts';
import { pemFile, startNotifyApp, until } from '../notify/helpers.ts';
import { StandIn, type Handler } from '../notify/servers/harness.ts';
import { startVendors } from '../notify/servers/vendors.ts';

const NETBOX_TOKEN = '0123456789abcdef0123456789abcdef01234567';
const page = (results: unknown[]) => ({ count: results.length, next: null, previous: null, results });

/** A CMDB stand-in answering what `handle` says (a CMDB that misbehaves: oversized fields, ignored limits). */
async function hostile(t: { after(fn: () => unknown): void }, handle: Handler): Promise<StandIn> {
  const s = await StandIn.start({ name: 'hostile-cmdb', handle });
  t.after(() => s.close());
  return s;
}

function lookupOn(t: { after(fn: () => unknown): void }, s: StandIn, kind: 'servicenow' | 'netbox'): CmdbLookup {
  const client = new HttpClient({ tls: { ca: [s.caPem] }, timeoutMs: 5000, maxResponseBytes: 4_194_304 });
  t.after(() => client.close());
  const get = cmdbGet(client, 'probectl/test', async () => authorizationFor(kind, kind === 'netbox' ? NETBOX_TOKEN : 'probectl.cmdb:cmdb-pass'));
  const base = new URL(`${s.url}/`);
  return new CmdbLookup({ provider: kind === 'servicenow' ? serviceNowProvider(base, 'cmdb_ci', get) : netboxProvider(base, get), clock: { now: () => Date.now() }, ttlMs: 60_000, negativeTtlMs: 10_000, max: 100, timeoutMs: 5000 });
}

describe('a CMDB answering oversized or unbounded data', () => {
  it('a 600 KB IP field: the PagerDuty page is delivered with the CI clipped (valid IPs only)', async (t) => {
    const v = await startVendors();
    t.after(() => v.close());
    const nb = await hostile(t, (req) => {
      if (req.path.startsWith('/api/ipam/ip-addresses/')) return { status: 200, body: page([{ id: 1, address: '10.0.0.1/24', dns_name: `${'a'.repeat(300)}.example.com`, assigned_object_type: 'dcim.interface', assigned_object: { device: { id: 1 } } }]) };
      return { status: 200, body: { id: 1, name: `web01${'n'.repeat(100_000)}`, primary_ip4: { address: '10.0.0.1/24' }, primary_ip6: { address: 'f'.repeat(600_000) }, status: { label: 'Active\nX-Injected: 1' } } };
    });
    const n = await startNotifyApp(t, ['acme'], (ids, dir) => ({
      PROBECTL_NOTIFY_CONNECTORS: `${ids.acme}|pagerduty|${v.pagerduty.enqueueUrl}|${v.pagerduty.routingKey}`,
      PROBECTL_NOTIFY_CA_FILE: pemFile(dir, v.caPem), PROBECTL_NOTIFY_RETRY_BASE: '50ms', PROBECTL_NOTIFY_RETRY_MAX: '200ms', PROBECTL_NOTIFY_POLL_INTERVAL: '50ms',
      PROBECTL_CMDB_PROVIDER: 'netbox', PROBECTL_CMDB_URL: nb.url, PROBECTL_CMDB_SECRET: NETBOX_TOKEN, PROBECTL_CMDB_CA_FILE: pemFile(dir, nb.caPem, 'cmdb-ca.pem'),
      PROBECTL_CMDB_TIMEOUT: '5s', PROBECTL_CMDB_ENRICH_TIMEOUT: '4s',
    }));
    await n.signal(n.tenants.acme as string, { target: '10.0.0.1', title: 'web01 down' });
    await until(() => v.pagerduty.incidents.length === 1, 'paged', 30_000);
    const post = v.pagerduty.server.log.find((r) => r.method === 'POST');
    assert.ok(post && post.raw.length < 16_384, `event of ${post?.raw.length} bytes`);
    const ci = (post.body as any).payload.custom_details.configuration_items[0];
    assert.deepEqual(ci.ips, ['10.0.0.1'], 'the 600 KB "address" is not an IP: dropped');
    assert.equal(ci.fqdn, null, 'a DNS name longer than 253 characters is dropped');
    assert.match(ci.summary, /^web01n+…/);
    assert.ok(!/\n/.test(ci.summary));
  });

  it('ServiceNow answering 5000 records despite sysparm_limit=10: at most 10 CIs kept, each bounded', async (t) => {
    const rec = (i: number) => ({ sys_id: { value: i.toString(16).padStart(32, '0'), display_value: '' }, name: { value: 'web01', display_value: 'w'.repeat(300) }, ip_address: { value: '10.0.0.1:22', display_value: '' }, fqdn: { value: 'x', display_value: 'WEB01.Example.com.' } });
    const sn = await hostile(t, () => ({ status: 200, body: { result: Array.from({ length: 5000 }, (_, i) => rec(i + 1)) } }));
    const a = await lookupOn(t, sn, 'servicenow').lookup('web01');
    assert.equal(a.state, 'ok');
    assert.equal(a.items.length, 10);
    assert.ok(a.items.every((i) => [...i.name].length === 256 && i.ips.length === 0 && i.fqdn === 'web01.example.com'));
  });

  it('NetBox answering 3000 addresses despite limit=10: at most 10 assignments followed', async (t) => {
    const nb = await hostile(t, (req) => {
      if (req.path.startsWith('/api/ipam/ip-addresses/')) return { status: 200, body: { count: 3000, next: null, previous: null, results: Array.from({ length: 3000 }, (_, i) => ({ id: i + 1, address: '10.0.0.1/24', assigned_object_type: 'dcim.interface', assigned_object: { device: { id: i + 1 } } })) } };
      return { status: 200, body: { id: Number(/(\d+)\/$/.exec(req.path)?.[1]), name: 'dev' } };
    });
    const a = await lookupOn(t, nb, 'netbox').lookup('10.0.0.1');
    assert.equal(a.state, 'ok');
    assert.equal(a.items.length, 10);
    assert.equal(nb.log.length, 11, 'one list request and ten followed assignments');
  });
});

describe('CMDB text carrying invisible or reordering characters', () => {
  it('C1 controls (NEL, CSI) and bidirectional overrides/isolates in a CI\'s text become a space, like C0 controls', async () => {
    const { boundedItem } = await import('../../src/cmdb/providers/bounded.ts');
    const evil = 'web01\u0085\u009b31m\u202egnp.exe\u2066x\u2069\u200f\u061cend';
    const item = boundedItem({
      provider: 'servicenow', id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', name: evil, class: evil, role: evil, ips: [], fqdn: null,
      owner: evil, location: evil, status: evil, link: 'https://cmdb.example.com/x', origin: 'https://cmdb.example.com',
    });
    for (const text of [item.name, item.class, item.role, item.owner, item.location, item.status]) {
      assert.equal(text, 'web01 31m gnp.exe x end');
    }
  });
});
