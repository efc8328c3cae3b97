import { isRecord } from '../shared/answers.ts';
import { clip } from '../shared/text.ts';
import type { InboundChange } from '../types.ts';

/**
 * Opsgenie / Jira Service Management outgoing webhook (alert action data,
 * https://docs.opsgenie.com/docs/sample-alert-action-data; JSM: "Alert action
 * data" of the Webhook integration, the same shape):
 * `{"action": "Acknowledge" | "Close" | …, "alert": {"alias": …, …}, …}`.
 *
 * | action        | change        |
 * |---------------|---------------|
 * | Acknowledge   | acknowledged  |
 * | Close         | resolved      |
 * | anything else | ignored       |
 *
 * The alias probectl set is the incident key (`probectl-…`); an alert with
 * another alias was not opened by probectl and is ignored. Never throws.
 */
export function parseOpsgenieWebhook(body: unknown): InboundChange | { ignore: string } {
  try {
    if (!isRecord(body)) return { ignore: 'the body is not a JSON object' };
    const { action, alert } = body;
    if (typeof action !== 'string') return { ignore: 'no action' };
    const status = action.toLowerCase() === 'acknowledge' ? 'acknowledged' : action.toLowerCase() === 'close' ? 'resolved' : undefined;
    if (!status) return { ignore: `action ${JSON.stringify(clip(action, 41))} does not change an incident` };
    if (!isRecord(alert)) return { ignore: 'no alert object' };
    const alias = alert.alias;
    if (typeof alias !== 'string' || alias === '') return { ignore: 'the alert has no alias' };
    if (alias.length > 512 || !/^probectl-[A-Za-z0-9-]{1,200}$/.test(alias)) return { ignore: 'the alert alias is not a probectl incident key' };
    return { incidentKey: alias, status };
  } catch {
    return { ignore: 'unreadable body' };
  }
}
