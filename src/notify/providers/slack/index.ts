import { safeOrigin } from '../../../core/http/transport.ts';
import type { NotifyProvider, OptionSpec } from '../types.ts';
import { lookupWebApi, performWebApi } from './webapi.ts';
import { performWebhook } from './webhook.ts';
import { slackMode } from './mode.ts';

/**
 * Slack: an incoming webhook (the URL is the credential, no secret) or the
 * Web API (`https://slack.com/api/chat.postMessage`, a bot token as the
 * secret, the `channel` option — a channel ID, which chat.update and
 * conversations.history require). The endpoint's other query parameters are
 * Slack's and are passed through on the configured URL. Web API: a thread
 * per incident, acknowledgement and resolution edit the root, lookup by
 * message metadata. Incoming webhooks: a new message per action, no lookup.
 * Default min_severity: info.
 */

const options: readonly OptionSpec[] = [
  {
    name: 'channel',
    accepts: 'Web API only: the channel ID to post in (C…, G… or D…; not a #name)',
    parse(value) {
      const v = value.trim();
      if (!/^[CDG][A-Z0-9]{1,30}$/.test(v)) throw new Error('channel must be a channel ID such as C0123ABCD (not a #name)');
      return v;
    },
  },
];

export const slack: NotifyProvider = {
  name: 'slack',
  defaultMinSeverity: 'info',
  options,
  passthroughQuery: true,
  validate(url, opts, secretGiven) {
    const mode = slackMode(url);
    if (!mode) return ['the endpoint must be an incoming-webhook URL (https://hooks.slack.com/services/T…/B…/…) or https://slack.com/api/chat.postMessage'];
    const problems: string[] = [];
    if (mode === 'webhook') {
      if (opts.channel !== undefined) problems.push('channel applies to the Web API only: an incoming webhook posts to the channel it was created for');
      if (secretGiven) problems.push('an incoming webhook takes no secret: its URL is the credential');
    } else {
      if (opts.channel === undefined) problems.push('the Web API needs the channel option (a channel ID such as C0123ABCD)');
      if (!secretGiven) problems.push('the Web API needs a bot token (xoxb-…) as the secret');
    }
    return problems;
  },
  display(url) {
    const mode = slackMode(url);
    if (mode === 'webhook') return `${safeOrigin(url)}/services/… (incoming webhook)`;
    if (mode === 'api') return `${safeOrigin(url)}${url.pathname.replace(/\/+$/, '')}`;
    return safeOrigin(url);
  },
  async perform(op, ep, signal) {
    if (slackMode(ep.url) === 'webhook') return performWebhook(op, ep, signal);
    const token = (await ep.secret())?.trim();
    if (!token) return { kind: 'paused', reason: 'the Slack Web API needs a bot token as the connector secret' };
    return performWebApi(op, ep, token, signal);
  },
  async lookup(incident, ep, signal) {
    if (slackMode(ep.url) === 'webhook') return { kind: 'none' };
    const token = (await ep.secret())?.trim();
    if (!token) return { kind: 'paused', reason: 'the Slack Web API needs a bot token as the connector secret' };
    return lookupWebApi(incident, ep, token, signal);
  },
};
