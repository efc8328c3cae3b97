import { ciDescriptions, clip, updateSentence } from '../shared/text.ts';
import type { IncidentView, Operation } from '../types.ts';

/**
 * Slack messages for an incident (Block Kit, https://docs.slack.dev/reference/block-kit/blocks),
 * each with a plain-text fallback `text` (what notifications and screen
 * readers show). Pure functions: no I/O, no clock, no secret.
 *
 * Untrusted text (title, target, kind) is escaped (`&`, `<`, `>`,
 * https://docs.slack.dev/messaging/formatting-message-text#escaping) and put
 * in `verbatim` mrkdwn, so a title such as `<!channel>` or a URL neither
 * pings nor links; the header is plain_text, which Slack never parses.
 * Limits: header ≤ 150, section field ≤ 2,000, context element ≤ 3,000,
 * fallback text kept ≤ 3,000 (Slack truncates beyond 40,000).
 */

/** The message metadata event type probectl's root messages carry (found again by lookup). */
export const EVENT_TYPE = 'probectl_incident';

export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Untrusted text as safe mrkdwn: cut first (escaping at most quintuples it), then escaped. */
function safe(text: string, max: number): string {
  return escapeMrkdwn(clip(text.replace(/\s+/g, ' ').trim(), max));
}

const ICON = { critical: ':red_circle:', warning: ':large_orange_circle:', info: ':large_blue_circle:' } as const;

function headline(i: IncidentView): string {
  if (i.status === 'resolved') return ':white_check_mark: Resolved';
  if (i.status === 'acknowledged') return ':eyes: Acknowledged';
  return `${ICON[i.severity]} ${i.severity[0]!.toUpperCase()}${i.severity.slice(1)}`;
}

function title(i: IncidentView): string {
  const t = i.title.replace(/\s+/g, ' ').trim();
  return t === '' ? `probectl incident ${i.id}` : t;
}

function md(text: string): { type: 'mrkdwn'; text: string; verbatim: true } {
  return { type: 'mrkdwn', text, verbatim: true };
}

/** The CMDB's CIs as one section (a linked line each), none when the incident carries none. */
function ciSection(i: IncidentView): unknown[] {
  const cis = ciDescriptions(i);
  if (cis.length === 0) return [];
  const lines = cis.map(({ ci, text }) => (/^https:\/\/[^\s<>|]+$/.test(ci.link) ? `<${ci.link}|${safe(text, 300)}>` : safe(text, 300)));
  return [{ type: 'section', text: md(clip(`*Configuration items*\n${lines.join('\n')}`, 3_000)) }];
}

/** The whole incident as one message: the thread root (Web API) or a post (incoming webhook). */
export function incidentMessage(i: IncidentView): { text: string; blocks: unknown[] } {
  const head = headline(i);
  return {
    text: clip(`${head.replace(/^:[a-z_]+: /, '')}: ${safe(title(i), 500)} · ${safe(i.target, 200)} (${i.severity}) — probectl`, 3_000),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(`${head}: ${title(i)}`, 150), emoji: true } },
      {
        type: 'section',
        fields: [
          md(`*Severity*\n${i.severity}`),
          md(`*Status*\n${i.status}`),
          md(`*Target*\n${safe(i.target, 300)}`),
          md(`*Signals*\n${i.signalCount}`),
        ],
      },
      ...ciSection(i),
      { type: 'context', elements: [md(`probectl incident \`${i.key}\` · ${safe(i.kindFamily, 100)} · opened ${safe(i.openedAt, 40)}`)] },
    ],
  };
}

/** What an update says: coalesced follow-up signals and whether severity rose. */
export function updateLine(op: Operation): string {
  return `:arrows_counterclockwise: ${updateSentence(op)}`;
}

/** A reply in the incident's thread (Web API). */
export function threadReply(op: Operation): { text: string } {
  return { text: updateLine(op) };
}

/** An update posted on its own (incoming webhook, or no root to reply to): names the incident. */
export function standaloneUpdate(op: Operation): { text: string; blocks: unknown[] } {
  const line = updateLine(op);
  const about = `${safe(title(op.incident), 500)} (\`${op.incident.key}\`)`;
  return {
    text: clip(`${line} ${about}`, 3_000),
    blocks: [{ type: 'section', text: md(clip(`${line}\n${about}`, 3_000)) }],
  };
}

/** The root message's metadata: lets lookup find it again in the channel's history. */
export function rootMetadata(op: Operation): { event_type: string; event_payload: Record<string, string> } {
  return { event_type: EVENT_TYPE, event_payload: { incident_key: op.incident.key, incident_id: op.incident.id, idempotency_key: op.idempotencyKey } };
}
