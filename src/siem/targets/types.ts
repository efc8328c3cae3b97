import type { SinkOutcome } from '../../delivery/outcome.ts';
import type { Sink } from '../../delivery/types.ts';
import type { SiemEvent } from '../event.ts';
import type { FormatOptions } from '../formatters/options.ts';
import type { Sender, TransportResult, WireRequest } from '../senders/types.ts';

export type { AckAnswer, AckTicket, Rejection, SinkOutcome } from '../../delivery/outcome.ts';

/**
 * A SIEM target: the delivery engine's sink for canonical events. It turns
 * events into requests for one kind of receiver and classifies its answers
 * (delivery/outcome.ts) in exactly one place. It never loops or sleeps: the
 * engine's one retry loop does.
 */
export interface Target extends Sink<SiemEvent> {
  /** The transport this target sends through (for TLS renewals). */
  readonly sender: Sender;
}

export interface TargetContext {
  sender: Sender;
  formatOptions: FormatOptions;
  timeoutMs: number;
}

export function snippet(body: Buffer | string, max = 512): string {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * The status-code rules every HTTP receiver shares: 2xx ok; 408, 429 and 5xx
 * retry (honouring Retry-After); 401/403 pause; 413 split; other 4xx
 * permanent (split down to the refused event). A transport without answers
 * (`sent`) is ok; a failure below HTTP retries, or pauses when it needs the
 * operator (TLS verification, an unavailable credential).
 */
export function classifyHttp(result: TransportResult, now: number, parseRetryAfter: (v: string | string[] | undefined, now: number) => number | undefined): SinkOutcome {
  if (result.kind === 'failed') return result.alarm ? { kind: 'paused', reason: result.reason } : { kind: 'retryable', reason: result.reason };
  if (result.kind === 'sent') return { kind: 'ok' };
  const { status } = result;
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 408 || status === 429 || status >= 500) {
    return { kind: 'retryable', reason: `HTTP ${status}`, retryAfterMs: parseRetryAfter(result.headers['retry-after'], now) };
  }
  if (status === 401 || status === 403) return { kind: 'paused', reason: `HTTP ${status}: the SIEM refused the credentials` };
  if (status === 413) return { kind: 'permanent', tooLarge: true, status, reason: `HTTP ${status}: request too large`, response: snippet(result.body) };
  return { kind: 'permanent', status, reason: `HTTP ${status}`, response: snippet(result.body) };
}

export type { WireRequest };
