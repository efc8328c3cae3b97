import { Counter, Gauge, type Registry } from 'prom-client';
import type { SiemStream } from './cursor.ts';

/** What this replica knows of a tenant stream it drains (the cursor itself lives in the database). */
export interface LiveStreamState {
  tenant: string;
  stream: SiemStream;
  paused: boolean;
  pausedReason: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  retries: number;
  /** Times this stream's drainer stopped on an error and was restarted. */
  failures: number;
  lastFailureAt: string | null;
}

/** probectl_siem_* metrics, labelled by tenant and stream. */
export class SiemMetrics {
  readonly delivered: Counter<'tenant' | 'stream'>;
  readonly retried: Counter<'tenant' | 'stream'>;
  readonly parked: Counter<'tenant' | 'stream'>;
  readonly lagEvents: Gauge<'tenant' | 'stream'>;
  readonly lagSeconds: Gauge<'tenant' | 'stream'>;
  readonly lastSuccess: Gauge<'tenant' | 'stream'>;
  readonly paused: Gauge<'tenant' | 'stream'>;
  readonly drainerFailures: Counter<'tenant' | 'stream'>;

  constructor(registry: Registry) {
    const labelNames = ['tenant', 'stream'] as const;
    this.delivered = new Counter({ name: 'probectl_siem_delivered_total', help: 'Events the SIEM acknowledged.', labelNames, registers: [registry] });
    this.retried = new Counter({ name: 'probectl_siem_retried_total', help: 'Delivery attempts retried (5xx, 429, timeouts, connection errors, missing acks, pauses).', labelNames, registers: [registry] });
    this.parked = new Counter({ name: 'probectl_siem_parked_total', help: 'Events the SIEM refused permanently and that were parked (alarm).', labelNames, registers: [registry] });
    this.lagEvents = new Gauge({ name: 'probectl_siem_lag_events', help: 'Events recorded but not yet delivered.', labelNames, registers: [registry] });
    this.lagSeconds = new Gauge({ name: 'probectl_siem_lag_seconds', help: 'Age of the oldest undelivered event.', labelNames, registers: [registry] });
    this.lastSuccess = new Gauge({ name: 'probectl_siem_last_success_timestamp_seconds', help: 'When a batch was last acknowledged.', labelNames, registers: [registry] });
    this.drainerFailures = new Counter({ name: 'probectl_siem_drainer_failures_total', help: 'Times a stream\'s drainer stopped on an error (database trouble, a record it could not read) and was restarted after a backoff (alarm).', labelNames, registers: [registry] });
    this.paused = new Gauge({ name: 'probectl_siem_paused', help: '1 while a stream is paused by 401/403 or a receiver misconfiguration (alarm).', labelNames, registers: [registry] });
  }
}
