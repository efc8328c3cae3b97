import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { SiemEvent } from '../../src/siem/event.ts';
import { FORMATTERS } from '../../src/siem/formatters/index.ts';
import { formatOptions } from '../../src/siem/formatters/options.ts';
import { syslogRecord } from '../../src/siem/formatters/syslog.ts';
import { siemEvent } from './helpers/arb.ts';
import { parse5424, rfcUnescape, sdParams } from './helpers/rfc5424.ts';
import { OPTS, stressEvents, TENANT } from './fixtures.ts';
import { parseJson } from '../../src/core/json.ts';

const SEVERITY_CODE = { info: 6, warning: 4, critical: 2 } as const;

function expectedParams(e: SiemEvent): Map<string, string> {
  const m = new Map<string, string>([
    ['tenant', e.tenant], ['id', e.id], ['category', e.category], ['action', e.action], ['severity', e.severity], ['actor', e.actor],
    ['target', e.target], ['outcome', e.outcome], ['seq', String(e.seq)],
  ]);
  if (e.category === 'audit') {
    m.set('hash', e.hash).set('prev_hash', e.prevHash);
  } else {
    m.set('kind', e.kind).set('confidence', String(e.confidence)).set('signal_id', e.signalId).set('incident_id', e.incidentId);
  }
  return m.set('attributes', JSON.stringify(e.attributes));
}

function checkRecord(e: SiemEvent, line: string, opts = OPTS): void {
  assert.doesNotMatch(line, /[\r\n]/, 'a record is one line');
  const m = parse5424(line);
  assert.equal(m.version, 1);
  assert.equal(m.facility, opts.syslogFacility);
  assert.equal(m.severity, SEVERITY_CODE[e.severity]);
  assert.equal(m.hostname, opts.hostname);
  assert.equal(m.appName, 'probectl');
  assert.equal(m.procId, '-');
  assert.ok(m.msgId === '-' || (m.msgId.length <= 32 && /^[\x21-\x7e]+$/.test(m.msgId)));
  assert.equal(m.sd.length, 1);
  const params = sdParams(m, `probectl@${opts.syslogPen}`);
  assert.deepEqual([...params], [...expectedParams(e)]);
  assert.deepEqual(parseJson(params.get('attributes') as string), e.attributes);
  const ts = Date.parse(m.timestamp);
  const fraction = /\.(\d+)/.exec(e.time)?.[1] ?? '';
  assert.equal(m.timestamp, `${e.time.slice(0, 19)}${fraction === '' ? '' : `.${fraction.slice(0, 6)}`}Z`);
  assert.ok(Number.isFinite(ts));
  if (e.message === '') {
    assert.equal(m.msg, undefined);
  } else {
    assert.equal(m.bom, true, 'a UTF-8 MSG starts with the BOM');
    assert.equal(m.msg?.replace(/\\(u[0-9a-f]{4}|[nrt\\])/g, (_x, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c === '\\' ? '\\' : String.fromCharCode(parseInt(c.slice(1), 16)))), e.message);
  }
}

describe('syslog (RFC 5424)', () => {
  const events = stressEvents();
  const lines = FORMATTERS.syslog.batch(events, OPTS).toString('utf8').split('\n');

  it('frames a batch as one line per event, newline-terminated', () => {
    assert.equal(lines.pop(), '');
    assert.equal(lines.length, events.length);
  });

  it('every stress event follows the RFC 5424 grammar and carries every canonical field', () => {
    events.forEach((e, i) => checkRecord(e, lines[i] as string));
  });

  it('PRI is facility*8 + severity: 13*8+6 for info, +4 for warning, +2 for critical', () => {
    const pris = lines.map((l) => Number(/^<(\d+)>/.exec(l)?.[1]));
    events.forEach((e, i) => assert.equal(pris[i], 13 * 8 + SEVERITY_CODE[e.severity]));
    assert.ok(pris.includes(110) && pris.includes(108) && pris.includes(106));
  });

  it('TIMESTAMP keeps at most 6 fraction digits, cutting (not rounding) nanoseconds, in UTC', () => {
    const nano = events.find((e) => e.time === '2025-03-01T13:00:00.123456789Z') as SiemEvent;
    assert.equal(parse5424(syslogRecord(nano, OPTS)).timestamp, '2025-03-01T13:00:00.123456Z');
    const offset = events.find((e) => e.time === '2025-03-01T12:00:00.5Z') as SiemEvent;
    assert.equal(parse5424(syslogRecord(offset, OPTS)).timestamp, '2025-03-01T12:00:00.5Z', 'a +02:00 time was normalised to UTC');
    assert.equal(parse5424(syslogRecord({ ...nano, time: '2025-03-01T23:59:59.9999999Z' }, OPTS)).timestamp, '2025-03-01T23:59:59.999999Z');
    assert.equal(parse5424(syslogRecord({ ...nano, time: '2025-03-01T23:59:59Z' }, OPTS)).timestamp, '2025-03-01T23:59:59Z');
  });

  it('MSGID is the action in at most 32 printable ASCII characters, NILVALUE when empty', () => {
    const [empty, long] = [events.find((e) => e.action === ''), events.find((e) => e.action.startsWith('xxxx'))] as [SiemEvent, SiemEvent];
    assert.equal(parse5424(syslogRecord(empty, OPTS)).msgId, '-');
    assert.equal(parse5424(syslogRecord(long, OPTS)).msgId, 'x'.repeat(32));
    assert.equal(parse5424(syslogRecord({ ...long, action: 'a b\tü' }, OPTS)).msgId, 'a_b__');
  });

  it('the three characters RFC 5424 requires are escaped, so a plain RFC reader recovers values without control characters', () => {
    const e = events[0] as SiemEvent;
    const raw = new Map(parse5424(syslogRecord(e, OPTS)).sd[0]?.params);
    assert.equal(raw.get('actor'), 'token:\\"quoted\\" \\\\back\\\\slash');
    assert.equal(rfcUnescape(raw.get('actor') as string), e.actor);
    assert.equal(rfcUnescape(raw.get('target') as string), 'token:]bracket]');
  });

  it('the enterprise number and facility come from the options; the tenant is the first parameter', () => {
    const opts = formatOptions({ hostname: 'h', version: '1', syslogPen: 12345, syslogFacility: 4 });
    const e = events[1] as SiemEvent;
    const line = syslogRecord(e, opts);
    checkRecord(e, line, opts);
    assert.match(line, /^<36>1 .* \[probectl@12345 tenant="3b8e1f2a-4c5d-4e6f-8a9b-0c1d2e3f4a5b" /);
    assert.equal(sdParams(parse5424(line), 'probectl@12345').get('tenant'), TENANT);
  });

  it('option checks: host name printable ASCII, PEN positive, facility 0-23', () => {
    assert.throws(() => formatOptions({ hostname: 'bad host', version: '1' }), { code: 'PROBECTL_ERR_SIEM_ENCODING' });
    assert.throws(() => formatOptions({ hostname: 'hôst', version: '1' }), { code: 'PROBECTL_ERR_SIEM_ENCODING' });
    assert.throws(() => formatOptions({ hostname: 'h', version: '1', syslogPen: 0 }), { code: 'PROBECTL_ERR_SIEM_ENCODING' });
    assert.throws(() => formatOptions({ hostname: 'h', version: '1', syslogFacility: 24 }), { code: 'PROBECTL_ERR_SIEM_ENCODING' });
    assert.equal(formatOptions({ hostname: 'h', version: '1' }).syslogPen, 32473);
  });

  it('property: arbitrary text in every field never breaks the line, the grammar or the structured data', () => {
    fc.assert(fc.property(siemEvent, (e) => {
      checkRecord(e, syslogRecord(e, OPTS));
    }), { numRuns: 500 });
  });

  it('a time that is not canonical is refused with PROBECTL_ERR_SIEM_ENCODING, never rendered', () => {
    const e = events[0] as SiemEvent;
    for (const time of ['2025-03-01 12:00:00Z', '2025-02-30T00:00:00Z', '1969-12-31T23:59:59Z', '2025-03-01T12:00:60Z', '2025-03-01T12:00:00+01:00']) {
      assert.throws(() => syslogRecord({ ...e, time }, OPTS), { code: 'PROBECTL_ERR_SIEM_ENCODING' }, time);
    }
  });
});
