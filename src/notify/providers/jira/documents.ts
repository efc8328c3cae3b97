import { ciLines, clipUnits } from '../shared/text.ts';
import type { IncidentView, Operation } from '../types.ts';

/**
 * What probectl writes into Jira: the issue (summary, description, labels)
 * and the comments. Rich text is Atlassian Document Format on API v3
 * (https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/)
 * and plain text on v2 / Data Center (the description in a `{noformat}` block).
 */

/** A paragraph per line (ADF refuses empty text nodes, so blank lines are dropped). */
export function adf(lines: readonly string[]): Record<string, unknown> {
  return {
    type: 'doc', version: 1,
    content: lines.filter((l) => l !== '').map((l) => ({ type: 'paragraph', content: [{ type: 'text', text: l }] })),
  };
}

/** A comment or description as the API takes it: ADF on v3, plain text on v2 / Data Center. */
export function richText(api: 2 | 3, lines: readonly string[]): unknown {
  return api === 3 ? adf(lines) : lines.filter((l) => l !== '').join('\n');
}

/**
 * The issue's description. On v2 / Data Center Jira renders it as wiki markup,
 * so a `[text|url]` link, an `!image!` or a `{html}` macro in an incident's
 * title, its target or a CMDB CI's name would render as one: the plain text
 * goes in one `{noformat}` block, which Jira shows verbatim, and a `{noformat`
 * in it is broken up so it can never end the block. (probectl's comments are
 * its own fixed sentences and stay plain.)
 */
export function descriptionOf(api: 2 | 3, incident: IncidentView): unknown {
  const lines = descriptionLines(incident);
  if (api === 3) return adf(lines);
  const text = lines.filter((l) => l !== '').join('\n').replace(/\{(\s*)noformat/gi, '{ $1noformat');
  return `{noformat}\n${text}\n{noformat}`;
}

/** Summary: one line of at most 255 characters as Jira (Java) counts them, UTF-16 code units (Jira refuses newlines and longer ones). */
export function summaryOf(incident: IncidentView): string {
  return clipUnits(`[probectl ${incident.severity}] ${incident.title}`.replace(/[\r\n\t]+/g, ' '), 255);
}

export function descriptionLines(incident: IncidentView): string[] {
  return [
    `probectl incident ${incident.id} (${incident.severity}, ${incident.status}).`,
    `Title: ${incident.title}`,
    `Target: ${incident.target}`,
    `Kind: ${incident.kindFamily}; signals so far: ${incident.signalCount}; opened at ${incident.openedAt}.`,
    ...ciLines(incident),
    `probectl is the system of record: resolving this issue resolves the incident there (when the Jira webhook is configured).`,
  ];
}

/** The issue's labels: the incident key (how a retry finds the issue again), `probectl`, and the configured ones. */
export function labelsOf(incident: IncidentView, extra: string | undefined): string[] {
  const labels = [incident.key, 'probectl', ...(extra ? extra.split(',') : [])];
  return [...new Set(labels)];
}

export function createBody(api: 2 | 3, incident: IncidentView, options: Readonly<Record<string, string>>): Record<string, unknown> {
  const project = options.project as string;
  const type = options.issuetype ?? 'Task';
  return {
    fields: {
      project: /^\d+$/.test(project) ? { id: project } : { key: project },
      issuetype: /^\d+$/.test(type) ? { id: type } : { name: type },
      summary: summaryOf(incident),
      description: descriptionOf(api, incident),
      labels: labelsOf(incident, options.labels),
    },
  };
}

/** The comment an update, acknowledgement or resolution adds. */
export function commentLines(op: Operation): string[] {
  switch (op.action) {
    case 'update': {
      const u = op.update;
      const n = u?.signals ?? 0;
      const rose = u !== undefined && u.severityFrom !== u.severityTo;
      return [`probectl: ${n} more signal${n === 1 ? '' : 's'} on this incident since the last update${rose ? `; severity rose from ${u.severityFrom} to ${u.severityTo}` : ''}.`];
    }
    case 'acknowledge':
      return ['probectl: the incident was acknowledged.'];
    case 'resolve':
      return ['probectl: the incident was resolved.'];
    case 'open':
      return [];
  }
}

/** A label search in JQL: the incident key, in the configured project. */
export function labelJql(incident: IncidentView, project: string): string {
  const p = /^\d+$/.test(project) ? project : `"${project}"`;
  return `labels = "${incident.key}" AND project = ${p} ORDER BY created ASC`;
}
