/**
 * Slack stand-in: incoming webhooks and the Web API methods probectl uses
 * (chat.postMessage, chat.update, conversations.history, auth.test).
 *
 * Followed:
 * - Incoming webhooks (https://api.slack.com/messaging/webhooks and the error
 *   table of https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks):
 *   POST JSON (or form `payload=`) with text/blocks/attachments/thread_ts to
 *   `/services/T…/B…/<secret>`; 200 body `ok`; errors as plain-text bodies:
 *   400 invalid_payload, 400 no_text, 400 invalid_blocks, 403 invalid_token
 *   (wrong secret), 404 no_service (unknown or removed webhook), 404
 *   channel_not_found, 410 channel_is_archived;
 * - Web API basics (https://docs.slack.dev/apis/web-api/): every answer is
 *   HTTP 200 with `{"ok":false,"error":"…"}` on failure, except rate limiting:
 *   HTTP 429 with Retry-After and `{"ok":false,"error":"ratelimited"}`
 *   (slackapi/node-slack-sdk packages/web-api/src/WebClient.ts); tokens as
 *   `Authorization: Bearer` (required with JSON bodies) or a `token` form
 *   field; not_authed / invalid_auth; JSON bodies without a charset get the
 *   `missing_charset` warning; `invalid_arguments` with
 *   `response_metadata.messages`;
 * - chat.postMessage (https://docs.slack.dev/reference/methods/chat.postMessage,
 *   request types in node-slack-sdk packages/web-api/src/types/request/chat.ts):
 *   channel + one of text / blocks / attachments (else no_text), text over
 *   40,000 characters is msg_too_long, invalid_blocks / invalid_blocks_format,
 *   channel_not_found, is_archived, not_in_channel, thread_ts replies,
 *   `metadata: {event_type, event_payload}` (packages/types/src/message-metadata.ts;
 *   https://api.slack.com/metadata/publishing) else invalid_metadata_format;
 *   answer `{ok, channel, ts, message}`;
 * - chat.update (https://docs.slack.dev/reference/methods/chat.update): channel +
 *   ts, message_not_found, cant_update_message (not this app's message);
 * - conversations.history (https://docs.slack.dev/reference/methods/conversations.history):
 *   form-encoded or query arguments only (JSON bodies are not accepted),
 *   newest first, top-level messages and thread parents only, `limit`
 *   (≤ 999), cursor pagination, `include_all_metadata` (default false: no
 *   `metadata` on messages);
 * - Block Kit: see slack-blocks.ts.
 * Stand-in choices: channels are addressed by ID only; a reply whose
 * `thread_ts` names no message is stored and flagged `orphan` (Slack does not
 * document an error for it); msg_too_long also applies to webhooks.
 */
import { hex, isRecord, jsonBody, schemeToken, StandIn, type VendorReply, type VendorRequest } from './harness.ts';
import { validateBlocks } from './slack-blocks.ts';

export interface SlackMessage {
  ts: string;
  channel: string;
  text: string;
  blocks: unknown[] | undefined;
  attachments: unknown[] | undefined;
  metadata: { event_type: string; event_payload: Record<string, unknown> } | undefined;
  threadTs: string | undefined;
  via: 'webhook' | 'api';
  /** Times chat.update edited it. */
  updates: number;
  /** A reply whose thread_ts named no message in the channel. */
  orphan: boolean;
}

export interface SlackWebhook {
  team: string;
  bot: string;
  secret: string;
  channel: string;
  /** The full webhook URL — a credential. */
  url: string;
}

export interface SlackOptions {
  botTokens?: string[];
  /** Channel IDs that exist (the bot is a member); default one. */
  channels?: string[];
  /** Channels that exist but the bot is not in. */
  notMemberOf?: string[];
  archived?: string[];
  /** Incoming webhooks to create, one per channel given; default one for the first channel. */
  webhookChannels?: string[];
}

const TEAM = 'T0PROBECTL';
const BOT_ID = 'B0PROBECTL';
const BOT_USER = 'U0PROBECTL';
const APP_ID = 'A0PROBECTL';
const MAX_TEXT = 40_000;

function fail(error: string, extra: Record<string, unknown> = {}): VendorReply {
  return { status: 200, body: { ok: false, error, ...extra } };
}
function plain(status: number, text: string): VendorReply {
  return { status, headers: { 'content-type': 'text/html' }, body: text };
}

export class Slack {
  readonly server: StandIn;
  readonly botTokens: string[];
  readonly webhooks: SlackWebhook[] = [];
  private readonly history = new Map<string, SlackMessage[]>();
  private readonly notMember: Set<string>;
  private readonly archived: Set<string>;
  private lastTsMicros = 0;

  private constructor(server: StandIn, opts: SlackOptions) {
    this.server = server;
    this.botTokens = opts.botTokens ?? [`xoxb-${hex(6)}-${hex(6)}-${hex(12)}`];
    for (const c of [...(opts.channels ?? ['C0PROBECTL1']), ...(opts.notMemberOf ?? []), ...(opts.archived ?? [])]) this.history.set(c, []);
    this.notMember = new Set(opts.notMemberOf ?? []);
    this.archived = new Set(opts.archived ?? []);
  }

  static async start(opts: SlackOptions = {}): Promise<Slack> {
    let slack: Slack | undefined;
    const server = await StandIn.start({
      name: 'slack',
      handle: (req) => slack!.handle(req),
      errorReply: (status, req) => {
        const web = req.path.startsWith('/api/');
        if (status === 429) return web ? { status, body: { ok: false, error: 'ratelimited' } } : plain(429, 'rate_limited');
        return web ? { status, body: { ok: false, error: 'internal_error' } } : plain(status, 'rollup_error');
      },
    });
    slack = new Slack(server, opts);
    const first = [...slack.history.keys()][0] as string;
    for (const channel of opts.webhookChannels ?? [first]) slack.addWebhook(channel);
    return slack;
  }

  get url(): string {
    return this.server.url;
  }
  /** Base of the Web API: `${apiUrl}/chat.postMessage`. */
  get apiUrl(): string {
    return `${this.server.url}/api`;
  }
  get botToken(): string {
    return this.botTokens[0] as string;
  }
  get channel(): string {
    return [...this.history.keys()][0] as string;
  }
  get webhookUrl(): string {
    return (this.webhooks[0] as SlackWebhook).url;
  }
  close(): Promise<void> {
    return this.server.close();
  }

  addWebhook(channel: string): SlackWebhook {
    if (!this.history.has(channel)) this.history.set(channel, []);
    const team = TEAM;
    const bot = `B${hex(5).toUpperCase()}`;
    const secret = hex(12);
    const w = { team, bot, secret, channel, url: `${this.server.url}/services/${team}/${bot}/${secret}` };
    this.webhooks.push(w);
    return w;
  }

  /** Removes a webhook (as uninstalling it does): its URL then answers 404 no_service. */
  removeWebhook(url: string): void {
    const i = this.webhooks.findIndex((w) => w.url === url);
    if (i >= 0) this.webhooks.splice(i, 1);
  }

  /** Every message of a channel, oldest first (replies included). */
  messages(channel = this.channel): SlackMessage[] {
    return this.history.get(channel) ?? [];
  }
  /** Top-level messages (thread roots and plain posts), oldest first. */
  roots(channel = this.channel): SlackMessage[] {
    return this.messages(channel).filter((m) => m.threadTs === undefined);
  }
  replies(ts: string, channel = this.channel): SlackMessage[] {
    return this.messages(channel).filter((m) => m.threadTs === ts);
  }

  private nextTs(): string {
    const now = Date.now() * 1000;
    this.lastTsMicros = Math.max(now, this.lastTsMicros + 1);
    return `${Math.floor(this.lastTsMicros / 1e6)}.${String(this.lastTsMicros % 1e6).padStart(6, '0')}`;
  }

  private handle(req: VendorRequest): VendorReply {
    const hook = /^\/services\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(req.path);
    if (hook) return this.webhook(req, hook[1] as string, hook[2] as string, hook[3] as string);
    const api = /^\/api\/([A-Za-z.]+)$/.exec(req.path);
    if (api) return this.webApi(req, api[1] as string);
    return plain(404, 'not_found');
  }

  private webhook(req: VendorRequest, team: string, bot: string, secret: string): VendorReply {
    const w = this.webhooks.find((x) => x.team === team && x.bot === bot);
    if (!w) return plain(404, 'no_service');
    if (w.secret !== secret) return plain(403, 'invalid_token');
    if (req.method !== 'POST') return plain(405, 'invalid_method');
    let body: unknown;
    if (req.contentType === 'application/json') body = jsonBody(req);
    else if (req.contentType === 'application/x-www-form-urlencoded') {
      const p = new URLSearchParams(req.raw.toString('utf8')).get('payload');
      try {
        body = p === null ? undefined : (JSON.parse(p) as unknown);
      } catch {
        body = undefined;
      }
    }
    if (!isRecord(body)) return plain(400, 'invalid_payload');
    if (this.archived.has(w.channel)) return plain(410, 'channel_is_archived');
    const content = this.content(body, false);
    if ('error' in content) return plain(400, content.error);
    const threadTs = typeof body.thread_ts === 'string' ? body.thread_ts : undefined;
    this.store(w.channel, content, threadTs, 'webhook');
    return plain(200, 'ok');
  }

  /** text / blocks / attachments / metadata of a message, validated. */
  private content(args: Record<string, unknown>, fromForm: boolean, requireSome = true): { text: string; blocks: unknown[] | undefined; attachments: unknown[] | undefined; metadata: SlackMessage['metadata'] } | { error: string; extra?: Record<string, unknown> } {
    let blocks = args.blocks;
    if (typeof blocks === 'string' && (fromForm || blocks.trim().startsWith('['))) {
      try {
        blocks = JSON.parse(blocks) as unknown;
      } catch {
        return { error: 'invalid_blocks_format' };
      }
    }
    if (blocks !== undefined && !Array.isArray(blocks)) return { error: 'invalid_blocks_format' };
    let attachments = args.attachments;
    if (typeof attachments === 'string') {
      try {
        attachments = JSON.parse(attachments) as unknown;
      } catch {
        return { error: 'invalid_attachments' };
      }
    }
    if (attachments !== undefined && !Array.isArray(attachments)) return { error: 'invalid_attachments' };
    const text = args.text;
    if (text !== undefined && typeof text !== 'string') return { error: 'invalid_arguments', extra: { response_metadata: { messages: ['[ERROR] must be a string [json-pointer:/text]'] } } };
    const hasText = typeof text === 'string' && text.trim() !== '';
    const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
    const hasAttachments = Array.isArray(attachments) && attachments.length > 0;
    if (requireSome && !hasText && !hasBlocks && !hasAttachments) return { error: 'no_text' };
    if (typeof text === 'string' && [...text].length > MAX_TEXT) return { error: 'msg_too_long' };
    if (Array.isArray(blocks)) {
      const errors = validateBlocks(blocks);
      if (errors.length > 0) return { error: 'invalid_blocks', extra: { errors, response_metadata: { messages: errors } } };
    }
    let metadata = args.metadata;
    if (typeof metadata === 'string') {
      try {
        metadata = JSON.parse(metadata) as unknown;
      } catch {
        return { error: 'invalid_metadata_format' };
      }
    }
    if (metadata !== undefined && !(isRecord(metadata) && typeof metadata.event_type === 'string' && /^[A-Za-z0-9_.-]{1,255}$/.test(metadata.event_type) && isRecord(metadata.event_payload))) {
      return { error: 'invalid_metadata_format' };
    }
    return { text: typeof text === 'string' ? text : '', blocks: blocks as unknown[] | undefined, attachments: attachments as unknown[] | undefined, metadata: metadata as SlackMessage['metadata'] };
  }

  private store(channel: string, c: { text: string; blocks: unknown[] | undefined; attachments: unknown[] | undefined; metadata: SlackMessage['metadata'] }, threadTs: string | undefined, via: SlackMessage['via']): SlackMessage {
    const list = this.history.get(channel) as SlackMessage[];
    const parent = threadTs === undefined ? undefined : list.find((m) => m.ts === threadTs);
    const m: SlackMessage = { ts: this.nextTs(), channel, ...c, threadTs: parent?.threadTs ?? threadTs, via, updates: 0, orphan: threadTs !== undefined && parent === undefined };
    list.push(m);
    return m;
  }

  private view(m: SlackMessage, withMetadata: boolean): Record<string, unknown> {
    const replies = m.threadTs === undefined ? this.replies(m.ts, m.channel) : [];
    return {
      type: 'message', subtype: 'bot_message', text: m.text, user: BOT_USER, bot_id: BOT_ID, app_id: APP_ID, team: TEAM, ts: m.ts,
      ...(m.blocks ? { blocks: m.blocks } : {}),
      ...(m.attachments ? { attachments: m.attachments } : {}),
      ...(m.threadTs ? { thread_ts: m.threadTs, parent_user_id: BOT_USER } : {}),
      ...(replies.length > 0 ? { thread_ts: m.ts, reply_count: replies.length, latest_reply: (replies.at(-1) as SlackMessage).ts } : {}),
      ...(m.updates > 0 ? { edited: { user: BOT_USER, ts: m.ts } } : {}),
      ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
    };
  }

  private webApi(req: VendorRequest, method: string): VendorReply {
    let args: Record<string, unknown> = Object.fromEntries(req.query);
    let fromForm = true;
    const warnings: string[] = [];
    if (req.method === 'POST') {
      if (req.contentType === 'application/json') {
        if (method === 'conversations.history') args = { ...args };
        else {
          const b = jsonBody(req);
          if (!isRecord(b)) return fail('invalid_json');
          args = { ...args, ...b };
          fromForm = false;
          if (req.charset === undefined) warnings.push('missing_charset');
        }
      } else if (req.contentType === 'application/x-www-form-urlencoded') {
        args = { ...args, ...Object.fromEntries(new URLSearchParams(req.raw.toString('utf8'))) };
      } else if (req.raw.length > 0) return fail('invalid_form_data');
    } else if (req.method !== 'GET') return fail('method_not_supported');

    const token = schemeToken(req, 'Bearer') ?? (fromForm && typeof args.token === 'string' ? args.token : undefined);
    if (token === undefined || token === '') return fail('not_authed');
    if (!this.botTokens.includes(token)) return fail('invalid_auth');
    const ok = (body: Record<string, unknown>): VendorReply => ({
      status: 200, body: { ok: true, ...body, ...(warnings.length ? { warning: warnings.join(','), response_metadata: { warnings } } : {}) },
    });

    switch (method) {
      case 'auth.test':
        return ok({ url: 'https://probectl-test.slack.com/', team: 'probectl test', user: 'probectl', team_id: TEAM, user_id: BOT_USER, bot_id: BOT_ID });
      case 'chat.postMessage': {
        const channel = String(args.channel ?? '');
        const problem = this.channelProblem(channel);
        if (problem) return fail(problem);
        const content = this.content(args, fromForm);
        if ('error' in content) return fail(content.error, content.extra);
        const threadTs = args.thread_ts === undefined ? undefined : String(args.thread_ts);
        const m = this.store(channel, content, threadTs, 'api');
        return ok({ channel, ts: m.ts, message: this.view(m, true) });
      }
      case 'chat.update': {
        const channel = String(args.channel ?? '');
        const problem = this.channelProblem(channel);
        if (problem) return fail(problem);
        if (typeof args.ts !== 'string' || args.ts === '') return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: ts'] } });
        const m = this.messages(channel).find((x) => x.ts === args.ts);
        if (!m) return fail('message_not_found');
        if (m.via !== 'api') return fail('cant_update_message');
        const content = this.content(args, fromForm);
        if ('error' in content) return fail(content.error, content.extra);
        m.text = content.text;
        m.blocks = content.blocks;
        if (content.attachments !== undefined) m.attachments = content.attachments;
        if (content.metadata !== undefined) m.metadata = content.metadata;
        m.updates++;
        return ok({ channel, ts: m.ts, text: m.text, message: this.view(m, true) });
      }
      case 'conversations.history': {
        const channel = args.channel;
        if (typeof channel !== 'string' || channel === '') return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: channel'] } });
        if (!this.history.has(channel)) return fail('channel_not_found');
        if (this.notMember.has(channel)) return fail('not_in_channel');
        const limit = args.limit === undefined ? 100 : Number(args.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 999) return fail('invalid_limit');
        const withMetadata = args.include_all_metadata === true || args.include_all_metadata === 'true' || args.include_all_metadata === '1';
        const inclusive = args.inclusive === 'true' || args.inclusive === '1' || args.inclusive === true;
        const oldest = args.oldest === undefined ? -Infinity : Number(args.oldest);
        const latest = args.latest === undefined ? Infinity : Number(args.latest);
        let list = this.roots(channel).filter((m) => {
          const t = Number(m.ts);
          return inclusive ? t >= oldest && t <= latest : t > oldest && t < latest;
        }).reverse();
        let offset = 0;
        if (typeof args.cursor === 'string' && args.cursor !== '') {
          const c = /^offset:(\d+)$/.exec(Buffer.from(args.cursor, 'base64').toString('utf8'));
          if (!c) return fail('invalid_cursor');
          offset = Number(c[1]);
        }
        const page = list.slice(offset, offset + limit);
        const more = offset + limit < list.length;
        list = page;
        return ok({
          messages: list.map((m) => this.view(m, withMetadata)), has_more: more, pin_count: 0,
          response_metadata: { next_cursor: more ? Buffer.from(`offset:${offset + limit}`).toString('base64') : '' },
        });
      }
      default:
        return fail('unknown_method');
    }
  }

  private channelProblem(channel: string): string | undefined {
    if (!this.history.has(channel)) return 'channel_not_found';
    if (this.archived.has(channel)) return 'is_archived';
    if (this.notMember.has(channel)) return 'not_in_channel';
    return undefined;
  }
}

