import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cmdbKey } from '../../src/cmdb/keys.ts';
import { CmdbUnavailable } from '../../src/cmdb/providers/types.ts';
import { harness, seedNetBox, seedServiceNow, SN_DB01, SN_WEB01 } from './helpers.ts';
import { INJECTION_CORPUS } from './corpus.ts';
import { NetBox } from './servers/netbox.ts';
import { ServiceNowCmdb } from './servers/servicenow-cmdb.ts';

const key = (t: string) => {
  const k = cmdbKey(t);
  assert.ok(k, t);
  return k;
};
const signal = () => AbortSignal.timeout(5000);

describe('ServiceNow CMDB provider (Table API stand-in)', () => {
  it('finds CIs by IPv4, IPv6, host name, FQDN and URL with one request each, fields limited, display values read', async (t) => {
    const sn = await ServiceNowCmdb.start();
    t.after(() => sn.close());
    seedServiceNow(sn);
    const h = harness(sn, 'probectl.cmdb:cmdb-pass');
    t.after(() => h.close());
    const cases: Array<[string, string]> = [['10.0.0.1', SN_WEB01], ['2001:DB8:0::10', SN_DB01], ['WEB01', SN_WEB01], ['web01.example.com.', SN_WEB01], ['https://db01.example.com:8443/x', SN_DB01]];
    for (const [target, id] of cases) {
      const before = sn.requestCount;
      const items = await h.provider.lookup(key(target), signal());
      assert.equal(sn.requestCount - before, 1, `${target}: one request`);
      assert.deepEqual(items.map((i) => i.id), [id], target);
    }
    const [web] = await h.provider.lookup(key('web01'), signal());
    assert.deepEqual(web, {
      provider: 'servicenow', id: SN_WEB01, name: 'web01', class: 'Linux Server', role: null, ips: ['10.0.0.1'], fqdn: 'web01.example.com',
      owner: 'Network Ops', location: 'Paris DC1', status: 'Installed', link: `${sn.url}/cmdb_ci_linux_server.do?sys_id=${SN_WEB01}`, origin: sn.url,
    });
    const sent = new URL(sn.standIn.log.at(-1)?.path as string, sn.url);
    assert.equal(sent.pathname, '/api/now/table/cmdb_ci');
    assert.equal(sent.searchParams.get('sysparm_limit'), '10');
    assert.equal(sent.searchParams.get('sysparm_display_value'), 'all');
    assert.equal(sent.searchParams.get('sysparm_fields'), 'sys_id,name,sys_class_name,ip_address,fqdn,owned_by,support_group,location,install_status');
    assert.match(String(sn.standIn.log.at(-1)?.headers.authorization), /^Basic /);
    // Every query that reached the instance: one group, one term, exactly ip_address | fqdn | name equalities.
    for (const q of sn.queries) assert.deepEqual(q.map((g) => g.map((term) => term.map((c) => `${c.field}${c.op}`))), [[['ip_address=', 'fqdn=', 'name=']]]);
    assert.deepEqual(await h.provider.lookup(key('nothing-here.example.com'), signal()), []);
  });

  it('the injection corpus never reaches ServiceNow: every such key is dropped before a request', async (t) => {
    const sn = await ServiceNowCmdb.start();
    t.after(() => sn.close());
    seedServiceNow(sn);
    const h = harness(sn, 'probectl.cmdb:cmdb-pass');
    t.after(() => h.close());
    const lookup = h.lookup();
    for (const bad of INJECTION_CORPUS) {
      const a = await lookup.lookup(bad);
      assert.equal(a.state, 'not-a-key', JSON.stringify(bad));
    }
    assert.equal(sn.requestCount, 0, 'no request at all');
    // A valid key next to them still reaches it as exactly one three-condition disjunction.
    assert.equal((await lookup.lookup('web01')).items.length, 1);
    assert.equal(sn.queries.length, 1);
    assert.equal(sn.queries[0]?.flat(2).length, 3);
  });

  it('a bearer token is sent as Bearer; a refused credential, 5xx and 429 are CmdbUnavailable naming no secret', async (t) => {
    const sn = await ServiceNowCmdb.start({ bearers: ['oauth-token-123'] });
    t.after(() => sn.close());
    seedServiceNow(sn);
    const ok = harness(sn, 'oauth-token-123');
    t.after(() => ok.close());
    assert.equal((await ok.provider.lookup(key('web01'), signal())).length, 1);
    assert.equal(sn.standIn.log.at(-1)?.headers.authorization, 'Bearer oauth-token-123');
    const wrong = harness(sn, 'probectl.cmdb:wrong-password');
    t.after(() => wrong.close());
    await assert.rejects(wrong.provider.lookup(key('web01'), signal()), (err: Error) => err instanceof CmdbUnavailable && /refused probectl's credential \(401\)/.test(err.message) && !err.message.includes('wrong-password'));
    sn.standIn.inject({ kind: 'status', status: 503 }, { kind: 'status', status: 429, retryAfter: '7' });
    await assert.rejects(ok.provider.lookup(key('web01'), signal()), /answered 503/);
    await assert.rejects(ok.provider.lookup(key('web01'), signal()), (err: CmdbUnavailable) => err.retryAfterMs === 7000);
  });
});

describe('NetBox provider (REST API stand-in)', () => {
  it('follows an IP to its device or VM; finds devices and VMs by name and FQDN; v1 Token and v2 Bearer tokens', async (t) => {
    const nb = await NetBox.start();
    t.after(() => nb.close());
    seedNetBox(nb);
    const v1 = harness(nb, '0123456789abcdef0123456789abcdef01234567');
    t.after(() => v1.close());
    const [device] = await v1.provider.lookup(key('10.0.0.1'), signal());
    assert.deepEqual(device, {
      provider: 'netbox', id: 'device:12', name: 'web01', class: 'device', role: 'Web Server', ips: ['10.0.0.1'], fqdn: 'web01.example.com',
      owner: 'Payments', location: 'Paris DC1', status: 'Active', link: `${nb.url}/dcim/devices/12/`, origin: nb.url,
    });
    assert.match(String(nb.standIn.log.at(0)?.headers.authorization), /^Token [0-9a-f]{40}$/);
    assert.deepEqual(nb.standIn.log.map((r) => r.path), ['/api/ipam/ip-addresses/?address=10.0.0.1&limit=10', '/api/dcim/devices/12/']);
    const [vm] = await v1.provider.lookup(key('[2001:db8:0::7]:22'), signal());
    assert.equal(vm?.id, 'vm:7');
    assert.equal(vm?.link, `${nb.url}/virtualization/virtual-machines/7/`);
    assert.deepEqual((await v1.provider.lookup(key('WEB01'), signal())).map((i) => i.id), ['device:12']);
    assert.deepEqual((await v1.provider.lookup(key('vm7.example.com'), signal())).map((i) => i.id), ['vm:7'], 'by dns_name');
    assert.deepEqual(await v1.provider.lookup(key('10.9.9.9'), signal()), [], 'an unassigned address is no CI');
    const v2 = harness(nb, 'nbt_AbCdEf012345.0123456789abcdefghijklmnopqrstuvwxyzABCD');
    t.after(() => v2.close());
    assert.equal((await v2.provider.lookup(key('vm7'), signal())).length, 1);
    assert.match(String(nb.standIn.log.at(-1)?.headers.authorization), /^Bearer nbt_/);
    const bad = harness(nb, 'nbt_wrong.token');
    t.after(() => bad.close());
    await assert.rejects(bad.provider.lookup(key('vm7'), signal()), (err: Error) => /refused probectl's credential \(403\)/.test(err.message) && !err.message.includes('nbt_wrong'));
  });

  it('finds mixed-case NetBox names from lower-case keys: device/VM name (iexact) and dns_name (dns_name__ie)', async (t) => {
    const nb = await NetBox.start();
    t.after(() => nb.close());
    seedNetBox(nb);
    nb.devices.push({ id: 13, name: 'WEB02', role: 'Web Server', site: 'Paris DC1', primary_ip4: '10.0.0.2/24' });
    nb.vms.push({ id: 8, name: 'App-VM8', site: 'Berlin DC2' });
    // A dns_name as an operator typed it; NetBox's plain dns_name filter is exact and case-sensitive.
    nb.addresses.push({ id: 5, address: '10.0.0.8/24', dns_name: 'App-VM8.Example.COM', assigned: { type: 'vm', id: 8 } });
    const h = harness(nb, '0123456789abcdef0123456789abcdef01234567');
    t.after(() => h.close());
    assert.deepEqual((await h.provider.lookup(key('WEB02'), signal())).map((i) => [i.id, i.name]), [['device:13', 'WEB02']]);
    assert.deepEqual((await h.provider.lookup(key('app-vm8'), signal())).map((i) => i.id), ['vm:8']);
    const before = nb.standIn.log.length;
    const byFqdn = await h.provider.lookup(key('app-vm8.example.com'), signal());
    assert.deepEqual(byFqdn.map((i) => [i.id, i.fqdn]), [['vm:8', 'app-vm8.example.com']], 'by dns_name, whatever its case in NetBox');
    assert.ok(nb.standIn.log.slice(before).some((r) => r.path === '/api/ipam/ip-addresses/?dns_name__ie=app-vm8.example.com&limit=10'));
  });

  it('a NetBox that ignores a name or dns_name filter (unknown to it) answers every object: none is taken for the key', async (t) => {
    const { StandIn } = await import('../notify/servers/harness.ts');
    const all = (results: unknown[]) => ({ count: results.length, next: null, previous: null, results });
    const s = await StandIn.start({
      name: 'netbox-ignoring-filters',
      handle: (req) => {
        if (req.path === '/api/dcim/devices/') return { status: 200, body: all([{ id: 1, name: 'other-device', status: { value: 'active', label: 'Active' } }]) };
        if (req.path === '/api/virtualization/virtual-machines/') return { status: 200, body: all([{ id: 2, name: 'other-vm' }]) };
        if (req.path === '/api/ipam/ip-addresses/') return { status: 200, body: all([{ id: 3, address: '10.1.1.1/24', dns_name: 'other.example.com', assigned_object_type: 'dcim.interface', assigned_object: { device: { id: 1 } } }]) };
        return { status: 200, body: { id: 1, name: 'other-device' } };
      },
    });
    t.after(() => s.close());
    const { HttpClient } = await import('../../src/core/http/client.ts');
    const { cmdbGet } = await import('../../src/cmdb/http.ts');
    const { netboxProvider } = await import('../../src/cmdb/providers/netbox.ts');
    const { authorizationFor } = await import('../../src/cmdb/runtime.ts');
    const client = new HttpClient({ tls: { ca: [s.caPem] }, timeoutMs: 5000 });
    t.after(() => client.close());
    const provider = netboxProvider(new URL(`${s.url}/`), cmdbGet(client, 'probectl/test', async () => authorizationFor('netbox', '0123456789abcdef0123456789abcdef01234567')));
    assert.deepEqual(await provider.lookup(key('web01.example.com'), signal()), []);
    assert.deepEqual(await provider.lookup(key('web01'), signal()), []);
  });
});
