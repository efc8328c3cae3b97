import { createHmac } from 'node:crypto';
import { isRecord, safeEqual, str } from '../shared/answers.ts';
import { incidentIdOfKey } from '../shared/keys.ts';
import type { InboundChange } from '../types.ts';

/**
 * PagerDuty v3 webhooks (https://developer.pagerduty.com/docs/webhooks/v3-overview/,
 * https://developer.pagerduty.com/docs/verifying-signatures):
 * `X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body>`, one per
 * active secret, comma-separated during a rotation; the body is
 * `{"event":{"event_type","data":{"incident_key",…}}}`.
 */

export function verifyPagerDutySignature(rawBody: Buffer, headers: Readonly<Record<string, string | string[] | undefined>>, secret: string): 'valid' | 'invalid' | 'absent' {
  const header = headers['x-pagerduty-signature'];
  const text = Array.isArray(header) ? header.join(',') : header;
  if (text === undefined || text.trim() === '') return 'absent';
  const expected = `v1=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
  let valid = false;
  // Every candidate is compared (no early exit), in constant time each.
  for (const candidate of text.split(',').map((s) => s.trim()).slice(0, 16)) {
    if (safeEqual(candidate.toLowerCase(), expected)) valid = true;
  }
  return valid ? 'valid' : 'invalid';
}

const MIRRORED: Readonly<Record<string, InboundChange['status']>> = {
  'incident.acknowledged': 'acknowledged',
  'incident.resolved': 'resolved',
};

/** `incident.acknowledged` / `incident.resolved` → the change, by incident_key; every other event is ignored. */
export function parsePagerDutyWebhook(body: unknown): InboundChange | { ignore: string } {
  const event = isRecord(body) ? body.event : undefined;
  const type = str(event, 'event_type');
  if (!isRecord(event) || type === undefined) return { ignore: 'not a PagerDuty v3 webhook (no event.event_type)' };
  const status = Object.hasOwn(MIRRORED, type) ? MIRRORED[type] : undefined;
  if (!status) return { ignore: `event type ${/^[a-z._]{1,64}$/.test(type) ? type : '(unprintable)'} is not mirrored` };
  const key = str(event.data, 'incident_key');
  if (key === undefined || key === '' || key.length > 255) return { ignore: 'the incident has no incident_key' };
  return { ref: key, incidentKey: incidentIdOfKey(key) ? key : undefined, status };
}
