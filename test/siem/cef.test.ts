import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { SiemEvent } from '../../src/siem/event.ts';
import { cefRecord } from '../../src/siem/formatters/cef.ts';
import { FORMATTERS } from '../../src/siem/formatters/index.ts';
import { siemEvent, text } from './helpers/arb.ts';
import { formatOptions } from '../../src/siem/formatters/options.ts';
import { CEF_DICTIONARY, CEF_HEADER_LENGTH, CEF_KEY_TYPES, cefDictionaryProblems, CONTROL_CHARACTER, CUSTOM_FIELD, parseCef } from './helpers/cef.ts';
import { OPTS, stressEvents, TENANT } from './fixtures.ts';
import { parseJson } from '../../src/core/json.ts';

const SEVERITY = { info: 3, warning: 6, critical: 10 } as const;
const MARKER = '…[truncated]';
const CONTROLS = new RegExp(CONTROL_CHARACTER.source, 'g');
const u = (ch: string): string => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
/** What a header field shows for a text: line breaks as spaces, every other control character as the text \uXXXX. */
const headerText = (s: string): string => s.replace(/[\r\n]/g, ' ').replace(CONTROLS, u);
/** What an extension value holds for a text: CR and LF themselves (CEF escapes them), every other control character as \uXXXX. */
const extensionText = (s: string): string => s.replace(CONTROLS, (c) => (c === '\r' || c === '\n' ? c : u(c)));
const stringLength = (key: string): number => (CEF_KEY_TYPES[key] as { length: number }).length;

/** A value is the expected text whole when it fits, otherwise a prefix of it ending in the marker, within the limit. */
function fitted(actual: string | undefined, expected: string, max: number, what: string): boolean {
  assert.ok(actual !== undefined, `${what} is missing`);
  assert.ok(actual.length <= max, `${what}: ${actual.length} > ${max}`);
  if (expected.length <= max) {
    assert.equal(actual, expected, what);
    return false;
  }
  assert.ok(actual.endsWith(MARKER), `${what}: a cut value ends in the marker`);
  assert.ok(expected.startsWith(actual.slice(0, -MARKER.length)), `${what}: a cut value is a prefix of the value`);
  assert.ok(actual.length >= max - MARKER.length - 1, `${what}: cut no shorter than needed`);
  return true;
}

function labelled(rec: ReturnType<typeof parseCef>, label: string): string | undefined {
  for (const [k, v] of rec.extension) if (CUSTOM_FIELD.test(k) && rec.extension.get(`${k}Label`) === label) return v;
  return undefined;
}

function checkRecord(e: SiemEvent, line: string, opts = OPTS): ReturnType<typeof parseCef> {
  assert.doesNotMatch(line, CONTROL_CHARACTER, 'no control character anywhere in the line');
  const rec = parseCef(line);
  assert.deepEqual(cefDictionaryProblems(rec), [], 'every key has its dictionary type and length');
  assert.equal(rec.vendor, 'probectl');
  assert.equal(rec.product, 'probectl');
  fitted(rec.deviceVersion, headerText(opts.version), CEF_HEADER_LENGTH.deviceVersion, 'Device Version');
  fitted(rec.signatureId, headerText(e.action), CEF_HEADER_LENGTH.signatureId, 'Signature ID');
  fitted(rec.name, headerText(e.message), CEF_HEADER_LENGTH.name, 'Name');
  assert.equal(Number(rec.severity), SEVERITY[e.severity]);
  for (const k of rec.keys) {
    assert.ok(CEF_DICTIONARY.has(k), `extension key ${k} is not in the CEF dictionary`);
    if (CUSTOM_FIELD.test(k)) assert.ok(rec.extension.has(`${k}Label`), `custom field ${k} has no label`);
    if (k.endsWith('Label')) assert.ok(rec.extension.has(k.slice(0, -5)), `label ${k} labels nothing`);
  }
  const x = rec.extension;
  const ext = (key: string, value: string): boolean => fitted(x.get(key), extensionText(value), stringLength(key), key);
  assert.equal(x.get('externalId'), e.id);
  assert.equal(x.get('rt'), String(Date.parse(`${e.time.slice(0, 19)}.${(/\.(\d+)/.exec(e.time)?.[1] ?? '').padEnd(3, '0').slice(0, 3)}Z`)));
  assert.equal(x.get('cat'), e.category);
  ext('act', e.action);
  assert.equal(x.get('outcome'), e.outcome);
  ext('suser', e.actor);
  const msgCut = ext('msg', e.message);
  ext('dvchost', opts.hostname);
  assert.equal(labelled(rec, 'tenant'), x.get('cs1'));
  ext('cs1', e.tenant);
  assert.equal(labelled(rec, 'target'), x.get('cs2'));
  ext('cs2', e.target);
  const attributes = labelled(rec, 'attributes') as string;
  // The exact JSON text (control characters as JSON's own \uXXXX escapes) is the assertion: JSON.parse itself is not a
  // trustworthy oracle for keys here — V8 in Node 24 can read an escaped one-character key as `\` (nodejs/node#63785).
  if (!fitted(attributes, extensionText(JSON.stringify(e.attributes)), 4000, 'cs3')) assert.doesNotThrow(() => parseJson(attributes), 'cs3 is valid JSON');
  assert.equal(labelled(rec, 'seq'), String(e.seq));
  if (e.category === 'audit') {
    fitted(labelled(rec, 'hash'), extensionText(e.hash), 4000, 'hash');
    fitted(labelled(rec, 'prev_hash'), extensionText(e.prevHash), 4000, 'prev_hash');
  } else {
    assert.equal(labelled(rec, 'confidence'), String(e.confidence));
    fitted(labelled(rec, 'signal_id'), extensionText(e.signalId), 4000, 'signal_id');
    fitted(labelled(rec, 'incident_id'), extensionText(e.incidentId), 4000, 'incident_id');
  }
  if (msgCut) fitted(labelled(rec, 'message'), extensionText(e.message), 4000, 'cs6 message');
  else assert.equal(x.has('cs6'), false, 'cs6 only when msg was cut');
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

  it('no control character is ever written: ESC, BEL, DEL, NEL, other C0/C1, U+2028/U+2029 become the text \\uXXXX; CR and LF stay CEF escapes', () => {
    const nasty = 'a\u001b[31mred\u0007bell\u007fdel\u0085nel\u009bcsi\u2028ls\u2029ps\ttab\u0000nul\r\nz';
    const base = events.find((e) => e.category === 'threat') as SiemEvent;
    const e = { ...base, action: `ioc${nasty}`, actor: nasty, message: nasty, target: nasty, attributes: { [`k${nasty}`]: nasty, nested: [nasty] } } as SiemEvent;
    const line = cefRecord(e, OPTS);
    assert.doesNotMatch(line, CONTROL_CHARACTER);
    const rec = checkRecord(e, line);
    const shown = 'a\\u001b[31mred\\u0007bell\\u007fdel\\u0085nel\\u009bcsi\\u2028ls\\u2029ps\\u0009tab\\u0000nul';
    assert.equal(rec.extension.get('suser'), `${shown}\r\nz`);
    assert.equal(rec.name, `${shown}  z`);
    assert.deepEqual(parseJson(rec.extension.get('cs3') as string), e.attributes, 'the attributes JSON still parses to the original text');
    assert.ok(line.includes(' suser=a\\\\u001b[31mred'), 'on the wire the backslash of \\u001b is escaped like any backslash');
  });

  it('every value fits its CEF dictionary length; a longer one is cut with a visible marker, and a long message is kept whole in cs6', () => {
    const base = events.find((e) => e.category === 'audit') as SiemEvent;
    const message = `${'m'.repeat(1500)}😀${'n'.repeat(1500)}`;
    const e = { ...base, action: `a.${'b'.repeat(98)}`, actor: 'u'.repeat(2000), message, target: 't'.repeat(5000), attributes: { big: 'x'.repeat(10_000), after: 1 } } as SiemEvent;
    const opts = formatOptions({ hostname: `h${'o'.repeat(149)}.example`, version: '1.2.3-a-very-long-prerelease-tag.42' });
    const rec = checkRecord(e, cefRecord(e, opts), opts);
    const x = rec.extension;
    assert.deepEqual([x.get('act')?.length, x.get('suser')?.length, x.get('msg')?.length, x.get('cs2')?.length, x.get('cs3')?.length, x.get('dvchost')?.length], [63, 1023, 1023, 4000, 4000, 100]);
    for (const key of ['act', 'suser', 'msg', 'cs2', 'cs3', 'dvchost']) assert.ok(x.get(key)?.endsWith(MARKER), `${key} ends in the marker`);
    assert.equal(x.get('cs6'), message, 'the whole message (3,002 code units) travels in cs6');
    assert.equal(x.get('cs6Label'), 'message');
    assert.equal(rec.signatureId, e.action, 'Signature ID holds 1023');
    assert.equal(rec.name.length, 512);
    assert.equal(rec.deviceVersion.length, 31);
    // A surrogate pair is never split: the emoji sits across msg's cut at 1023 − 12.
    const cut = cefRecord({ ...e, message: `${'m'.repeat(1010)}😀tail${'n'.repeat(100)}` }, OPTS);
    assert.equal(parseCef(cut).extension.get('msg'), `${'m'.repeat(1010)}${MARKER}`);
  });

  it('an IPv6 target with a zone sends only the address in c6a3 (the zone-qualified text stays in cs2); nothing invalid reaches dst or c6a3', () => {
    const base = events.find((e) => e.category === 'threat') as SiemEvent;
    const dest = (target: string) => parseCef(cefRecord({ ...base, target }, OPTS)).extension;
    const zoned = dest('fe80::1%eth0');
    assert.deepEqual([zoned.get('c6a3'), zoned.get('c6a3Label'), zoned.get('cs2'), zoned.has('dst')], ['fe80::1', 'target address', 'fe80::1%eth0', false]);
    const bracketed = dest('[fe80::1%25eth0]:8443');
    assert.deepEqual([bracketed.get('c6a3'), bracketed.get('dpt'), bracketed.get('cs2')], ['fe80::1', '8443', '[fe80::1%25eth0]:8443']);
    for (const target of ['1.2.3.4%eth0', '01.2.3.4', '999.1.1.1', 'fe80::1%', '[::1]:99999', `${'h'.repeat(1100)}.example`]) {
      const x = dest(target);
      for (const key of ['dst', 'c6a3', 'dhost']) assert.equal(x.has(key), false, `${target}: no ${key}`);
      assert.equal(x.get('cs2'), target.length <= 4000 ? target : x.get('cs2'));
    }
    assert.equal(dest('198.51.100.7').get('dst'), '198.51.100.7');
  });

  it('property: any text in any field, control characters and lengths included: one line without a control character, every key within its dictionary type and length, parsed back to the event\'s values', () => {
    const long = fc.tuple(text(), fc.integer({ min: 0, max: 4500 })).map(([t, n]) => `${t}${'ż'.repeat(n)}${t}`);
    const any = fc.oneof({ weight: 3, arbitrary: text() }, { weight: 1, arbitrary: long });
    const event = fc.tuple(siemEvent, any, any, any, any, fc.constantFrom('fe80::1%eth0', '[fe80::2%en0]:443', '192.0.2.1:80', '2001:db8::3', 'host.example:22'), fc.boolean())
      .map(([e, action, actor, message, big, endpoint, useEndpoint]) => ({ ...e, action, actor, message, target: useEndpoint ? endpoint : e.target, attributes: { ...e.attributes, big } }) as SiemEvent);
    fc.assert(fc.property(event, (e) => {
      checkRecord(e, cefRecord(e, OPTS));
    }), { numRuns: 400 });
  });
});
