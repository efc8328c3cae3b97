import { Counter, Gauge, type Registry } from 'prom-client';

/** What this replica knows of a tenant stream it drains (the cursor itself lives in the database). */
export interface LiveStreamState {
  tenant: string;
  stream: string;
  paused: boolean;
  pausedReason: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  retries: number;
  /** Times this stream's drainer stopped on an error and was restarted. */
  failures: number;
  lastFailureAt: string | null;
}

/** Words for one consumer's metric help texts and log lines. */
export interface ConsumerWords {
  /** The feature, as log lines name it: `SIEM export`. */
  title: string;
  /** What travels: `Events`, `Operations`. */
  items: string;
  /** Who receives: `the SIEM`, `the connector`. */
  receiver: string;
}

/**
 * A consumer's delivery metrics, labelled by tenant and stream, named
 * `<prefix>_delivered_total` and so on (SIEM export: prefix `probectl_siem`).
 */
export class DeliveryMetrics {
  readonly words: ConsumerWords;
  readonly delivered: Counter<'tenant' | 'stream'>;
  readonly retried: Counter<'tenant' | 'stream'>;
  readonly parked: Counter<'tenant' | 'stream'>;
  readonly lagEvents: Gauge<'tenant' | 'stream'>;
  readonly lagSeconds: Gauge<'tenant' | 'stream'>;
  readonly lastSuccess: Gauge<'tenant' | 'stream'>;
  readonly paused: Gauge<'tenant' | 'stream'>;
  readonly drainerFailures: Counter<'tenant' | 'stream'>;

  constructor(registry: Registry, prefix: string, words: ConsumerWords) {
    this.words = words;
    const labelNames = ['tenant', 'stream'] as const;
    const registers = [registry];
    const { items, receiver } = words;
    this.delivered = new Counter({ name: `${prefix}_delivered_total`, help: `${items} ${receiver} acknowledged.`, labelNames, registers });
    this.retried = new Counter({ name: `${prefix}_retried_total`, help: 'Delivery attempts retried (5xx, 429, timeouts, connection errors, missing acks, pauses).', labelNames, registers });
    this.parked = new Counter({ name: `${prefix}_parked_total`, help: `${items} ${receiver} refused permanently and that were parked (alarm).`, labelNames, registers });
    this.lagEvents = new Gauge({ name: `${prefix}_lag_events`, help: `${items} recorded but not yet delivered.`, labelNames, registers });
    this.lagSeconds = new Gauge({ name: `${prefix}_lag_seconds`, help: `Age of the oldest undelivered ${items.toLowerCase().replace(/s$/, '')}.`, labelNames, registers });
    this.lastSuccess = new Gauge({ name: `${prefix}_last_success_timestamp_seconds`, help: 'When a batch was last acknowledged.', labelNames, registers });
    this.drainerFailures = new Counter({ name: `${prefix}_drainer_failures_total`, help: 'Times a stream\'s drainer stopped on an error (database trouble, a record it could not read) and was restarted after a backoff (alarm).', labelNames, registers });
    this.paused = new Gauge({ name: `${prefix}_paused`, help: `1 while a stream is paused by 401/403 or a misconfiguration of ${receiver} (alarm).`, labelNames, registers });
  }
}
