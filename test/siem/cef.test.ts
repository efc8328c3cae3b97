import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { SiemEvent } from '../../src/siem/event.ts';
import { cefRecord } from '../../src/siem/formatters/cef.ts';
import { FORMATTERS } from '../../src/siem/formatters/index.ts';
import { siemEvent } from './helpers/arb.ts';
import { CEF_DICTIONARY, CUSTOM_FIELD, parseCef } from './helpers/cef.ts';
import { OPTS, stressEvents, TENANT } from './fixtures.ts';

const SEVERITY = { info: 3, warning: 6, critical: 10 } as const;
const oneLine = (s: string): string => s.replace(/[\r\n]/g, ' ');

function labelled(rec: ReturnType<typeof parseCef>, label: string): string | undefined {
  for (const [k, v] of rec.extension) if (CUSTOM_FIELD.test(k) && rec.extension.get(`${k}Label`) === label) return v;
  return undefined;
}

function checkRecord(e: SiemEvent, line: string): ReturnType<typeof parseCef> {
  const rec = parseCef(line);
  assert.equal(rec.vendor, 'probectl');
  assert.equal(rec.product, 'probectl');
  assert.equal(rec.deviceVersion, OPTS.version);
  assert.equal(rec.signatureId, oneLine(e.action));
  assert.equal(rec.name, oneLine(e.message));
  assert.equal(Number(rec.severity), SEVERITY[e.severity]);
  for (const k of rec.keys) {
    assert.ok(CEF_DICTIONARY.has(k), `extension key ${k} is not in the CEF dictionary`);
    if (CUSTOM_FIELD.test(k)) assert.ok(rec.extension.has(`${k}Label`), `custom field ${k} has no label`);
    if (k.endsWith('Label')) assert.ok(rec.extension.has(k.slice(0, -5)), `label ${k} labels nothing`);
  }
  const x = rec.extension;
  assert.equal(x.get('externalId'), e.id);
  assert.equal(x.get('rt'), String(Date.parse(`${e.time.slice(0, 19)}.${(/\.(\d+)/.exec(e.time)?.[1] ?? '').padEnd(3, '0').slice(0, 3)}Z`)));
  assert.equal(x.get('cat'), e.category);
  assert.equal(x.get('act'), e.action);
  assert.equal(x.get('outcome'), e.outcome);
  assert.equal(x.get('suser'), e.actor);
  assert.equal(x.get('msg'), e.message);
  assert.equal(x.get('dvchost'), OPTS.hostname);
  assert.equal(labelled(rec, 'tenant'), e.tenant);
  assert.equal(x.get('cs1'), e.tenant);
  assert.equal(labelled(rec, 'target'), e.target);
  assert.deepEqual(JSON.parse(labelled(rec, 'attributes') as string), e.attributes);
  assert.equal(labelled(rec, 'seq'), String(e.seq));
  if (e.category === 'audit') {
    assert.equal(labelled(rec, 'hash'), e.hash);
    assert.equal(labelled(rec, 'prev_hash'), e.prevHash);
  } else {
    assert.equal(labelled(rec, 'confidence'), String(e.confidence));
    assert.equal(labelled(rec, 'signal_id'), e.signalId);
    assert.equal(labelled(rec, 'incident_id'), e.incidentId);
  }
  if (x.has('dst')) assert.equal(isIP(x.get('dst') as string), 4, 'dst only ever carries an IPv4 address');
  if (x.has('c6a3')) assert.equal(isIP(x.get('c6a3') as string), 6);
  return rec;
}

describe('CEF', () => {
  const events = stressEvents();
  const lines = FORMATTERS.cef.batch(events, OPTS).toString('utf8').split('\n');

  it('frames a batch as one line per event', () => {
    assert.equal(lines.pop(), '');
    assert.equal(lines.length, events.length);
  });

  it('every stress event parses as CEF:0 with escaped header and extension and carries every canonical field', () => {
    events.forEach((e, i) => checkRecord(e, lines[i] as string));
  });

  it('header fields escape | and \\; extension values escape \\, =, CR and LF', () => {
    const pipeEvent = events.find((e) => e.actor === 'user:pipe|and=equals') as SiemEvent;
    const line = cefRecord({ ...pipeEvent, message: 'a|b\\c=d\r\ne' }, OPTS);
    assert.ok(line.includes('|a\\|b\\\\c=d  e|'), 'name: pipe and backslash escaped, = left alone, line break as space');
    assert.ok(line.includes(' msg=a|b\\\\c\\=d\\r\\ne '), 'msg: backslash, = and CR LF escaped, pipe left alone');
    assert.ok(line.includes(' suser=user:pipe|and\\=equals '));
  });

  it('tenant is cs1 with cs1Label=tenant and is the drained tenant', () => {
    for (const line of lines) {
      const rec = parseCef(line);
      assert.equal(rec.extension.get('cs1Label'), 'tenant');
      assert.equal(rec.extension.get('cs1'), TENANT);
    }
  });

  it('dst only for an IPv4 target; IPv6 in labelled c6a3; host names in dhost; audit targets never become destinations', () => {
    const byTarget = new Map(events.map((e, i) => [`${e.category}:${e.target}`, parseCef(lines[i] as string).extension]));
    const v4 = byTarget.get('threat:198.51.100.20:25');
    assert.equal(v4?.get('dst'), '198.51.100.20');
    assert.equal(v4?.get('dpt'), '25');
    const v6 = byTarget.get('threat:2001:db8::7');
    assert.equal(v6?.get('dst'), undefined);
    assert.equal(v6?.get('c6a3'), '2001:db8::7');
    assert.equal(byTarget.get('threat:[2001:db8::1]:8443')?.get('c6a3'), '2001:db8::1');
    assert.equal(byTarget.get('threat:portal.example.com:443')?.get('dhost'), 'portal.example.com');
    assert.equal(byTarget.get('threat:not a host')?.has('dhost'), false);
    for (const [k, ext] of byTarget) {
      if (k.startsWith('audit:')) for (const key of ['dst', 'dhost', 'dpt', 'c6a3']) assert.equal(ext.has(key), false, `${k} has ${key}`);
    }
  });

  it('property: arbitrary text in every field keeps eight header fields, one line, dictionary keys and exact values', () => {
    fc.assert(fc.property(siemEvent, (e) => {
      const line = cefRecord(e, OPTS);
      assert.doesNotMatch(line, /[\r\n]/);
      checkRecord(e, line);
    }), { numRuns: 500 });
  });
});
