import { createSign, createVerify, type KeyLike } from 'node:crypto';

/** A compact JWS (RS256) over a JSON payload, signed with an RSA private key. */
export function signJwt(payload: Record<string, unknown>, privateKey: KeyLike, header: Record<string, unknown> = {}): string {
  const h = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', ...header })).toString('base64url');
  const p = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const signature = createSign('RSA-SHA256').update(`${h}.${p}`).sign(privateKey).toString('base64url');
  return `${h}.${p}.${signature}`;
}

export interface VerifiedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/**
 * Verifies an RS256 compact JWS with the public key (RFC 7515/7519): three
 * base64url parts, `alg` RS256, a valid signature, and `exp`/`iat` sane
 * against `now` (seconds). Throws with the reason otherwise.
 */
export function verifyJwt(jwt: string, publicKey: KeyLike, now = Math.floor(Date.now() / 1000)): VerifiedJwt {
  const parts = jwt.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) throw new Error('not a compact JWS');
  const [h, p, s] = parts as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>;
  if (header.alg !== 'RS256') throw new Error(`alg ${String(header.alg)} is not RS256`);
  if (!createVerify('RSA-SHA256').update(`${h}.${p}`).verify(publicKey, Buffer.from(s, 'base64url'))) throw new Error('signature does not verify');
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  if (typeof payload.exp !== 'number' || payload.exp <= now) throw new Error('expired or no exp');
  if (typeof payload.iat === 'number' && payload.iat > now + 300) throw new Error('issued in the future');
  return { header, payload };
}
