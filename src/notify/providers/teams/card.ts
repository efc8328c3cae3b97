import { ciDescriptions, clip, updateSentence } from '../shared/text.ts';
import type { IncidentView, Operation } from '../types.ts';

/**
 * The Adaptive Card (schema 1.5, the version Teams renders;
 * https://adaptivecards.io/explorer/) a Teams Workflows webhook posts, in the
 * message envelope the "When a Teams webhook request is received" trigger
 * expects (https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using):
 * `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null,"content":<card>}]}`.
 * The retired Office 365 connector MessageCard is never used.
 *
 * Untrusted text (title, target, kind, the CMDB's CIs) goes into RichTextBlock TextRuns,
 * which Teams does not parse as Markdown, so a title cannot inject a link;
 * it is cut (title 500, target 500, kind 200 characters) to stay far below
 * Teams' ~28 KB message limit. Pure functions: no I/O, no clock, no secret.
 */

export const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

const COLOR = { critical: 'Attention', warning: 'Warning', info: 'Accent' } as const;

function banner(i: IncidentView): { text: string; color: string } {
  if (i.status === 'resolved') return { text: '✅ Resolved', color: 'Good' };
  if (i.status === 'acknowledged') return { text: '👀 Acknowledged', color: 'Accent' };
  return { text: `${i.severity[0]!.toUpperCase()}${i.severity.slice(1)} incident`, color: COLOR[i.severity] };
}

function title(i: IncidentView): string {
  const t = i.title.replace(/\s+/g, ' ').trim();
  return clip(t === '' ? `probectl incident ${i.id}` : t, 500);
}

function textBlock(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'TextBlock', text, wrap: true, ...extra };
}

/** A line of literal (never Markdown) text: an optional bold label, then the value. */
function literal(label: string | undefined, value: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'RichTextBlock',
    inlines: [...(label ? [{ type: 'TextRun', text: `${label} `, weight: 'Bolder' }] : []), { type: 'TextRun', text: value, ...extra }],
  };
}

function card(body: unknown[]): Record<string, unknown> {
  return { type: 'AdaptiveCard', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', version: '1.5', msteams: { width: 'Full' }, body };
}

/** The whole incident (open, acknowledge, resolve: each a new card — a Workflows webhook cannot edit). */
export function incidentCard(i: IncidentView): Record<string, unknown> {
  const b = banner(i);
  return card([
    textBlock(b.text, { weight: 'Bolder', size: 'Medium', color: b.color }),
    literal(undefined, title(i), { size: 'Large', weight: 'Bolder' }),
    { type: 'FactSet', facts: [
      { title: 'Severity', value: i.severity },
      { title: 'Status', value: i.status },
      { title: 'Signals', value: String(i.signalCount) },
      { title: 'Opened', value: i.openedAt },
    ] },
    literal('Target:', clip(i.target, 500)),
    literal('Kind:', clip(i.kindFamily, 200)),
    ...ciLines(i),
    textBlock(`probectl incident ${i.key}`, { isSubtle: true, size: 'Small' }),
  ]);
}

/**
 * The CMDB's CIs, one literal line each ("CI: name (facts) link"), none when the
 * incident carries none. CMDB text is untrusted: it goes into TextRuns, never a
 * FactSet, whose titles and values Teams parses as Markdown (a CI named
 * `[Sign in](https://evil.example)` would otherwise render as a link).
 */
function ciLines(i: IncidentView): unknown[] {
  return ciDescriptions(i).map(({ ci, text }) => literal('CI:', clip(`${text} ${ci.link}`, 500)));
}

/** A follow-up: how many signals arrived and whether severity rose, naming the incident. */
export function updateCard(op: Operation): Record<string, unknown> {
  return card([
    textBlock('🔄 Update', { weight: 'Bolder', size: 'Medium', color: COLOR[op.incident.severity] }),
    literal(undefined, title(op.incident), { weight: 'Bolder' }),
    textBlock(updateSentence(op)),
    textBlock(`probectl incident ${op.incident.key}`, { isSubtle: true, size: 'Small' }),
  ]);
}

/** The message envelope around one card. */
export function envelope(content: Record<string, unknown>): Record<string, unknown> {
  return { type: 'message', attachments: [{ contentType: CARD_CONTENT_TYPE, contentUrl: null, content }] };
}
