import { createHmac } from 'node:crypto';
import { safeEqual } from './answers.ts';

/**
 * probectl's webhook signature (docs/oncall.md "Signing"), the same both ways:
 * the generic `webhook` provider signs what it sends, inbound deliveries to
 * /ingest/itsm/… are checked with it, `probectl webhook sign` prints it.
 *
 *   X-Probectl-Timestamp: <unix seconds>
 *   X-Probectl-Signature: sha256=<hex HMAC-SHA256 over "<timestamp>.<raw body>" under the shared secret>
 */

export const TIMESTAMP_HEADER = 'x-probectl-timestamp';
export const SIGNATURE_HEADER = 'x-probectl-signature';
export const TOKEN_HEADER = 'x-probectl-token';

/** How far a timestamp may be from now, either way. */
export const SIGNATURE_WINDOW_SECONDS = 300;

/** `sha256=<hex>` of `<timestamp>.<body>` under `secret`. */
export function probectlSignature(secret: string, timestamp: number | string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/** The two headers to send with `body` at `nowMs`. */
export function signedHeaders(secret: string, body: Buffer | string, nowMs: number): Record<string, string> {
  const ts = Math.floor(nowMs / 1000);
  return { [TIMESTAMP_HEADER]: String(ts), [SIGNATURE_HEADER]: probectlSignature(secret, ts, body) };
}

export type SignatureCheck = 'valid' | 'malformed' | 'stale' | 'mismatch';

/**
 * Checks a signature header against the raw body: a well-formed header, a
 * timestamp of digits within the window of `nowMs`, and an HMAC that matches
 * (compared in constant time).
 */
export function checkProbectlSignature(secret: string, timestamp: string | undefined, signature: string | undefined, body: Buffer, nowMs: number): SignatureCheck {
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp) || !/^sha256=[0-9a-fA-F]{64}$/.test(signature)) return 'malformed';
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SIGNATURE_WINDOW_SECONDS) return 'stale';
  return safeEqual(probectlSignature(secret, timestamp, body), signature.toLowerCase()) ? 'valid' : 'mismatch';
}
