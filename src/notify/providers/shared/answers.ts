import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../../core/clock.ts';
import { parseRetryAfter } from '../../../core/retry/policy.ts';
import type { OperationResult, VendorAnswer } from '../types.ts';

/**
 * Reading vendor answers, shared by providers: a short printable excerpt of a
 * body (secrets scrubbed), JSON parsing that never throws, and the common
 * status classification the providers refine.
 */

const MAX_EXCERPT = 300;

/** Replaces every occurrence of a secret (and its URL-encoded form) with [redacted]. */
export function scrub(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (s === undefined || s.length < 4) continue;
    out = out.split(s).join('[redacted]');
    const encoded = encodeURIComponent(s);
    if (encoded !== s) out = out.split(encoded).join('[redacted]');
  }
  return out;
}

/** A body as one short printable line: control characters removed, truncated, secrets scrubbed. */
export function excerpt(body: Buffer | string, secrets: readonly (string | undefined)[] = []): string {
  const text = (typeof body === 'string' ? body : body.toString('utf8')).replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  const short = [...scrub(text, secrets)].slice(0, MAX_EXCERPT).join('');
  return short.length < text.length ? `${short}…` : short;
}

/** The body parsed as JSON, or undefined. */
export function jsonOf(answer: Extract<VendorAnswer, { kind: 'answered' }>): unknown {
  try {
    return JSON.parse(answer.body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string field of an object, or undefined. */
export function str(o: unknown, key: string): string | undefined {
  return isRecord(o) && typeof o[key] === 'string' ? o[key] : undefined;
}

/** Truncates to at most `max` characters (code points). */
export function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * The usual reading of an answer: 2xx ok; 408, 425, 429 and 5xx retryable
 * (Retry-After honoured); 401 and 403 paused (the credential is refused: an
 * alarm, nothing skipped); any other status permanent. A failure below HTTP
 * (reset, refused, timeout) is retryable; a TLS verification failure pauses.
 * `what` names the vendor in reasons; `detail` is the vendor's message.
 */
export function classifyStatus(answer: VendorAnswer, clock: Clock, what: string, detail: (a: Extract<VendorAnswer, { kind: 'answered' }>) => string): OperationResult {
  if (answer.kind === 'failed') return answer.alarm ? { kind: 'paused', reason: `${what}: ${answer.reason}` } : { kind: 'retryable', reason: `${what}: ${answer.reason}` };
  const s = answer.status;
  if (s >= 200 && s < 300) return { kind: 'ok' };
  const why = `${what} answered ${s}${detailText(detail(answer))}`;
  if (s === 401 || s === 403) return { kind: 'paused', reason: why };
  if (s === 408 || s === 425 || s === 429 || s >= 500) return { kind: 'retryable', reason: why, retryAfterMs: parseRetryAfter(answer.headers['retry-after'], clock.now()) };
  return { kind: 'permanent', reason: why, status: s };
}

function detailText(d: string): string {
  return d === '' ? '' : `: ${d}`;
}

/** Constant-time comparison of two strings: their SHA-256 digests are compared, so neither content nor length shows in the timing. */
export function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a, 'utf8').digest();
  const y = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(x, y) && a === b;
}
