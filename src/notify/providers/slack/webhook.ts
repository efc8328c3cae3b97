import type { ConnectorEndpoint, Operation, OperationResult } from '../types.ts';
import { classifyWebhook } from './classify.ts';
import { incidentMessage, standaloneUpdate } from './message.ts';
import { webhookSecrets } from './mode.ts';

/**
 * One attempt through an incoming webhook
 * (https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks):
 * POST JSON `{text, blocks}` to the webhook URL (passthrough query kept),
 * 200 `ok`. A webhook cannot edit or find a message, so every action posts a
 * new one: open the incident, update a line naming it, acknowledge and
 * resolve the incident again with its new status. There is no lookup: a crash
 * between Slack's answer and the outbox commit posts the message once more.
 */
export async function performWebhook(op: Operation, ep: ConnectorEndpoint, signal: AbortSignal | undefined): Promise<OperationResult> {
  const message = op.action === 'update' ? standaloneUpdate(op) : incidentMessage(op.incident);
  const answer = await ep.http.request('POST', ep.url, {
    headers: { 'content-type': 'application/json; charset=utf-8' },
    json: { ...message, unfurl_links: false, unfurl_media: false },
    signal,
  });
  const result = classifyWebhook(answer, ep.clock, webhookSecrets(ep.url));
  if (result.kind === 'ok' && op.action === 'open') return { kind: 'ok', ref: { id: op.incident.key, data: { mode: 'webhook' } } };
  return result;
}
