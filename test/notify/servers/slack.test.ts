import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { vendorClient } from './client.ts';
import { Slack, type SlackOptions } from './slack.ts';
import { validateBlocks } from './slack-blocks.ts';

async function setup(t: TestContext, opts: SlackOptions = {}) {
  const slack = await Slack.start(opts);
  t.after(() => slack.close());
  t.after(() => assert.deepEqual(slack.server.handlerErrors, [], 'the stand-in itself failed'));
  const { call } = vendorClient(t, slack.server.caPem);
  const bearer = { authorization: `Bearer ${slack.botToken}`, 'content-type': 'application/json; charset=utf-8' };
  const api = async (method: string, args: unknown, headers: Record<string, string> = bearer) => {
    const res = await call(`${slack.apiUrl}/${method}`, { body: JSON.stringify(args), headers });
    return { status: res.status, body: res.json() as Record<string, unknown> & { ok: boolean; error?: string } };
  };
  return { slack, call, api, bearer };
}

const blocks = [
  { type: 'header', text: { type: 'plain_text', text: 'Incident INC-1: link down' } },
  { type: 'section', text: { type: 'mrkdwn', text: '*Severity:* critical' }, fields: [{ type: 'mrkdwn', text: '*Tenant*\nacme' }] },
  { type: 'context', elements: [{ type: 'mrkdwn', text: 'probectl' }] },
  { type: 'divider' },
  { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open' }, url: 'https://probectl.example/incidents/1', action_id: 'open' }] },
];
const metadata = { event_type: 'probectl_incident', event_payload: { incident_key: 'probectl-inc-1' } };

describe('Slack incoming webhook stand-in', () => {
  it('posts JSON text/blocks and answers 200 "ok"; thread_ts makes a reply', async (t) => {
    const { slack, call } = await setup(t);
    const res = await call(slack.webhookUrl, { json: { text: 'Incident INC-1', blocks } });
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'ok');
    const [m] = slack.roots();
    assert.equal(m!.text, 'Incident INC-1');
    assert.equal(m!.via, 'webhook');
    await call(slack.webhookUrl, { json: { text: 'follow-up', thread_ts: m!.ts } });
    assert.equal(slack.replies(m!.ts).length, 1);
  });

  it('form payload= is accepted; errors are plain-text bodies with the documented statuses', async (t) => {
    const { slack, call } = await setup(t);
    const form = await call(slack.webhookUrl, { body: `payload=${encodeURIComponent(JSON.stringify({ text: 'hi' }))}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(form.status, 200);
    const cases: Array<[string, { body: string; ct: string }, number, string]> = [
      ['not JSON', { body: '{text', ct: 'application/json' }, 400, 'invalid_payload'],
      ['no text or blocks', { body: '{}', ct: 'application/json' }, 400, 'no_text'],
      ['bad blocks', { body: JSON.stringify({ text: 'x', blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'x' } }] }), ct: 'application/json' }, 400, 'invalid_blocks'],
    ];
    for (const [, { body, ct }, status, text] of cases) {
      const res = await call(slack.webhookUrl, { body, headers: { 'content-type': ct } });
      assert.deepEqual([res.status, res.text()], [status, text]);
    }
    const w = slack.webhooks[0]!;
    assert.deepEqual(await call(`${slack.url}/services/${w.team}/${w.bot}/wrongsecret`, { json: { text: 'x' } }).then((r) => [r.status, r.text()]), [403, 'invalid_token']);
    slack.removeWebhook(w.url);
    assert.deepEqual(await call(w.url, { json: { text: 'x' } }).then((r) => [r.status, r.text()]), [404, 'no_service']);
    assert.equal(slack.messages().length, 1);
  });

  it('an archived channel answers 410 channel_is_archived', async (t) => {
    const { slack, call } = await setup(t, { channels: ['C1'], archived: ['CARCH'], webhookChannels: ['CARCH'] });
    const res = await call(slack.webhookUrl, { json: { text: 'x' } });
    assert.deepEqual([res.status, res.text()], [410, 'channel_is_archived']);
  });
});

describe('Slack Web API stand-in', () => {
  it('chat.postMessage with blocks, fallback text and metadata → ok, ts; replies in the thread', async (t) => {
    const { slack, api } = await setup(t);
    const root = await api('chat.postMessage', { channel: slack.channel, text: 'Incident INC-1: link down', blocks, metadata });
    assert.equal(root.status, 200);
    assert.equal(root.body.ok, true, JSON.stringify(root.body));
    const ts = root.body.ts as string;
    assert.match(ts, /^\d{10}\.\d{6}$/);
    assert.equal(root.body.channel, slack.channel);
    assert.deepEqual((root.body.message as { metadata: unknown }).metadata, metadata);
    const reply = await api('chat.postMessage', { channel: slack.channel, text: '3 more signals', thread_ts: ts });
    assert.equal(reply.body.ok, true);
    assert.equal(slack.replies(ts).length, 1);
    assert.equal(slack.replies(ts)[0]!.orphan, false);
  });

  it('chat.update edits the root message by channel + ts; unknown ts is message_not_found', async (t) => {
    const { slack, api } = await setup(t);
    const ts = (await api('chat.postMessage', { channel: slack.channel, text: 'open', blocks })).body.ts as string;
    const upd = await api('chat.update', { channel: slack.channel, ts, text: 'resolved', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: ':white_check_mark: resolved' } }] });
    assert.equal(upd.body.ok, true);
    assert.equal(upd.body.ts, ts);
    assert.equal(slack.roots()[0]!.text, 'resolved');
    assert.equal(slack.roots()[0]!.updates, 1);
    assert.equal((await api('chat.update', { channel: slack.channel, ts: '1.000001', text: 'x' })).body.error, 'message_not_found');
  });

  it('chat.update cannot edit a webhook-posted message', async (t) => {
    const { slack, call, api } = await setup(t);
    await call(slack.webhookUrl, { json: { text: 'from webhook' } });
    const ts = slack.roots()[0]!.ts;
    assert.equal((await api('chat.update', { channel: slack.channel, ts, text: 'x' })).body.error, 'cant_update_message');
  });

  it('conversations.history: newest first, roots only, metadata only with include_all_metadata=true, form or query only', async (t) => {
    const { slack, call, api, bearer } = await setup(t);
    const first = (await api('chat.postMessage', { channel: slack.channel, text: 'first', metadata })).body.ts as string;
    await api('chat.postMessage', { channel: slack.channel, text: 'reply', thread_ts: first });
    await api('chat.postMessage', { channel: slack.channel, text: 'second' });
    const form = async (args: Record<string, string>) => (await call(`${slack.apiUrl}/conversations.history`, {
      body: new URLSearchParams(args).toString(), headers: { authorization: bearer.authorization, 'content-type': 'application/x-www-form-urlencoded' },
    })).json() as { ok: boolean; messages: Array<Record<string, unknown>>; error?: string; has_more: boolean; response_metadata: { next_cursor: string } };
    const plainHistory = await form({ channel: slack.channel });
    assert.equal(plainHistory.ok, true);
    assert.deepEqual(plainHistory.messages.map((m) => m.text), ['second', 'first']);
    assert.equal(plainHistory.messages[1]!.metadata, undefined);
    assert.equal(plainHistory.messages[1]!.reply_count, 1);
    const withMeta = await form({ channel: slack.channel, include_all_metadata: 'true' });
    assert.deepEqual(withMeta.messages[1]!.metadata, metadata);
    const paged = await form({ channel: slack.channel, limit: '1' });
    assert.equal(paged.has_more, true);
    const next = await form({ channel: slack.channel, limit: '1', cursor: paged.response_metadata.next_cursor });
    assert.deepEqual(next.messages.map((m) => m.text), ['first']);
    const viaGet = (await call(`${slack.apiUrl}/conversations.history?channel=${slack.channel}&include_all_metadata=true`, { headers: { authorization: bearer.authorization } })).json() as { messages: unknown[] };
    assert.equal(viaGet.messages.length, 2);
    const json = await api('conversations.history', { channel: slack.channel });
    assert.equal(json.body.error, 'invalid_arguments');
  });

  const errorCases: Array<[string, (ch: string) => unknown, string]> = [
    ['no channel', () => ({ text: 'x' }), 'channel_not_found'],
    ['unknown channel', () => ({ channel: 'CNOPE', text: 'x' }), 'channel_not_found'],
    ['neither text nor blocks', (ch) => ({ channel: ch }), 'no_text'],
    ['text over 40,000 characters', (ch) => ({ channel: ch, text: 'x'.repeat(40_001) }), 'msg_too_long'],
    ['unknown block type', (ch) => ({ channel: ch, text: 'x', blocks: [{ type: 'banner' }] }), 'invalid_blocks'],
    ['header with mrkdwn text', (ch) => ({ channel: ch, text: 'x', blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'x' } }] }), 'invalid_blocks'],
    ['section text over 3000', (ch) => ({ channel: ch, text: 'x', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'y'.repeat(3001) } }] }), 'invalid_blocks'],
    ['more than 50 blocks', (ch) => ({ channel: ch, text: 'x', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) }), 'invalid_blocks'],
    ['blocks not an array', (ch) => ({ channel: ch, text: 'x', blocks: { type: 'divider' } }), 'invalid_blocks_format'],
    ['metadata without event_payload', (ch) => ({ channel: ch, text: 'x', metadata: { event_type: 'probectl_incident' } }), 'invalid_metadata_format'],
  ];
  for (const [name, args, error] of errorCases) {
    it(`HTTP 200 {ok:false, error:${error}}: ${name}`, async (t) => {
      const { slack, api } = await setup(t);
      const res = await api('chat.postMessage', args(slack.channel));
      assert.equal(res.status, 200);
      assert.equal(res.body.ok, false);
      assert.equal(res.body.error, error);
      assert.equal(slack.messages().length, 0);
    });
  }

  it('invalid_blocks carries Slack-style messages with a json-pointer', async (t) => {
    const { slack, api } = await setup(t);
    const res = await api('chat.postMessage', { channel: slack.channel, text: 'x', blocks: [{ type: 'section' }] });
    assert.deepEqual((res.body.response_metadata as { messages: string[] }).messages, ['[ERROR] must provide text or fields [json-pointer:/blocks/0]']);
  });

  it('credentials: none → not_authed, wrong → invalid_auth, token inside a JSON body is ignored; form token field works', async (t) => {
    const { slack, call, api } = await setup(t);
    assert.equal((await api('chat.postMessage', { channel: slack.channel, text: 'x' }, { 'content-type': 'application/json; charset=utf-8' })).body.error, 'not_authed');
    assert.equal((await api('chat.postMessage', { channel: slack.channel, text: 'x' }, { authorization: 'Bearer xoxb-wrong', 'content-type': 'application/json; charset=utf-8' })).body.error, 'invalid_auth');
    assert.equal((await api('chat.postMessage', { channel: slack.channel, text: 'x', token: slack.botToken }, { 'content-type': 'application/json; charset=utf-8' })).body.error, 'not_authed');
    const form = await call(`${slack.apiUrl}/chat.postMessage`, { body: new URLSearchParams({ token: slack.botToken, channel: slack.channel, text: 'x', blocks: JSON.stringify(blocks) }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal((form.json() as { ok: boolean }).ok, true);
    assert.equal(slack.messages().length, 1);
  });

  it('JSON without charset is accepted with the missing_charset warning; not_in_channel and is_archived', async (t) => {
    const { api, bearer } = await setup(t, { channels: ['C1'], notMemberOf: ['COUT'], archived: ['CARCH'] });
    const res = await api('chat.postMessage', { channel: 'C1', text: 'x' }, { authorization: bearer.authorization, 'content-type': 'application/json' });
    assert.equal(res.body.ok, true);
    assert.equal(res.body.warning, 'missing_charset');
    assert.equal((await api('chat.postMessage', { channel: 'COUT', text: 'x' })).body.error, 'not_in_channel');
    assert.equal((await api('chat.postMessage', { channel: 'CARCH', text: 'x' })).body.error, 'is_archived');
  });

  it('429 ratelimited with Retry-After is injectable for the Web API; a lost post is stored once', async (t) => {
    const { slack, api, call, bearer } = await setup(t);
    slack.server.inject({ kind: 'status', status: 429, retryAfter: '3' }, { kind: 'lost-response' });
    const res = await call(`${slack.apiUrl}/chat.postMessage`, { json: { channel: slack.channel, text: 'x' }, headers: bearer });
    assert.equal(res.status, 429);
    assert.equal(res.headers['retry-after'], '3');
    assert.deepEqual(res.json(), { ok: false, error: 'ratelimited' });
    await assert.rejects(api('chat.postMessage', { channel: slack.channel, text: 'lost', metadata }));
    assert.equal(slack.messages().length, 1);
    assert.equal(slack.messages()[0]!.text, 'lost');
  });

  it('orphan replies are flagged; a reply to a reply lands in the root thread', async (t) => {
    const { slack, api } = await setup(t);
    await api('chat.postMessage', { channel: slack.channel, text: 'x', thread_ts: '1700000000.000001' });
    assert.equal(slack.messages()[0]!.orphan, true);
    const root = (await api('chat.postMessage', { channel: slack.channel, text: 'root' })).body.ts as string;
    const reply = (await api('chat.postMessage', { channel: slack.channel, text: 'r1', thread_ts: root })).body.ts as string;
    await api('chat.postMessage', { channel: slack.channel, text: 'r2', thread_ts: reply });
    assert.equal(slack.replies(root).length, 2);
  });
});

describe('Block Kit validation', () => {
  it('accepts the documented basics and rejects what Slack rejects', () => {
    assert.deepEqual(validateBlocks(blocks), []);
    assert.deepEqual(validateBlocks([{ type: 'markdown', text: '**bold**' }, { type: 'image', image_url: 'https://x.test/a.png', alt_text: 'graph' }]), []);
    const bad = validateBlocks([
      { type: 'section', text: { type: 'plain_text', text: '' } },
      { type: 'section', block_id: 'a', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) },
      { type: 'divider', block_id: 'a' },
      { type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } },
      { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'x' }, style: 'blue' }] },
      { type: 'image', image_url: 'https://x.test/a.png' },
      { type: 'section', text: { type: 'mrkdwn', text: 'x', emoji: true } },
    ]);
    for (const pointer of ['/blocks/0/text/text', '/blocks/1/fields', '/blocks/2/block_id', '/blocks/3/text/text', '/blocks/4/elements/0/style', '/blocks/5/alt_text', '/blocks/6/text/emoji']) {
      assert.ok(bad.some((e) => e.endsWith(`[json-pointer:${pointer}]`)), `${pointer}: ${bad.join('\n')}`);
    }
  });
});
