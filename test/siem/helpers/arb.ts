import fc from 'fast-check';
import type { JsonValue, SiemEvent } from '../../../src/siem/event.ts';
import { siemEventId } from '../../../src/siem/event.ts';

/** Any well-formed Unicode text, control characters and the formats' special characters included. */
export const text = (maxLength = 40): fc.Arbitrary<string> => fc.oneof(
  fc.string({ unit: 'binary', maxLength }).map((s) => s.toWellFormed()),
  fc.string({ unit: fc.constantFrom('"', '\\', ']', '[', '|', '=', '\r', '\n', '\t', ' ', 'a', 'ü', '😀', '\u0000', '\u007f', '@'), maxLength }),
);

const json: fc.Arbitrary<JsonValue> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null), fc.boolean(), fc.integer({ min: -1e9, max: 1e9 }), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
    text(), fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(text(12), tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value as fc.Arbitrary<JsonValue>;

export const attributes = fc.dictionary(text(12), json, { maxKeys: 5, noNullPrototype: true }) as fc.Arbitrary<Record<string, JsonValue>>;

const time = fc.tuple(fc.date({ min: new Date(0), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), fc.stringMatching(/^\d{0,9}$/))
  .map(([d, frac]) => `${d.toISOString().slice(0, 19)}${frac === '' ? '' : `.${frac}`}Z`);

/** A random canonical event: every string field arbitrary, the tenant too. */
export const siemEvent: fc.Arbitrary<SiemEvent> = fc.record({
  tenant: text(36).filter((t) => t.trim() !== ''), audit: fc.boolean(), seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), time,
  action: text(), actor: text(), target: text(), message: text(80), attributes,
  severity: fc.constantFrom('info', 'warning', 'critical' as const), hash: text(), prevHash: text(), kind: text(),
  confidence: fc.integer({ min: 0, max: 100 }), signalId: text(), incidentId: text(),
  outcome: fc.constantFrom('success', 'failure', 'denied', 'unknown' as const),
}).map((r): SiemEvent => {
  const base = {
    id: siemEventId(r.tenant, r.audit ? 'audit' : 'threat', r.seq), time: r.time, tenant: r.tenant, action: r.action, severity: r.severity,
    actor: r.actor, target: r.target, outcome: r.outcome, message: r.message, attributes: r.attributes, seq: r.seq,
  };
  return r.audit
    ? { ...base, category: 'audit', hash: r.hash, prevHash: r.prevHash }
    : { ...base, category: 'threat', kind: r.kind, confidence: r.confidence, signalId: r.signalId, incidentId: r.incidentId };
});
