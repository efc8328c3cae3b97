import type { IncidentView, Operation } from '../types.ts';

/**
 * Text every provider writes into its vendor's objects: pure functions, no
 * I/O, no clock, no secret.
 */

/** Truncates to at most `max` characters (code points), ending with "…" when cut. */
export function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * What a coalesced update says, one sentence: "4 more signals correlated;
 * severity rose from warning to critical." — or, for an update without its
 * counts, "Incident updated: 3 signals so far.".
 */
export function updateSentence(op: Operation): string {
  const u = op.update;
  if (!u) return `Incident updated: ${op.incident.signalCount} signals so far.`;
  const rose = u.severityTo !== u.severityFrom ? `; severity rose from ${u.severityFrom} to ${u.severityTo}` : '';
  return `${u.signals} more signal${u.signals === 1 ? '' : 's'} correlated${rose}.`;
}

/**
 * The incident's facts as "Name: value" lines for a plain-text description
 * (Opsgenie, ServiceNow): severity, the status when asked, target, kind,
 * signal count, opening time.
 */
export function factLines(i: IncidentView, opts: { status?: boolean } = {}): string[] {
  return [
    `Severity: ${i.severity}`,
    ...(opts.status ? [`Status: ${i.status}`] : []),
    `Target: ${i.target}`,
    `Kind: ${i.kindFamily}`,
    `Signals: ${i.signalCount}`,
    `Opened: ${i.openedAt}`,
  ];
}
