import type { Operation } from '../types.ts';

/**
 * The generic webhook's document (docs/oncall.md "webhook"), version 1. One
 * JSON object per operation:
 *
 *   { "version": 1, "action": "open|update|acknowledge|resolve",
 *     "key": "probectl-<incident id>", "idempotency_key": "<operation id>",
 *     "incident": { id, tenant, title, severity, status, target, kind_family, signal_count, opened_at },
 *     "update": { signals, severity_from, severity_to } }   (update only)
 *
 * The same operation always produces the same document (a retry differs only
 * in its signature headers).
 */
export function webhookDocument(op: Operation): Record<string, unknown> {
  const i = op.incident;
  return {
    version: 1,
    action: op.action,
    key: i.key,
    idempotency_key: op.idempotencyKey,
    incident: {
      id: i.id, tenant: i.tenant, title: i.title, severity: i.severity, status: i.status, target: i.target,
      kind_family: i.kindFamily, signal_count: i.signalCount, opened_at: i.openedAt,
    },
    ...(op.action === 'update' && op.update ? { update: { signals: op.update.signals, severity_from: op.update.severityFrom, severity_to: op.update.severityTo } } : {}),
  };
}
