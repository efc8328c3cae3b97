import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { InboundConfig } from '../../src/notify/config/connectors.ts';
import { authenticateInbound } from '../../src/notify/inbound/auth.ts';
import { probectlSignature } from '../../src/notify/providers/shared/signing.ts';
import { webhook } from '../../src/notify/providers/webhook/index.ts';
import { EnvBackend } from '../../src/secrets/backends/env.ts';
import { SecretResolver } from '../../src/secrets/resolver.ts';

/** authenticateInbound during a secret rotation (an inbound id listed twice; docs/oncall.md "Inbound webhooks"). */
describe('inbound authentication with a rotation', () => {
  const env: NodeJS.ProcessEnv = { OLD_INBOUND: 'cnry-old-inbound-81' };
  const secrets = new SecretResolver({ backends: [new EnvBackend(env)], leaseMs: 1 });
  after(() => secrets.close());
  const inbound: InboundConfig = {
    id: 'rot', position: 2, tenant: '7d9c2f4e-1b3a-4c5d-8e6f-0a1b2c3d4e5f', provider: webhook, connectors: ['webhook-0123456789'],
    secret: { scheme: 'literal', value: 'cnry-new-inbound-82' }, previous: { scheme: 'env', name: 'OLD_INBOUND' },
  };
  const body = Buffer.from('{"external_ref":"x","status":"resolved"}');
  const now = Date.now();
  const signed = (secret: string) => ({ 'x-probectl-timestamp': String(Math.floor(now / 1000)), 'x-probectl-signature': probectlSignature(secret, Math.floor(now / 1000), body) });

  it('accepts either secret, marks the previous one, refuses any other with the current secret\'s reason', async () => {
    assert.deepEqual(await authenticateInbound(inbound, body, { 'x-probectl-token': 'cnry-new-inbound-82' }, secrets, now), { ok: true, method: 'token' });
    assert.deepEqual(await authenticateInbound(inbound, body, { 'x-probectl-token': 'cnry-old-inbound-81' }, secrets, now), { ok: true, method: 'token', previous: true });
    const old = await authenticateInbound(inbound, body, signed('cnry-old-inbound-81'), secrets, now);
    assert.deepEqual([old.ok, old.ok && old.previous], [true, true]);
    assert.deepEqual(await authenticateInbound(inbound, body, signed('cnry-other'), secrets, now), { ok: false, reason: 'X-Probectl-Signature does not match the body' });
    const stale = await authenticateInbound(inbound, body, signed('cnry-old-inbound-81'), secrets, now + 600_000);
    assert.deepEqual(stale, { ok: false, reason: 'X-Probectl-Timestamp is outside the 5-minute window' }, 'the previous secret gets no wider window');
  });

  it('a previous secret that no longer resolves (its entry removed mid-rotation) refuses, not errors, and says so', async () => {
    delete env.OLD_INBOUND;
    await new Promise((r) => setTimeout(r, 5)); // past the 1 ms lease
    assert.deepEqual(await authenticateInbound(inbound, body, { 'x-probectl-token': 'cnry-new-inbound-82' }, secrets, now), { ok: true, method: 'token' }, 'the current secret still works');
    const refused = await authenticateInbound(inbound, body, { 'x-probectl-token': 'cnry-old-inbound-81' }, secrets, now);
    assert.deepEqual(refused, { ok: false, reason: 'wrong X-Probectl-Token (the previous secret of the rotation could not be resolved)' });
  });
});
