import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cmdbKey } from '../../src/cmdb/keys.ts';
import { serviceNowQuery } from '../../src/cmdb/providers/servicenow.ts';
import { INJECTION_CORPUS } from './corpus.ts';


describe('CMDB keys', () => {
  it('normalises IPv4, IPv6, host names, FQDNs and URL-shaped targets', () => {
    const cases: Array<[string, string, string]> = [
      ['10.0.0.1', 'ip', '10.0.0.1'],
      ['10.0.0.1:443', 'ip', '10.0.0.1'],
      ['2001:DB8:0:0:0:0:0:1', 'ip', '2001:db8::1'],
      ['[2001:db8::1]:8443', 'ip', '2001:db8::1'],
      ['::ffff:192.0.2.7', 'ip', '192.0.2.7'],
      ['Web01', 'host', 'web01'],
      ['Web01.Example.COM.', 'host', 'web01.example.com'],
      ['web01.example.com:22', 'host', 'web01.example.com'],
      ['https://Web01.Example.com:8443/health?x=1', 'host', 'web01.example.com'],
      ['tcp://10.0.0.1:5432', 'ip', '10.0.0.1'],
      ['https://[2001:db8::a]/', 'ip', '2001:db8::a'],
      ['xn--bcher-kva.example', 'host', 'xn--bcher-kva.example'],
    ];
    for (const [target, kind, value] of cases) assert.deepEqual(cmdbKey(target), { kind, value }, target);
  });

  it('drops CIDR prefixes, free text, non-ASCII look-alikes and every query-operator character', () => {
    for (const bad of INJECTION_CORPUS) assert.equal(cmdbKey(bad), undefined, JSON.stringify(bad));
  });

  it('a ServiceNow query holds exactly three conditions whatever the key; a value outside [a-z0-9._:-] cannot be written', () => {
    assert.equal(serviceNowQuery({ kind: 'host', value: 'web01.example.com' }), 'ip_address=web01.example.com^ORfqdn=web01.example.com^ORname=web01.example.com');
    for (const value of ['web01^ORx', 'a=b', 'A', 'x y', 'web\n']) assert.throws(() => serviceNowQuery({ kind: 'host', value }), /outside/);
  });
});
