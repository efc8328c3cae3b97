import type { Severity } from '../../../incidents/model.ts';
import { clip, factLines, updateSentence } from '../shared/text.ts';
import type { IncidentView, Operation } from '../types.ts';

/**
 * ServiceNow Table API requests on the incident table
 * (https://www.servicenow.com/docs/bundle/yokohama-api-reference/page/integrate/inbound-rest/concept/c_TableAPI.html).
 * Pure functions: no I/O, no clock, no secret. Values are strings, as the
 * Table API returns them.
 */

/**
 * Severity → impact and urgency (the default priority lookup gives the
 * priority shown):
 *
 * | probectl severity | impact   | urgency  | priority      |
 * |-------------------|----------|----------|---------------|
 * | critical          | 1 - High | 1 - High | 1 - Critical  |
 * | warning           | 2 - Medium | 2 - Medium | 3 - Moderate |
 * | info              | 3 - Low  | 3 - Low  | 5 - Planning  |
 */
export const IMPACT_URGENCY: Readonly<Record<Severity, { impact: string; urgency: string }>> = {
  critical: { impact: '1', urgency: '1' },
  warning: { impact: '2', urgency: '2' },
  info: { impact: '3', urgency: '3' },
};

/** Incident states written and read (base system choice values). */
export const STATE = { inProgress: '2', resolved: '6', closed: '7' } as const;

/** Option defaults (the `close_code` choice list of current releases; older ones use e.g. "Solved (Permanently)"). */
export const DEFAULT_CLOSE_CODE = 'Resolved by caller';
export const DEFAULT_CLOSE_NOTES = 'Resolved in probectl: the condition that opened the incident has cleared or was resolved by an operator.';

/** Dictionary lengths of the fields written (longer values are cut here, not silently by the instance). */
export const LIMITS = { short_description: 160, description: 4_000, close_notes: 4_000, work_notes: 4_000 } as const;

/** The fields every read asks for: small answers, and correlation_id to check the query was applied. */
export const FIELDS = 'sys_id,number,state,correlation_id';

function description(i: IncidentView): string {
  return clip([
    i.title,
    '',
    ...factLines(i),
    `probectl incident: ${i.id} (correlation id ${i.key})`,
  ].join('\n'), LIMITS.description);
}

/**
 * POST body of a new ticket; `assignment_group`, `caller_id` and `category`
 * come from the options when set. `cmdb_ci` is the sys_id of the incident's
 * first CI when the CMDB is this same ServiceNow instance (`instanceOrigin`):
 * a reference field only holds a record of its own instance.
 */
export function createBody(i: IncidentView, options: Readonly<Record<string, string>>, instanceOrigin?: string): Record<string, string> {
  const title = i.title.replace(/\s+/g, ' ').trim();
  const body: Record<string, string> = {
    short_description: clip(title === '' ? `probectl incident ${i.id}` : title, LIMITS.short_description),
    description: description(i),
    ...IMPACT_URGENCY[i.severity],
    correlation_id: i.key,
    correlation_display: 'probectl',
  };
  const ci = (i.cis ?? []).find((c) => c.provider === 'servicenow' && c.origin === instanceOrigin && /^[0-9a-f]{32}$/.test(c.id));
  if (ci) body.cmdb_ci = ci.id;
  for (const name of ['assignment_group', 'caller_id', 'category'] as const) {
    const v = options[name];
    if (v !== undefined) body[name] = v;
  }
  return body;
}

/** PATCH body of an update, acknowledgement or resolution. */
export function changeBody(op: Operation, options: Readonly<Record<string, string>>): Record<string, string> {
  if (op.action === 'acknowledge') return { state: STATE.inProgress, work_notes: 'Acknowledged in probectl.' };
  if (op.action === 'resolve') {
    return {
      state: STATE.resolved,
      close_code: options.close_code ?? DEFAULT_CLOSE_CODE,
      close_notes: clip(options.close_notes ?? DEFAULT_CLOSE_NOTES, LIMITS.close_notes),
      work_notes: 'Resolved in probectl.',
    };
  }
  const u = op.update;
  const rose = u !== undefined && u.severityTo !== u.severityFrom;
  return { work_notes: clip(`probectl: ${updateSentence(op)}`, LIMITS.work_notes), ...(rose ? IMPACT_URGENCY[u.severityTo] : {}) };
}

/** `<table>?sysparm_query=correlation_id=<key>^ORDERBYsys_created_on&sysparm_fields=…&sysparm_limit=1`. */
export function lookupUrl(tableUrl: URL, key: string): URL {
  const u = new URL(tableUrl.href);
  u.search = '';
  u.searchParams.set('sysparm_query', `correlation_id=${key.replace(/\^/g, '^^')}^ORDERBYsys_created_on`);
  u.searchParams.set('sysparm_fields', FIELDS);
  u.searchParams.set('sysparm_limit', '1');
  return u;
}

/** `<table>/<sys_id>?sysparm_fields=…` (or the table itself for a create). */
export function recordUrl(tableUrl: URL, sysId?: string): URL {
  const u = new URL(tableUrl.href);
  u.search = '';
  if (sysId !== undefined) u.pathname = `${u.pathname.replace(/\/+$/, '')}/${encodeURIComponent(sysId)}`;
  u.searchParams.set('sysparm_fields', FIELDS);
  return u;
}
