/**
 * Which Slack surface an endpoint is:
 * - an incoming webhook, `https://hooks.slack.com/services/T…/B…/<secret>` —
 *   the URL itself is the credential (its path is never shown);
 * - the Web API, `https://slack.com/api/chat.postMessage` with a bot token
 *   (the connector's secret) and the `channel` option.
 */
export type SlackMode = 'webhook' | 'api';

const WEBHOOK_PATH = /^\/services\/[^/]+\/[^/]+\/[^/]+\/?$/;
const API_PATH = /\/api\/chat\.postMessage\/?$/;

export function slackMode(url: URL): SlackMode | undefined {
  if (WEBHOOK_PATH.test(url.pathname)) return 'webhook';
  if (API_PATH.test(url.pathname)) return 'api';
  return undefined;
}

/**
 * The URL of another Web API method next to the configured chat.postMessage
 * one (`…/api/chat.update`), without the configured query string: passthrough
 * parameters belong to the URL the operator gave, not to other methods.
 */
export function methodUrl(postMessageUrl: URL, method: string): URL {
  const u = new URL(postMessageUrl.href);
  u.pathname = u.pathname.replace(/chat\.postMessage\/?$/, method);
  u.search = '';
  return u;
}

/** The path segments of an incoming-webhook URL (credentials), for scrubbing. */
export function webhookSecrets(url: URL): string[] {
  return url.pathname.split('/').filter((s) => s !== '' && s !== 'services');
}
