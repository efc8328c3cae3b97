import type { SecretResolver } from '../../secrets/resolver.ts';
import { safeEqual } from '../providers/shared/answers.ts';
import { checkProbectlSignature, SIGNATURE_HEADER, TIMESTAMP_HEADER, TOKEN_HEADER } from '../providers/shared/signing.ts';
import type { InboundConfig } from '../config/connectors.ts';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/**
 * How a delivery authenticated; `signature` is set for probectl HMAC deliveries (checked for replay
 * when applied); `previous`: under the previous secret of a rotation (InboundConfig.previous).
 */
export type InboundAuth =
  | { ok: true; method: 'hmac' | 'token' | 'vendor'; signature?: string; previous?: true }
  | { ok: false; reason: string };

function one(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

/**
 * Authenticates an inbound delivery over its raw bytes, before anything is
 * parsed (docs/oncall.md "Inbound webhooks"), with the credential's secret
 * resolved at use time:
 *
 * 1. `X-Probectl-Signature` present: `sha256=` HMAC over
 *    "<X-Probectl-Timestamp>.<raw body>", the timestamp within 5 minutes;
 * 2. else `X-Probectl-Token` present: equal to the secret (constant time);
 * 3. else the provider's own signature (Jira X-Hub-Signature, PagerDuty
 *    X-PagerDuty-Signature), where it has one.
 *
 * During a rotation (the id listed twice) the current secret is tried first,
 * then the previous one; a refusal gives the current secret's reason.
 * Anything else is refused. Reasons name the check, never a value.
 */
export async function authenticateInbound(inbound: InboundConfig, raw: Buffer, headers: Headers, secrets: SecretResolver, nowMs: number): Promise<InboundAuth> {
  const current = await authenticateWith(inbound, inbound.secret, raw, headers, secrets, nowMs);
  if (current.ok || !inbound.previous) return current;
  let previous: InboundAuth;
  try {
    previous = await authenticateWith(inbound, inbound.previous, raw, headers, secrets, nowMs);
  } catch {
    // The previous secret's reference no longer resolves (its store entry removed mid-rotation): the
    // delivery is judged by the current secret alone, and the refusal's audit reason says so.
    return { ok: false, reason: `${current.reason} (the previous secret of the rotation could not be resolved)` };
  }
  return previous.ok ? { ...previous, previous: true } : current;
}

async function authenticateWith(inbound: InboundConfig, secretRef: InboundConfig['secret'], raw: Buffer, headers: Headers, secrets: SecretResolver, nowMs: number): Promise<InboundAuth> {
  const signature = one(headers[SIGNATURE_HEADER]);
  const token = one(headers[TOKEN_HEADER]);
  return secrets.use(secretRef, (plaintext): InboundAuth => {
    const secret = plaintext.toString('utf8');
    if (signature !== undefined) {
      const check = checkProbectlSignature(secret, one(headers[TIMESTAMP_HEADER]), signature, raw, nowMs);
      switch (check) {
        case 'valid':
          return { ok: true, method: 'hmac', signature: signature.toLowerCase() };
        case 'malformed':
          return { ok: false, reason: 'malformed X-Probectl-Timestamp or X-Probectl-Signature' };
        case 'stale':
          return { ok: false, reason: 'X-Probectl-Timestamp is outside the 5-minute window' };
        case 'mismatch':
          return { ok: false, reason: 'X-Probectl-Signature does not match the body' };
      }
    }
    if (token !== undefined) return safeEqual(token, secret) ? { ok: true, method: 'token' } : { ok: false, reason: 'wrong X-Probectl-Token' };
    const vendor = inbound.provider.verifyVendorSignature?.(raw, headers, secret) ?? 'absent';
    if (vendor === 'valid') return { ok: true, method: 'vendor' };
    if (vendor === 'invalid') return { ok: false, reason: `the ${inbound.provider.name} signature does not match the body` };
    return { ok: false, reason: 'unsigned: no X-Probectl-Signature, X-Probectl-Token or vendor signature' };
  });
}
