import type { Severity } from '../../../incidents/model.ts';
import { ciDescriptions, clipUnits as clip, factLines, updateSentence } from '../shared/text.ts';
import type { IncidentView, Operation } from '../types.ts';

/**
 * Opsgenie Alert API v2 / Jira Service Management operations integration API
 * request bodies (https://docs.opsgenie.com/docs/alert-api; JSM:
 * https://developer.atlassian.com/cloud/jira/service-desk-ops/rest/v1/api-group-integration-events/,
 * same bodies). Pure functions: no I/O, no clock, no secret.
 */

/**
 * Severity → Opsgenie priority (P1 Critical … P5 Informational):
 *
 * | probectl severity | priority |
 * |-------------------|----------|
 * | critical          | P1       |
 * | warning           | P3       |
 * | info              | P5       |
 */
export const PRIORITY: Readonly<Record<Severity, 'P1' | 'P3' | 'P5'>> = { critical: 'P1', warning: 'P3', info: 'P5' };

/**
 * Documented field limits (characters) of the create-alert request, counted as
 * Opsgenie's Java service does (UTF-16 code units): every text is cut with clipUnits.
 */
export const LIMITS = { message: 130, alias: 512, description: 15_000, entity: 512, source: 100, user: 100, note: 25_000, tag: 50, tags: 20, details: 8_000 } as const;

const SOURCE = 'probectl';

function tag(text: string): string {
  return clip(text.replace(/[\s,]+/g, '_'), LIMITS.tag);
}

/** The alert's `details` map: strings only, well under the 8,000-character total. */
function details(i: IncidentView): Record<string, string> {
  return {
    incident_id: i.id,
    tenant: i.tenant,
    severity: i.severity,
    status: i.status,
    target: clip(i.target, 1_000),
    kind_family: clip(i.kindFamily, 200),
    signals: String(i.signalCount),
    opened_at: i.openedAt,
    ...ciDetails(i),
  };
}

/** The CIs in `details`: `cmdb_ci` (one line each) and `cmdb_ci_links`, each within 1,000 characters. */
function ciDetails(i: IncidentView): Record<string, string> {
  const cis = ciDescriptions(i);
  if (cis.length === 0) return {};
  return { cmdb_ci: clip(cis.map((c) => c.text).join(' | '), 1_000), cmdb_ci_links: clip(cis.map((c) => c.ci.link).join(' '), 1_000) };
}

function description(i: IncidentView): string {
  return clip([
    i.title,
    '',
    ...factLines(i, { status: true }),
    `probectl incident: ${i.id}`,
  ].join('\n'), LIMITS.description);
}

/**
 * POST <alerts URL> body: alias = the incident key (Opsgenie de-duplicates an
 * open alert by alias, so a repeated create only bumps its count), message =
 * the title cut to 130 characters, priority from the table above, an optional
 * responder team (the `team` option).
 */
export function createBody(i: IncidentView, options: Readonly<Record<string, string>>): Record<string, unknown> {
  const team = options.team;
  return {
    message: clip(i.title.trim() === '' ? `probectl incident ${i.id}` : i.title.trim(), LIMITS.message),
    alias: i.key,
    description: description(i),
    priority: PRIORITY[i.severity],
    tags: ['probectl', tag(`severity:${i.severity}`), tag(`kind:${i.kindFamily}`)],
    details: details(i),
    // The entity is the CI the alert is about when the CMDB named one, else the target.
    entity: clip(ciDescriptions(i)[0]?.ci.name ?? i.target, LIMITS.entity),
    source: SOURCE,
    ...(team !== undefined ? { responders: [{ type: 'team', name: team }] } : {}),
  };
}

/** The note an update, acknowledgement or resolution carries. */
export function noteFor(op: Operation): string {
  if (op.action === 'acknowledge') return 'Acknowledged in probectl.';
  if (op.action === 'resolve') return 'Resolved in probectl.';
  return `probectl: ${updateSentence(op)}`;
}

const ACTION_PATH = { update: 'notes', acknowledge: 'acknowledge', resolve: 'close' } as const;

/**
 * `<alerts URL>/<alias>/<acknowledge|close|notes>?identifierType=alias`: the
 * alias is a path segment (percent-encoded); the body names the source and
 * user and carries the note (required by the notes action).
 */
export function actionRequest(alertsUrl: URL, op: Operation): { url: URL; body: Record<string, unknown> } {
  if (op.action === 'open') throw new Error('an open is a create, not an alert action');
  const url = new URL(alertsUrl.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${encodeURIComponent(op.incident.key)}/${ACTION_PATH[op.action]}`;
  url.search = '';
  url.searchParams.set('identifierType', 'alias');
  return { url, body: { source: SOURCE, user: SOURCE, note: clip(noteFor(op), LIMITS.note) } };
}
