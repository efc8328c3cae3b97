import { MAX_CIS } from '../shared/text.ts';
import type { IncidentView, Operation } from '../types.ts';

/**
 * The incident's configuration items as the webhook document carries them
 * (at most MAX_CIS, at most 8 IPs each, the fields of docs/cmdb.md); none
 * when the incident carries none (CMDB correlation off, nothing found, or
 * the lookup missed the enrichment deadline).
 */
function configurationItems(i: IncidentView): Array<Record<string, unknown>> {
  return (i.cis ?? []).slice(0, MAX_CIS).map((ci) => ({
    provider: ci.provider, id: ci.id, name: ci.name, class: ci.class, role: ci.role, ips: ci.ips.slice(0, 8),
    fqdn: ci.fqdn, owner: ci.owner, location: ci.location, status: ci.status, link: ci.link,
  }));
}

/**
 * The generic webhook's document (docs/oncall.md "webhook"), version 1. One
 * JSON object per operation:
 *
 *   { "version": 1, "action": "open|update|acknowledge|resolve",
 *     "key": "probectl-<incident id>", "idempotency_key": "<operation id>",
 *     "incident": { id, tenant, title, severity, status, target, kind_family, signal_count, opened_at },
 *     "configuration_items": [ { provider, id, name, class, role, ips, fqdn, owner, location, status, link } ]
 *                                                  (open, when the CMDB found some: docs/cmdb.md)
 *     "update": { signals, severity_from, severity_to } }   (update only)
 *
 * The same operation always produces the same document (a retry differs only
 * in its signature headers).
 */
export function webhookDocument(op: Operation): Record<string, unknown> {
  const i = op.incident;
  const cis = op.action === 'open' ? configurationItems(i) : [];
  return {
    version: 1,
    action: op.action,
    key: i.key,
    idempotency_key: op.idempotencyKey,
    incident: {
      id: i.id, tenant: i.tenant, title: i.title, severity: i.severity, status: i.status, target: i.target,
      kind_family: i.kindFamily, signal_count: i.signalCount, opened_at: i.openedAt,
    },
    ...(cis.length > 0 ? { configuration_items: cis } : {}),
    ...(op.action === 'update' && op.update ? { update: { signals: op.update.signals, severity_from: op.update.severityFrom, severity_to: op.update.severityTo } } : {}),
  };
}
