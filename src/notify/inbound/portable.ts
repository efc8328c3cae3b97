import { isRecord } from '../providers/shared/answers.ts';
import { incidentIdOfKey } from '../providers/shared/keys.ts';
import type { InboundChange } from '../providers/types.ts';

const STATUSES = new Set(['acknowledged', 'resolved']);
const REF = /^[^\u0000-\u001f\u007f]{1,256}$/;

/**
 * The portable inbound body every provider accepts (docs/oncall.md):
 * `{"external_ref": "<the vendor's id, or the incident key>", "status": "acknowledged" | "resolved"}`.
 * undefined when the body is not meant to be one (no `external_ref` member);
 * `{invalid}` naming the problem when it is, but is malformed.
 */
export function parsePortable(body: unknown): InboundChange | { invalid: string } | undefined {
  if (!isRecord(body) || !Object.hasOwn(body, 'external_ref')) return undefined;
  const extra = Object.keys(body).find((k) => k !== 'external_ref' && k !== 'status');
  if (extra !== undefined) return { invalid: `unknown member ${JSON.stringify(extra.slice(0, 40))}; the portable body has only external_ref and status` };
  const ref = body.external_ref;
  if (typeof ref !== 'string' || !REF.test(ref)) return { invalid: 'external_ref must be a string of 1 to 256 printable characters' };
  if (typeof body.status !== 'string' || !STATUSES.has(body.status)) return { invalid: 'status must be "acknowledged" or "resolved"' };
  return { ref, incidentKey: incidentIdOfKey(ref) ? ref : undefined, status: body.status as InboundChange['status'] };
}
