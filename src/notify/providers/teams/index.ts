import { safeOrigin } from '../../../core/http/transport.ts';
import type { ConnectorEndpoint, NotifyProvider, Operation, OperationResult } from '../types.ts';
import { envelope, incidentCard, updateCard } from './card.ts';
import { classify } from './classify.ts';

/**
 * Microsoft Teams through a Workflows (Power Automate) webhook — the flow
 * "When a Teams webhook request is received" → "Post card in a chat or
 * channel". The trigger URL's `sig` query parameter is the credential: it is
 * never shown; it may stay in the URL or be given as the connector's secret
 * (a secret reference allowed), which is set on the URL when the URL has none
 * (the URL's own sig wins). Every action
 * posts a new Adaptive Card (a webhook cannot edit a card); there is no
 * lookup, so a crash between Teams' 202 and the outbox commit posts the card
 * once more. The URL's other query parameters (api-version, sp, sv) are the
 * flow's and are passed through. No options; default min_severity: info.
 */

function isRetiredConnector(url: URL): boolean {
  return /(^|\.)webhook\.office\.com$/i.test(url.hostname) || url.pathname.includes('/webhookb2/');
}

async function perform(op: Operation, ep: ConnectorEndpoint, signal: AbortSignal | undefined): Promise<OperationResult> {
  // The URL is the endpoint as configured; when it has no sig, the notify
  // core sets the secret as sig on the request (urlSecretParam below).
  const url = ep.url;
  const secret = (await ep.secret())?.trim();
  const sig = url.searchParams.get('sig') ?? secret ?? '';
  if (sig === '') return { kind: 'paused', reason: 'the Teams workflow URL has no sig: keep it in the URL or give it as the secret' };
  const content = op.action === 'update' ? updateCard(op) : incidentCard(op.incident);
  const answer = await ep.http.request('POST', url, {
    headers: { 'content-type': 'application/json; charset=utf-8' },
    json: envelope(content),
    signal,
  });
  const result = classify(answer, ep.clock, [sig, ...(secret ? [secret] : [])]);
  if (result.kind !== 'ok' || op.action !== 'open') return result;
  const run = answer.kind === 'answered' ? answer.headers['x-ms-workflow-run-id'] : undefined;
  return { kind: 'ok', ref: { id: op.incident.key, data: typeof run === 'string' && /^[A-Za-z0-9-]{1,100}$/.test(run) ? { run } : {} } };
}

export const teams: NotifyProvider = {
  name: 'teams',
  defaultMinSeverity: 'info',
  options: [],
  passthroughQuery: true,
  urlSecretParam: 'sig',
  validate(url, _options, secretGiven) {
    if (isRetiredConnector(url)) return ['Office 365 connector webhooks (webhook.office.com) are retired: create a Teams Workflows webhook ("When a Teams webhook request is received") and use its URL'];
    if (!url.searchParams.has('sig') && !secretGiven) return ['the Workflows URL needs its signature: keep sig in the URL or give it as the secret'];
    return [];
  },
  display(url) {
    return `${safeOrigin(url)} (Teams workflow)`;
  },
  perform,
};
