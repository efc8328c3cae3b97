import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { InboundChange } from '../../../src/notify/providers/types.ts';

type Parse = (body: unknown) => InboundChange | { ignore: string };

/** Asserts a parser's answer is one of the documented shapes: `{ignore}` or a change with a ref and/or an incident key. */
export function assertInboundShape(out: unknown): void {
  assert.equal(typeof out, 'object');
  assert.notEqual(out, null);
  const o = out as Record<string, unknown>;
  if ('ignore' in o) {
    assert.deepEqual(Object.keys(o), ['ignore']);
    assert.equal(typeof o.ignore, 'string');
    assert.ok((o.ignore as string).length > 0 && (o.ignore as string).length <= 200);
    return;
  }
  assert.ok(o.status === 'acknowledged' || o.status === 'resolved', `status ${String(o.status)}`);
  for (const k of Object.keys(o)) assert.ok(['ref', 'incidentKey', 'status'].includes(k), `unexpected key ${k}`);
  assert.ok(o.ref !== undefined || o.incidentKey !== undefined, 'neither ref nor incidentKey');
  for (const k of ['ref', 'incidentKey'] as const) {
    if (o[k] === undefined) continue;
    assert.equal(typeof o[k], 'string');
    assert.ok((o[k] as string).length > 0 && (o[k] as string).length <= 512);
  }
}

/**
 * fast-check property: on arbitrary JSON values, and on values shaped like
 * the vendor's webhook with arbitrary leaves, the parser never throws and
 * only returns the documented shapes.
 */
export function checkInboundProperty(parse: Parse, shaped: fc.Arbitrary<unknown>, numRuns = 2_000): void {
  const leaf = fc.oneof(fc.anything(), fc.jsonValue());
  fc.assert(fc.property(fc.oneof(leaf, shaped), (body) => {
    assertInboundShape(parse(body));
  }), { numRuns });
}
