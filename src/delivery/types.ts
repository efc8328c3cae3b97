import type { TenantTx } from '../store/scope.ts';
import type { AckAnswer, AckTicket, SinkOutcome } from './outcome.ts';

/** What the engine needs of an item: its position in the tenant's stream and a stable id (the same on every re-send). */
export interface DeliveryItem {
  readonly seq: number;
  readonly id: string;
  /** When the item was recorded (RFC 3339), if the source knows: kept as the stream's last delivered time. */
  readonly time?: string;
}

/** An item that will not be delivered as it is: refused by the receiver, or impossible to read, map or encode. */
export interface ParkedItem {
  seq: number;
  id: string;
  /** The receiver's status where it has one; undefined when probectl itself failed on the item. */
  status: number | undefined;
  reason: string;
  response: string;
}

/**
 * A page of a tenant's durable log: the items that could be read, and those
 * that could not (parked with the reason, never retried in a loop). `last` is
 * the highest seq of the page (the cursor moves there once the page is done).
 */
export interface Page<I extends DeliveryItem> {
  items: I[];
  failed: ParkedItem[];
  last: number;
}

/**
 * A source: one durable, gapless, per-tenant log the engine drains (the audit
 * chain, the signal log, an outbox). Every read runs inside the tenant's
 * scope, so a source can only ever see that tenant's rows.
 */
export interface Source<I extends DeliveryItem> {
  /** The stream's name in cursors, status, metrics and advisory-lock keys (e.g. `audit`). */
  readonly stream: string;
  /**
   * The only tenants that have this stream (an on-call connector belongs to
   * one tenant); undefined: every tenant has it (the audit chain, the signal log).
   */
  readonly tenants?: readonly string[];
  /** Up to `limit` items with seq > `after`, in seq order. */
  read(tx: TenantTx, after: number, limit: number): Promise<Page<I>>;
  /** The items with these seqs (parked re-sends), in seq order. */
  readBySeq(tx: TenantTx, seqs: readonly number[]): Promise<Page<I>>;
  /** The newest seq (0 when empty). */
  head(tx: TenantTx): Promise<number>;
  /** When the item after `cursor` was recorded (for lag), or null when caught up. */
  oldestUnsent(tx: TenantTx, cursor: number): Promise<Date | null>;
  /**
   * Whether the item is this consumer's own parking alarm (a source that
   * carries the audit chain: the `<consumer>.parked` record). Parking such an
   * item is recorded and counted but raises no further alarm: otherwise a
   * receiver that refuses everything would park each alarm, alarm again, and
   * grow the chain without end.
   */
  isOwnAlarm?(item: I): boolean;
}

/**
 * A sink: attempts a batch once and classifies the answer. It never loops or
 * sleeps (the engine's one retry loop does). It throws only when it cannot
 * build the request for an item (an item probectl cannot encode): the engine
 * then narrows the batch down to that item and parks it.
 */
export interface Sink<I extends DeliveryItem> {
  attempt(items: readonly I[], signal: AbortSignal | undefined): Promise<SinkOutcome>;
  /** Asks once whether an acknowledgement ticket was confirmed (sinks that answer `pending` only). */
  confirm?(ack: AckTicket, signal: AbortSignal | undefined): Promise<AckAnswer>;
  close(): Promise<void>;
}
