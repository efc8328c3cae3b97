import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { normalizeTime, siemEventId, timeParts } from '../../src/siem/event.ts';

describe('canonical event helpers', () => {
  it('siemEventId is a deterministic UUIDv5 of tenant, stream and seq', () => {
    const id = siemEventId('t1', 'audit', 7);
    assert.equal(id, siemEventId('t1', 'audit', 7));
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ids = new Set([id, siemEventId('t1', 'audit', 8), siemEventId('t1', 'threat', 7), siemEventId('t2', 'audit', 7), siemEventId('t1/audit', 'audit', 7)]);
    assert.equal(ids.size, 5);
  });

  it('normalizeTime converts any RFC 3339 offset to UTC and keeps every fraction digit', () => {
    assert.equal(normalizeTime('2025-01-01T00:30:00+01:00'), '2024-12-31T23:30:00Z');
    assert.equal(normalizeTime('2025-01-01T00:30:00.123456789-00:30'), '2025-01-01T01:00:00.123456789Z');
    assert.equal(normalizeTime('2025-01-01t00:30:00z'), '2025-01-01T00:30:00Z');
    assert.equal(normalizeTime(new Date('2025-01-01T00:00:00.5Z')), '2025-01-01T00:00:00.500Z');
    for (const bad of ['2025-02-29T00:00:00Z', '2025-01-01T24:00:00Z', '2025-01-01T00:00:60Z', '2025-01-01', '1969-12-31T23:59:59Z', '2025-01-01T00:00:00.1234567890Z', '2025-01-01T00:00:00+24:00']) {
      assert.equal(normalizeTime(bad), undefined, bad);
    }
  });

  it('timeParts splits a canonical time and refuses anything else', () => {
    assert.deepEqual(timeParts('2025-01-01T00:00:01.25Z'), { epochSeconds: 1735689601, fraction: '25', wholeSeconds: '2025-01-01T00:00:01' });
    assert.throws(() => timeParts('2025-01-01T00:00:01+00:00'), { code: 'PROBECTL_ERR_SIEM_ENCODING' });
  });

  it('property: timeParts accepts exactly the canonical times a reference parser accepts', () => {
    const reference = (t: string): boolean => {
      const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z$/.exec(t);
      if (!m) return false;
      const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
      return Number(m[1]) >= 1970 && Number(m[6]) <= 59 && new Date(ms).toISOString().slice(0, 19) === t.slice(0, 19);
    };
    const nearly = fc.tuple(fc.stringMatching(/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$/), fc.constantFrom('', '.', '.1', '.123456789', '.1234567890', 'x'), fc.constantFrom('Z', 'z', '', '+00:00'))
      .map(([a, b, c]) => a + b + c);
    fc.assert(fc.property(fc.oneof(nearly, fc.string()), (t) => {
      let ok = true;
      try {
        timeParts(t);
      } catch {
        ok = false;
      }
      assert.equal(ok, reference(t), t);
    }), { numRuns: 2000 });
  });
});
