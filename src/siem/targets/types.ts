import type { Sink } from '../../delivery/types.ts';
import type { SiemEvent } from '../event.ts';
import type { FormatOptions } from '../formatters/options.ts';
import type { Sender, WireRequest } from '../senders/types.ts';

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

export { classifyHttp, snippet } from './shared/http.ts';
export type { WireRequest };
