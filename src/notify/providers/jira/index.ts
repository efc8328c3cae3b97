import type { NotifyProvider, OperationResult } from '../types.ts';
import { addComment, createIssue, findByLabel, isCall, jiraCall, statusCategory, transition } from './api.ts';
import { commentLines, richText } from './documents.ts';
import { parseJiraWebhook, verifyJiraSignature } from './inbound.ts';
import { JIRA_OPTIONS, jiraEndpoint, validateJira } from './settings.ts';

/**
 * Jira (docs/oncall.md): Cloud REST v3 (ADF descriptions) or v2 / Data
 * Center (plain text), chosen by the endpoint path. Open creates an issue
 * labelled with the incident key — after searching for that label, so a lost
 * answer or a crash never opens a second issue; updates and acknowledgements
 * add a comment; resolve applies `resolve_transition` (an id, or a name
 * looked up) unless the issue is already done, then comments. Inbound:
 * `jira:issue_updated` with status category done, signed X-Hub-Signature.
 */
export const jira: NotifyProvider = {
  name: 'jira',
  defaultMinSeverity: 'info',
  options: JIRA_OPTIONS,
  passthroughQuery: false,
  validate: validateJira,
  display: (url) => {
    const ep = jiraEndpoint(url);
    return ep ? `${ep.base}/rest/api/${ep.api}` : `${url.protocol}//${url.host}`;
  },
  async lookup(incident, ep, signal) {
    const c = await jiraCall(ep, signal);
    if (!isCall(c)) return c as Exclude<OperationResult, { kind: 'ok' }>;
    return findByLabel(c, incident);
  },
  async perform(op, ep, signal): Promise<OperationResult> {
    const c = await jiraCall(ep, signal);
    if (!isCall(c)) return c;
    if (op.action === 'open') return createIssue(c, op.incident);
    const key = op.ref?.id;
    if (key === undefined) return { kind: 'permanent', reason: 'no Jira issue is recorded for this incident' };
    if (op.action === 'resolve') {
      const wanted = ep.options.resolve_transition;
      if (wanted !== undefined) {
        const status = await statusCategory(c, key);
        if (!('category' in status)) return status;
        if (status.category !== 'done') {
          const moved = await transition(c, key, wanted);
          if (moved.kind !== 'ok') return moved;
        }
      }
    }
    return addComment(c, key, richText(c.jira.api, commentLines(op)));
  },
  verifyVendorSignature: verifyJiraSignature,
  parseInbound: parseJiraWebhook,
};
