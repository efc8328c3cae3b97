import type { Severity } from '../../../incidents/model.ts';
import { ciDescriptions, clip } from '../shared/text.ts';
import type { IncidentView, Operation } from '../types.ts';

/**
 * PagerDuty Events API v2 bodies (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/):
 * `trigger` on open, `acknowledge` and `resolve` by the same `dedup_key`
 * (the incident key), the routing key in the body and nowhere else.
 *
 * Severity (the documented table, docs/oncall.md):
 *
 * | probectl | PagerDuty `payload.severity` |
 * |----------|------------------------------|
 * | critical | critical                     |
 * | warning  | warning                      |
 * | info     | info                         |
 */
export const PAGERDUTY_SEVERITY: Readonly<Record<Severity, 'critical' | 'warning' | 'info'>> = { critical: 'critical', warning: 'warning', info: 'info' };

/** payload.summary is at most 1024 characters. */
export const SUMMARY_MAX = 1024;

export function triggerEvent(routingKey: string, incident: IncidentView): Record<string, unknown> {
  const cis = ciDescriptions(incident);
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: incident.key,
    client: 'probectl',
    payload: {
      summary: clip(`[${incident.severity}] ${incident.title} (${incident.target})`, SUMMARY_MAX),
      source: incident.target.trim() === '' ? 'probectl' : clip(incident.target, 255),
      severity: PAGERDUTY_SEVERITY[incident.severity],
      timestamp: incident.openedAt,
      group: incident.kindFamily,
      class: incident.kindFamily,
      custom_details: {
        incident_id: incident.id,
        incident_key: incident.key,
        tenant: incident.tenant,
        status: incident.status,
        signals: incident.signalCount,
        kind_family: incident.kindFamily,
        target: incident.target,
        opened_at: incident.openedAt,
        ...(incident.cisUnavailable !== undefined ? { configuration_items_unavailable: clip(incident.cisUnavailable, 200) } : {}),
        ...(cis.length > 0 ? { configuration_items: cis.map(({ ci, text }) => ({ id: clip(ci.id, 64), summary: text, provider: ci.provider, link: clip(ci.link, 2048), ips: ci.ips.slice(0, 8).map((ip) => clip(ip, 64)), fqdn: ci.fqdn === null ? null : clip(ci.fqdn, 253) })) } : {}),
      },
    },
    // The CIs in the CMDB's UI, as the event's links (Events API v2 `links`: href and text).
    ...(cis.length > 0 ? { links: cis.map(({ ci, text }) => ({ href: ci.link, text: clip(`CMDB: ${text}`, 255) })) } : {}),
  };
}

/** The event for an operation; undefined for `update` (a pager is never re-paged). */
export function eventFor(routingKey: string, op: Operation): Record<string, unknown> | undefined {
  switch (op.action) {
    case 'open':
      return triggerEvent(routingKey, op.incident);
    case 'acknowledge':
    case 'resolve':
      return { routing_key: routingKey, event_action: op.action, dedup_key: op.ref?.id ?? op.incident.key };
    case 'update':
      return undefined;
  }
}
