import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FailureAuditLimiter } from '../../src/notify/inbound/limiter.ts';
import { parsePortable } from '../../src/notify/inbound/portable.ts';
import { NOTIFY_PROVIDERS } from '../../src/notify/providers/registry.ts';
import { checkProbectlSignature, probectlSignature } from '../../src/notify/providers/shared/signing.ts';
import type { InboundChange } from '../../src/notify/providers/types.ts';

const KEY = 'probectl-5b3c0b8e-7d6f-4a51-9e2b-1f0c3d4e5a6b';

/** A parser's answer is a change with a valid status and bounded strings, or a reason to ignore. */
function wellFormed(r: InboundChange | { ignore: string } | { invalid: string } | undefined): void {
  if (r === undefined) return;
  if ('ignore' in r) return assert.equal(typeof r.ignore, 'string');
  if ('invalid' in r) return assert.equal(typeof r.invalid, 'string');
  assert.ok(r.status === 'acknowledged' || r.status === 'resolved');
  assert.ok(r.ref !== undefined || r.incidentKey !== undefined);
  for (const s of [r.ref, r.incidentKey]) if (s !== undefined) assert.ok(typeof s === 'string' && s.length >= 1 && s.length <= 256);
}

/** Values shaped like each vendor's webhook, with every field free to be anything. */
const shaped = fc.oneof(
  fc.jsonValue({ maxDepth: 5 }),
  fc.record({ external_ref: fc.oneof(fc.string(), fc.constant(KEY), fc.jsonValue({ maxDepth: 1 })), status: fc.oneof(fc.constantFrom('acknowledged', 'resolved'), fc.jsonValue({ maxDepth: 1 })), extra: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }),
  fc.record({ webhookEvent: fc.oneof(fc.constant('jira:issue_updated'), fc.string()), issue: fc.record({ key: fc.oneof(fc.string(), fc.integer()), fields: fc.record({ labels: fc.oneof(fc.array(fc.oneof(fc.constant(KEY), fc.string())), fc.jsonValue({ maxDepth: 1 })), status: fc.record({ statusCategory: fc.record({ key: fc.oneof(fc.constantFrom('done', 'new'), fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: [] }) }, { requiredKeys: [] }) }, { requiredKeys: [] }) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
  fc.record({ event: fc.record({ event_type: fc.oneof(fc.constantFrom('incident.resolved', 'incident.acknowledged', 'pagey.ping'), fc.string()), data: fc.record({ incident_key: fc.oneof(fc.constant(KEY), fc.string({ maxLength: 300 }), fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: [] }) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
);

describe('inbound parsers and signatures (fast-check)', () => {
  it('the portable parser and every provider\'s parseInbound never throw and answer a well-formed change, ignore or refusal', () => {
    const parsers = [parsePortable, ...NOTIFY_PROVIDERS.flatMap((p) => (p.parseInbound ? [p.parseInbound] : []))];
    assert.ok(parsers.length >= 3);
    fc.assert(fc.property(shaped, (v) => {
      for (const parse of parsers) wellFormed(parse(v));
    }), { numRuns: 3000 });
  });

  it('every vendor signature check and the probectl HMAC check never throw on arbitrary bytes and headers, and accept only the right signature', () => {
    const headers = fc.dictionary(fc.constantFrom('x-hub-signature', 'x-pagerduty-signature', 'x-probectl-signature', 'x-other'), fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }), fc.constant(undefined)));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), headers, fc.string({ minLength: 1 }), (bytes, h, secret) => {
      const raw = Buffer.from(bytes);
      for (const p of NOTIFY_PROVIDERS) {
        const v = p.verifyVendorSignature?.(raw, h, secret);
        if (v !== undefined) assert.ok(v === 'absent' || v === 'invalid', `${p.name}: random headers are never valid`);
      }
      const sig = h['x-probectl-signature'];
      assert.notEqual(checkProbectlSignature(secret, String(Math.floor(Date.now() / 1000)), typeof sig === 'string' ? sig : undefined, raw, Date.now()), 'valid');
    }), { numRuns: 2000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), fc.string({ minLength: 1 }), fc.integer({ min: -299, max: 299 }), (bytes, secret, skew) => {
      const raw = Buffer.from(bytes);
      const ts = Math.floor(Date.now() / 1000) + skew;
      assert.equal(checkProbectlSignature(secret, String(ts), probectlSignature(secret, ts, raw), raw, Date.now()), 'valid');
      assert.equal(checkProbectlSignature(`${secret}x`, String(ts), probectlSignature(secret, ts, raw), raw, Date.now()), 'mismatch');
      assert.equal(checkProbectlSignature(secret, String(ts + 700), probectlSignature(secret, ts + 700, raw), raw, Date.now()), 'stale');
    }), { numRuns: 500 });
  });

  it('the refusal audit limiter: 20 a minute per source, the held-back ones reported with the next record', () => {
    const l = new FailureAuditLimiter(20);
    const t0 = 1_000_000;
    for (let i = 0; i < 20; i++) assert.deepEqual(l.admit('10.0.0.1', t0 + i), { due: true, suppressed: 0 });
    for (let i = 0; i < 15; i++) assert.deepEqual(l.admit('10.0.0.1', t0 + 100 + i), { due: false });
    assert.deepEqual(l.admit('10.0.0.2', t0 + 200), { due: true, suppressed: 0 }, 'per source');
    assert.deepEqual(l.admit('10.0.0.1', t0 + 60_001), { due: true, suppressed: 15 });
  });
});
