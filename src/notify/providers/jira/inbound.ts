import { createHmac } from 'node:crypto';
import { isRecord, safeEqual, str } from '../shared/answers.ts';
import { incidentIdOfKey } from '../shared/keys.ts';
import type { InboundChange } from '../types.ts';

/**
 * Jira admin webhooks (https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks):
 * `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>` under the
 * webhook's secret; `jira:issue_updated` carries the issue with its status.
 */

export function verifyJiraSignature(rawBody: Buffer, headers: Readonly<Record<string, string | string[] | undefined>>, secret: string): 'valid' | 'invalid' | 'absent' {
  const header = headers['x-hub-signature'];
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || text.trim() === '') return 'absent';
  const expected = `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
  return safeEqual(text.trim().toLowerCase(), expected) ? 'valid' : 'invalid';
}

/**
 * `jira:issue_updated` whose status category is `done` → resolved, by the
 * issue id (the key when there is none; and the incident key when the issue
 * carries its label); any
 * other event or status is ignored (answered 2xx so Jira does not retry).
 */
export function parseJiraWebhook(body: unknown): InboundChange | { ignore: string } {
  if (!isRecord(body)) return { ignore: 'not a Jira webhook' };
  const event = str(body, 'webhookEvent');
  if (event !== 'jira:issue_updated') return { ignore: `event ${event !== undefined && /^[a-z_:]{1,64}$/.test(event) ? event : '(none)'} is not mirrored; only jira:issue_updated` };
  const issue = isRecord(body.issue) ? body.issue : undefined;
  const key = str(issue, 'key');
  if (!issue || key === undefined || key === '' || key.length > 255) return { ignore: 'the webhook names no issue key' };
  const fields = isRecord(issue.fields) ? issue.fields : undefined;
  const status = isRecord(fields?.status) ? fields.status : undefined;
  const category = str(status?.statusCategory, 'key');
  if (category !== 'done') return { ignore: `the issue's status category is ${category !== undefined && /^[a-z]{1,32}$/.test(category) ? category : 'unknown'}, not done` };
  const labels = Array.isArray(fields?.labels) ? fields.labels.filter((l): l is string => typeof l === 'string') : [];
  const incidentKey = labels.find((l) => incidentIdOfKey(l) !== undefined);
  // The issue's id where Jira gives it: it stays when the issue is moved to another project (its key changes),
  // and a clone has its own. Links record both (the key as ref, the id as alias).
  const id = str(issue, 'id');
  return { ref: id !== undefined && /^[0-9]{1,18}$/.test(id) ? id : key, incidentKey, status: 'resolved' };
}
