import type { ConfigurationItem } from '../../../incidents/configuration-items.ts';
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
 * Truncates to at most `max` UTF-16 code units, ending with "…" when cut,
 * never splitting a surrogate pair: for vendors whose limits are Java's
 * String.length() (Jira, Opsgenie / JSM), where an emoji counts two — a text
 * clipped by code points can still be over their limit, and the create is
 * then refused for good (400/422).
 */
export function clipUnits(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
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
    ...ciLines(i),
  ];
}

/** Most CIs a payload names. */
export const MAX_CIS = 5;

/** CMDB text on one line, cut (it is untrusted: never a newline or control character into a vendor's object). */
function oneLineText(text: string, max: number): string {
  return clip(text.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim(), max);
}

/** The incident's CIs (at most MAX_CIS), each on one line: `name (class; owner; location; status) <link>`. */
export function ciDescriptions(i: IncidentView): Array<{ ci: ConfigurationItem; text: string }> {
  return (i.cis ?? []).slice(0, MAX_CIS).map((ci) => {
    const facts = [ci.class, ci.owner, ci.location, ci.status].filter((x): x is string => x !== null && x !== '').map((x) => oneLineText(x, 80));
    return { ci, text: `${oneLineText(ci.name, 120)}${facts.length > 0 ? ` (${facts.join('; ')})` : ''}` };
  });
}

/** "Configuration items:" then one "- name (facts) link" line per CI; nothing when the incident carries none. */
export function ciLines(i: IncidentView): string[] {
  const cis = ciDescriptions(i);
  const note = i.cisUnavailable === undefined ? [] : [`Configuration items: ${oneLineText(i.cisUnavailable, 200)}`];
  return cis.length === 0 ? note : [...(note.length > 0 ? note : ['Configuration items:']), ...cis.map((c) => `- ${c.text} ${c.ci.link}`)];
}
