import { Counter, Histogram, type Registry } from 'prom-client';
import { DeliveryMetrics } from '../delivery/metrics.ts';

/**
 * probectl_notify_*: the delivery engine's per-connector series (labels
 * tenant and stream = the connector id: delivered, retried, parked = failed
 * operations, lag_events, lag_seconds, paused, last_success_timestamp_seconds,
 * drainer_failures) plus operations by outcome and inbound deliveries by result.
 */
export class NotifyMetrics {
  readonly delivery: DeliveryMetrics;
  /** outcome: sent, skipped (the open had failed), failed (refused permanently), retried, paused. */
  readonly operations: Counter<'tenant' | 'connector' | 'provider' | 'action' | 'outcome'>;
  /** result: applied, unchanged, unknown_ref, ignored, rejected, malformed. */
  readonly inbound: Counter<'provider' | 'result'>;
  /** Deliveries authenticated by the previous secret of a rotation, per inbound id: zero for a while means the old entry can go. */
  readonly inboundPreviousSecret: Counter<'inbound'>;
  /** Inbound deliveries made durable by one commit (the group commit's group sizes). */
  readonly inboundCommits: Histogram;

  constructor(registry: Registry) {
    this.delivery = new DeliveryMetrics(registry, 'probectl_notify', { title: 'On-call mirror', items: 'Operations', receiver: 'the connector' });
    const registers = [registry];
    this.operations = new Counter({
      name: 'probectl_notify_operations_total', help: 'Connector operations by outcome: sent, skipped (its open had failed permanently), failed (refused permanently: alarm), retried, paused (401/403 or misconfiguration: alarm).',
      labelNames: ['tenant', 'connector', 'provider', 'action', 'outcome'] as const, registers,
    });
    this.inbound = new Counter({
      name: 'probectl_notify_inbound_total', help: 'Inbound webhook deliveries by result: applied, unchanged (already in that state), unknown_ref, ignored (an event that is not mirrored), rejected (authentication failed: alarm), malformed.',
      labelNames: ['provider', 'result'] as const, registers,
    });
    this.inboundPreviousSecret = new Counter({
      name: 'probectl_notify_inbound_previous_secret_total', help: 'Inbound webhook deliveries authenticated by the previous secret of a rotation (an inbound id listed twice in PROBECTL_NOTIFY_INBOUND): once it stops growing, remove the earlier entry.',
      labelNames: ['inbound'] as const, registers,
    });
    this.inboundCommits = new Histogram({
      name: 'probectl_notify_inbound_commit_deliveries', help: 'Inbound webhook deliveries applied per database commit: one tenant\'s deliveries arriving together share a transaction (group commit, at most 32).',
      buckets: [1, 2, 4, 8, 16, 32], registers,
    });
  }
}
