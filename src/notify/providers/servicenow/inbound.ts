import { isRecord } from '../shared/answers.ts';
import { clip } from '../shared/text.ts';
import type { InboundChange } from '../types.ts';

/**
 * The business-rule POST a ServiceNow instance makes when a mirrored incident
 * changes (docs/oncall.md gives the rule): `{"sys_id","number","state"}`,
 * state as the choice value (a string or a number) or its label.
 *
 * | state                       | change        |
 * |-----------------------------|---------------|
 * | 6 Resolved, 7 Closed        | resolved      |
 * | 2 In Progress               | acknowledged (an agent picked the ticket up) |
 * | 1 New, 3 On Hold, 8 Canceled, other | ignored |
 *
 * The ref is the sys_id (what the open recorded), or the number (INC…) when
 * no valid sys_id is given. Never throws.
 */
export function parseBusinessRule(body: unknown): InboundChange | { ignore: string } {
  try {
    if (!isRecord(body)) return { ignore: 'the body is not a JSON object' };
    const { sys_id: sysId, number, state } = body;
    const s = typeof state === 'number' && Number.isInteger(state) ? String(state) : typeof state === 'string' ? state.trim().toLowerCase() : undefined;
    if (s === undefined || s === '') return { ignore: 'no state' };
    const status = s === '6' || s === '7' || s === 'resolved' || s === 'closed' ? 'resolved' : s === '2' || s === 'in progress' ? 'acknowledged' : undefined;
    if (!status) return { ignore: `state ${JSON.stringify(clip(s, 21))} does not change an incident` };
    if (typeof sysId === 'string' && /^[0-9a-f]{32}$/.test(sysId)) return { ref: sysId, status };
    if (typeof number === 'string' && /^[A-Z]{2,10}[0-9]{4,12}$/.test(number)) return { ref: number, status };
    return { ignore: 'no sys_id or number' };
  } catch {
    return { ignore: 'unreadable body' };
  }
}
