import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../../core/clock.ts';
import { parseRetryAfter } from '../../../core/retry/policy.ts';
import type { OperationResult, VendorAnswer } from '../types.ts';
import { clip } from './text.ts';
import { parseJson } from '../../../core/json.ts';

/**
 * Reading vendor answers, shared by providers: a short printable excerpt of a
 * body (secrets scrubbed), JSON parsing that never throws, the vendor's error
 * message, and the common status classification each provider refines in its
 * own classify (only what is truly its vendor's stays there).
 */

const MAX_EXCERPT = 300;

/** An answer that came back over HTTP. */
export type Answered = Extract<VendorAnswer, { kind: 'answered' }>;

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

/**
 * A body as one short printable line: secrets scrubbed, runs of whitespace and
 * control characters made one space, cut to 300 characters (ending with "…").
 * Scrubbed before and after the whitespace is folded, so neither form of a
 * secret survives.
 */
export function excerpt(body: Buffer | string, secrets: readonly (string | undefined)[] = []): string {
  const text = scrub(typeof body === 'string' ? body : body.toString('utf8'), secrets);
  return clip(scrub(text.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim(), secrets), MAX_EXCERPT);
}

/** The body parsed as JSON, or undefined. */
export function jsonOf(answer: Answered): unknown {
  try {
    return parseJson(answer.body.toString('utf8')) as unknown;
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

/**
 * The vendor's explanation in an error answer as one short line (see
 * excerpt): `pick` names the parts of its JSON object body (non-string and
 * blank parts are dropped, the rest joined with `separator`). A body that is
 * not a JSON object (a proxy's HTML page, a plain-text code) is shown as an
 * excerpt of itself.
 */
export function errorDetail(answer: Answered, secrets: readonly (string | undefined)[], pick: (body: Record<string, unknown>) => readonly unknown[], separator = '; '): string {
  const body = jsonOf(answer);
  if (!isRecord(body)) return excerpt(answer.body, secrets);
  return excerpt(pick(body).filter((p): p is string => typeof p === 'string' && p.trim() !== '').join(separator), secrets);
}

/** The answer's Retry-After (delta seconds or an HTTP date) in milliseconds from now, or undefined. */
export function retryAfter(answer: Answered, clock: Clock): number | undefined {
  return parseRetryAfter(answer.headers['retry-after'], clock.now());
}

/** How classifyStatus reads one vendor's answers. */
export interface StatusReading {
  /** The vendor as reasons name it: "Opsgenie answered 422: …", "Opsgenie unreachable: …". */
  readonly what: string;
  /** The vendor's explanation of an error answer, one line (see errorDetail); default: an excerpt of the body. */
  readonly detail?: (a: Answered) => string;
  /** Scrubbed from every reason: the credential and anything derived from it. */
  readonly secrets?: readonly (string | undefined)[];
  /** What the operator should check when 401 or 403 pauses the connector (appended in parentheses). */
  readonly check?: Readonly<Partial<Record<401 | 403, string>>>;
}

/**
 * The usual reading of an answer, which a provider refines with its vendor's
 * own cases:
 *
 * | answer                                   | result |
 * |------------------------------------------|--------|
 * | 2xx                                      | ok |
 * | 408, 425, 429, 5xx                       | retryable, Retry-After honoured |
 * | 401, 403                                 | paused: the credential is refused (an alarm, nothing skipped) |
 * | any other status                         | permanent, with the status |
 * | no answer (reset, refused, timeout)      | retryable |
 * | TLS verification failed                  | paused |
 *
 * Reasons read "<what> answered <status>: <detail>" or "<what> unreachable:
 * <why>", secrets scrubbed.
 */
export function classifyStatus(answer: VendorAnswer, clock: Clock, reading: StatusReading): OperationResult {
  const secrets = reading.secrets ?? [];
  if (answer.kind === 'failed') {
    const reason = `${reading.what} unreachable: ${scrub(answer.reason, secrets)}`;
    return answer.alarm ? { kind: 'paused', reason } : { kind: 'retryable', reason };
  }
  const s = answer.status;
  if (s >= 200 && s < 300) return { kind: 'ok' };
  const detail = reading.detail ? reading.detail(answer) : excerpt(answer.body, secrets);
  const why = `${reading.what} answered ${s}${detail === '' ? '' : `: ${detail}`}`;
  if (s === 401 || s === 403) return paused({ reason: why }, s === 401 ? reading.check?.[401] : reading.check?.[403]);
  if (s === 408 || s === 425 || s === 429 || s >= 500) return { kind: 'retryable', reason: why, retryAfterMs: retryAfter(answer, clock) };
  return { kind: 'permanent', reason: why, status: s };
}

/**
 * A refusal that is the connector's misconfiguration rather than the
 * operation's (a wrong key, a deleted workflow): the same reason, paused, with
 * what the operator should check.
 */
export function paused(refusal: { readonly reason: string }, check?: string): OperationResult {
  return { kind: 'paused', reason: check === undefined ? refusal.reason : `${refusal.reason} (${check})` };
}

/** Constant-time comparison of two strings: their SHA-256 digests are compared, so neither content nor length shows in the timing. */
export function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a, 'utf8').digest();
  const y = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(x, y) && a === b;
}
