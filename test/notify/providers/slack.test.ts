import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { fromSlackError } from '../../../src/notify/providers/slack/classify.ts';
import { slack } from '../../../src/notify/providers/slack/index.ts';
import type { ConnectorEndpoint, OperationResult } from '../../../src/notify/providers/types.ts';
import { validateBlocks } from '../servers/slack-blocks.ts';
import { Slack, type SlackOptions } from '../servers/slack.ts';
import { assertNoSecret, testEndpoint, testIncident, testOp, update } from '../helpers/provider-endpoint.ts';

async function start(t: TestContext, opts: SlackOptions = {}) {
  const s = await Slack.start(opts);
  t.after(() => s.close());
  t.after(() => assert.deepEqual(s.server.handlerErrors, [], 'the stand-in itself failed'));
  return s;
}

function api(t: TestContext, s: Slack, over: { channel?: string; token?: string | undefined; query?: string; timeoutMs?: number } = {}): ConnectorEndpoint {
  return testEndpoint(t, {
    url: `${s.apiUrl}/chat.postMessage${over.query ?? ''}`,
    caPem: s.server.caPem,
    secret: 'token' in over ? over.token : s.botToken,
    options: { channel: over.channel ?? s.channel },
    ...(over.timeoutMs ? { timeoutMs: over.timeoutMs } : {}),
  });
}

function hook(t: TestContext, s: Slack, url = s.webhookUrl): ConnectorEndpoint {
  return testEndpoint(t, { url, caPem: s.server.caPem, secret: undefined });
}

function ok(r: OperationResult): asserts r is Extract<OperationResult, { kind: 'ok' }> {
  assert.equal(r.kind, 'ok', JSON.stringify(r));
}

describe('slack provider: Web API', () => {
  it('open posts one root with Block Kit, fallback text and metadata; every field checked', async (t) => {
    const s = await start(t);
    const ep = api(t, s);
    const inc = testIncident();
    const op = testOp('open', inc);
    const r = await slack.perform(op, ep, undefined);
    ok(r);
    const [root] = s.roots();
    assert.deepEqual(r.ref, { id: root!.ts, data: { channel: s.channel, ts: root!.ts } });
    const [req] = s.server.requests({ method: 'POST' });
    assert.equal(req!.path, '/api/chat.postMessage');
    assert.equal(req!.headers.authorization, `Bearer ${s.botToken}`);
    assert.equal(req!.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal((req!.reply as { warning?: string }).warning, undefined, 'no missing_charset warning');
    const b = req!.body as Record<string, unknown>;
    assert.deepEqual(Object.keys(b).sort(), ['blocks', 'channel', 'metadata', 'text', 'unfurl_links', 'unfurl_media']);
    assert.equal(b.channel, s.channel);
    assert.equal(b.text, 'Critical: Link down on core-1 (ge-0/0/1) · core-1.dc1.example.net (critical) — probectl');
    assert.deepEqual(b.metadata, { event_type: 'probectl_incident', event_payload: { incident_key: inc.key, incident_id: inc.id, idempotency_key: op.idempotencyKey } });
    assert.deepEqual(b.blocks, [
      { type: 'header', text: { type: 'plain_text', text: ':red_circle: Critical: Link down on core-1 (ge-0/0/1)', emoji: true } },
      { type: 'section', fields: [
        { type: 'mrkdwn', text: '*Severity*\ncritical', verbatim: true },
        { type: 'mrkdwn', text: '*Status*\nopen', verbatim: true },
        { type: 'mrkdwn', text: '*Target*\ncore-1.dc1.example.net', verbatim: true },
        { type: 'mrkdwn', text: '*Signals*\n3', verbatim: true },
      ] },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `probectl incident \`${inc.key}\` · link · opened 2026-03-01T11:58:00.000Z`, verbatim: true }] },
    ]);
    assert.deepEqual(validateBlocks(b.blocks), []);
    assert.equal(root!.via, 'api');
    assert.deepEqual(root!.metadata, b.metadata);
  });

  it('update replies in the thread; acknowledge and resolve edit the root: one thread, one reply', async (t) => {
    const s = await start(t);
    const ep = api(t, s);
    const inc = testIncident({ severity: 'warning' });
    const opened = await slack.perform(testOp('open', inc), ep, undefined);
    ok(opened);
    const ts = opened.ref!.id;
    ok(await slack.perform(testOp('update', { ...inc, severity: 'critical', signalCount: 7 }, { ref: opened.ref, update: update(4, 'warning', 'critical') }), ep, undefined));
    ok(await slack.perform(testOp('acknowledge', { ...inc, status: 'acknowledged' }, { ref: opened.ref }), ep, undefined));
    assert.match(String((s.roots()[0]!.blocks![0] as { text: { text: string } }).text.text), /^:eyes: Acknowledged: /);
    ok(await slack.perform(testOp('resolve', { ...inc, status: 'resolved' }, { ref: opened.ref }), ep, undefined));
    const reqs = s.server.requests({ method: 'POST' });
    assert.deepEqual(reqs.map((r) => r.path), ['/api/chat.postMessage', '/api/chat.postMessage', '/api/chat.update', '/api/chat.update']);
    assert.deepEqual(reqs[1]!.body, { channel: s.channel, thread_ts: ts, text: ':arrows_counterclockwise: 4 more signals correlated; severity rose from warning to critical.', unfurl_links: false, unfurl_media: false });
    const upd = reqs[3]!.body as Record<string, unknown>;
    assert.deepEqual([upd.channel, upd.ts], [s.channel, ts]);
    assert.equal(upd.metadata, undefined, 'the root keeps its metadata');
    assert.match(upd.text as string, /^Resolved: Link down/);
    assert.equal(s.roots().length, 1);
    assert.equal(s.messages().length, 2);
    const [root] = s.roots();
    assert.equal(root!.updates, 2);
    assert.equal((root!.blocks![0] as { text: { text: string } }).text.text, ':white_check_mark: Resolved: Link down on core-1 (ge-0/0/1)');
    assert.equal(root!.metadata?.event_payload.incident_key, inc.key);
    const [reply] = s.replies(ts);
    assert.equal(reply!.orphan, false);
  });

  it('without a recorded root, update/ack/resolve post new top-level messages naming the incident', async (t) => {
    const s = await start(t);
    const ep = api(t, s);
    const inc = testIncident();
    ok(await slack.perform(testOp('update', inc, { update: update(1, 'critical', 'critical') }), ep, undefined));
    ok(await slack.perform(testOp('resolve', { ...inc, status: 'resolved' }), ep, undefined));
    const roots = s.roots();
    assert.equal(roots.length, 2);
    assert.match(roots[0]!.text, /^:arrows_counterclockwise: 1 more signal correlated\. Link down on core-1 \(ge-0\/0\/1\) \(`probectl-/);
    assert.match(roots[1]!.text, /^Resolved: /);
  });

  it('passthrough query stays on chat.postMessage only; the channel option never reaches the URL', async (t) => {
    const s = await start(t);
    const ep = api(t, s, { query: '?unfurl_links=false' });
    const inc = testIncident();
    const opened = await slack.perform(testOp('open', inc), ep, undefined);
    ok(opened);
    ok(await slack.perform(testOp('resolve', inc, { ref: opened.ref }), ep, undefined));
    assert.deepEqual(s.server.requests({ method: 'POST' }).map((r) => r.path), ['/api/chat.postMessage?unfurl_links=false', '/api/chat.update']);
  });

  it('a lost response: the retry\'s lookup finds the root by metadata, so there is one root', async (t) => {
    const s = await start(t);
    const ep = api(t, s);
    const other = testIncident();
    ok(await slack.perform(testOp('open', other), ep, undefined));
    const inc = testIncident();
    assert.deepEqual(await slack.lookup!(inc, ep, undefined), { kind: 'none' });
    s.server.inject({ kind: 'lost-response', when: { path: '/api/chat.postMessage' } });
    const lost = await slack.perform(testOp('open', inc), ep, undefined);
    assert.equal(lost.kind, 'retryable');
    assert.equal(s.roots().length, 2, 'Slack posted it');
    const found = await slack.lookup!(inc, ep, undefined);
    const root = s.roots()[1]!;
    assert.deepEqual(found, { kind: 'found', ref: { id: root.ts, data: { channel: s.channel, ts: root.ts } } });
    const [hist] = s.server.requests({ path: '/api/conversations.history' }).slice(-1);
    assert.equal(hist!.method, 'GET');
    assert.equal(hist!.headers.authorization, `Bearer ${s.botToken}`);
    const q = new URL(hist!.path, 'https://x').searchParams;
    assert.deepEqual([q.get('channel'), q.get('include_all_metadata'), q.get('limit')], [s.channel, 'true', '100']);
    assert.equal(q.get('oldest'), ((Date.parse(inc.openedAt) - 300_000) / 1000).toFixed(6));
    assert.equal(s.roots().length, 2);
  });

  it('lookup pages through the history (cursor) and ignores roots of other incidents', async (t) => {
    const s = await start(t);
    const ep = api(t, s);
    const inc = testIncident();
    const mine = await slack.perform(testOp('open', inc), ep, undefined);
    ok(mine);
    for (let i = 0; i < 120; i++) ok(await slack.perform(testOp('open', testIncident()), ep, undefined));
    assert.deepEqual(await slack.lookup!(inc, ep, undefined), { kind: 'found', ref: mine.ref });
    const pages = s.server.requests({ path: '/api/conversations.history' });
    assert.equal(pages.length, 2);
    assert.ok(new URL(pages[1]!.path, 'https://x').searchParams.get('cursor'));
  });

  it('lookup answers are classified like any other (channel_not_found → paused, 429 → retryable)', async (t) => {
    const s = await start(t);
    const inc = testIncident();
    const gone = await slack.lookup!(inc, api(t, s, { channel: 'CGONE' }), undefined);
    assert.equal(gone.kind, 'paused');
    s.server.inject({ kind: 'status', status: 429, retryAfter: '3' });
    assert.deepEqual(await slack.lookup!(inc, api(t, s), undefined), { kind: 'retryable', reason: 'Slack ratelimited', retryAfterMs: 3_000 });
    assert.deepEqual(await slack.lookup!(inc, hook(t, s), undefined), { kind: 'none' }, 'an incoming webhook cannot look up');
  });

  it('limits: a 10,000-character title and target still make valid blocks; untrusted text cannot mention or link', async (t) => {
    const s = await start(t);
    const ep = api(t, s);
    const inc = testIncident({ title: `<!channel> <https://evil.example|click> & ${'x'.repeat(10_000)}`, target: `<@U123>${'&'.repeat(10_000)}`, kindFamily: 'k'.repeat(5_000) });
    const r = await slack.perform(testOp('open', inc), ep, undefined);
    ok(r);
    const root = s.roots()[0]!;
    assert.deepEqual(validateBlocks(root.blocks), []);
    const header = (root.blocks![0] as { text: { text: string } }).text.text;
    assert.equal([...header].length, 150);
    assert.ok(!root.text.includes('<!channel>') && root.text.startsWith('Critical: &lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; '));
    assert.ok([...root.text].length <= 3_000);
    const fields = (root.blocks![1] as { fields: Array<{ text: string }> }).fields;
    assert.ok(fields[2]!.text.startsWith('*Target*\n&lt;@U123&gt;&amp;'));
    assert.ok(fields.every((f) => [...f.text].length <= 2_000));
    const mrkdwn = JSON.stringify(root.blocks).match(/"type":"mrkdwn","text":"[^"]*"/g) ?? [];
    assert.equal(mrkdwn.length, 5);
    assert.ok(mrkdwn.every((m) => !m.includes('<')), 'no raw < in mrkdwn (plain_text header is never parsed)');
  });
});

describe('slack provider: Web API answers', () => {
  const table: Array<[string, OperationResult['kind']]> = [
    ['ratelimited', 'retryable'], ['internal_error', 'retryable'], ['fatal_error', 'retryable'], ['service_unavailable', 'retryable'], ['request_timeout', 'retryable'],
    ['invalid_auth', 'paused'], ['not_authed', 'paused'], ['account_inactive', 'paused'], ['token_revoked', 'paused'], ['token_expired', 'paused'], ['missing_scope', 'paused'], ['no_permission', 'paused'],
    ['channel_not_found', 'paused'], ['not_in_channel', 'paused'], ['is_archived', 'paused'], ['restricted_action', 'paused'],
    ['msg_too_long', 'permanent'], ['invalid_blocks', 'permanent'], ['invalid_blocks_format', 'permanent'], ['no_text', 'permanent'], ['invalid_arguments', 'permanent'],
    ['invalid_metadata_format', 'permanent'], ['message_not_found', 'permanent'], ['cant_update_message', 'permanent'], ['some_new_error', 'permanent'],
  ];
  it('HTTP 200 {"ok":false,"error":…}: the classification table, through the wire', async (t) => {
    const s = await start(t);
    const ep = api(t, s);
    for (const [error] of table) s.server.inject({ kind: 'status', status: 200, body: { ok: false, error }, headers: error === 'ratelimited' ? { 'retry-after': '9' } : {} });
    for (const [error, kind] of table) {
      const r = await slack.perform(testOp('open', testIncident()), ep, undefined);
      assert.equal(r.kind, kind, `${error}: ${JSON.stringify(r)}`);
      assert.match((r as { reason: string }).reason, new RegExp(`^Slack ${error}`));
      if (error === 'ratelimited') assert.equal((r as { retryAfterMs?: number }).retryAfterMs, 9_000);
    }
    assert.equal(s.messages().length, 0);
    assert.deepEqual(fromSlackError('<script>', 200, undefined), { kind: 'permanent', reason: 'Slack unreadable error', status: 200 });
  });

  it('real refusals of the stand-in: unknown channel, not a member, archived, wrong token, no token', async (t) => {
    const s = await start(t, { channels: ['C0PROBECTL1'], notMemberOf: ['CNOTIN'], archived: ['CARCH'] });
    const inc = testIncident();
    const cases: Array<[ConnectorEndpoint, string]> = [
      [api(t, s, { channel: 'CNOPE' }), 'Slack channel_not_found'],
      [api(t, s, { channel: 'CNOTIN' }), 'Slack not_in_channel'],
      [api(t, s, { channel: 'CARCH' }), 'Slack is_archived'],
      [api(t, s, { token: 'xoxb-wrong-token-0000' }), 'Slack invalid_auth'],
    ];
    for (const [ep, reason] of cases) {
      const r = await slack.perform(testOp('open', inc), ep, undefined);
      assert.equal(r.kind, 'paused', JSON.stringify(r));
      assert.ok((r as { reason: string }).reason.startsWith(reason), (r as { reason: string }).reason);
    }
    const none = await slack.perform(testOp('open', inc), api(t, s, { token: undefined }), undefined);
    assert.equal(none.kind, 'paused');
    assert.equal(s.messages().length, 0);
  });

  it('HTTP 429 + Retry-After, 5xx, reset, timeout → retryable; editing a vanished root → permanent', async (t) => {
    const s = await start(t);
    const ep = api(t, s, { timeoutMs: 300 });
    const inc = testIncident();
    s.server.inject({ kind: 'status', status: 429, retryAfter: '30' }, { kind: 'status', status: 503 }, { kind: 'reset' }, { kind: 'hang' }, { kind: 'status', status: 200, body: 'not json' });
    assert.deepEqual(await slack.perform(testOp('open', inc), ep, undefined), { kind: 'retryable', reason: 'Slack ratelimited', retryAfterMs: 30_000 });
    assert.deepEqual(await slack.perform(testOp('open', inc), ep, undefined), { kind: 'retryable', reason: 'Slack answered 503: internal_error', retryAfterMs: undefined });
    assert.equal((await slack.perform(testOp('open', inc), ep, undefined)).kind, 'retryable');
    assert.equal((await slack.perform(testOp('open', inc), ep, undefined)).kind, 'retryable');
    assert.deepEqual(await slack.perform(testOp('open', inc), ep, undefined), { kind: 'retryable', reason: 'Slack answered 200 without a Web API body' });
    const gone = await slack.perform(testOp('resolve', inc, { ref: { id: '1.000001', data: { channel: s.channel, ts: '1.000001' } } }), ep, undefined);
    assert.deepEqual(gone, { kind: 'permanent', reason: 'Slack message_not_found', status: 200 });
    assert.equal(s.messages().length, 0);
  });
});

describe('slack provider: incoming webhook', () => {
  it('every action posts a new message to the webhook; the ref is the incident key', async (t) => {
    const s = await start(t);
    const ep = hook(t, s);
    const inc = testIncident();
    const opened = await slack.perform(testOp('open', inc), ep, undefined);
    ok(opened);
    assert.deepEqual(opened.ref, { id: inc.key, data: { mode: 'webhook' } });
    ok(await slack.perform(testOp('update', inc, { ref: opened.ref, update: update(2, 'critical', 'critical') }), ep, undefined));
    ok(await slack.perform(testOp('acknowledge', { ...inc, status: 'acknowledged' }, { ref: opened.ref }), ep, undefined));
    ok(await slack.perform(testOp('resolve', { ...inc, status: 'resolved' }, { ref: opened.ref }), ep, undefined));
    const reqs = s.server.requests({ method: 'POST' });
    assert.equal(reqs.length, 4);
    for (const r of reqs) {
      assert.equal(r.path, new URL(s.webhookUrl).pathname);
      assert.equal(r.headers.authorization, undefined);
      assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(r.reply, 'ok');
      const b = r.body as Record<string, unknown>;
      assert.equal(b.thread_ts, undefined);
      assert.equal(b.metadata, undefined);
      assert.equal(b.channel, undefined);
      assert.deepEqual(validateBlocks(b.blocks), []);
    }
    const roots = s.roots();
    assert.equal(roots.length, 4);
    assert.ok(roots.every((m) => m.via === 'webhook'));
    assert.match(roots[0]!.text, /^Critical: Link down/);
    assert.match(roots[1]!.text, /^:arrows_counterclockwise: 2 more signals correlated\. Link down .*`probectl-/);
    assert.match(roots[2]!.text, /^Acknowledged: Link down/);
    assert.match(roots[3]!.text, /^Resolved: Link down/);
  });

  it('answers: 403 invalid_token / 404 no_service / 410 channel_is_archived → paused; 400 invalid_blocks → permanent; 429, 5xx, lost → retryable', async (t) => {
    const s = await start(t, { channels: ['C1'], archived: ['CARCH'], webhookChannels: ['C1', 'CARCH'] });
    const inc = testIncident();
    const [w1, w2] = s.webhooks;
    const wrongSecret = `${s.url}/services/${w1!.team}/${w1!.bot}/0000wrongsecret`;
    const r403 = await slack.perform(testOp('open', inc), hook(t, s, wrongSecret), undefined);
    assert.equal(r403.kind, 'paused');
    assert.match((r403 as { reason: string }).reason, /^Slack invalid_token/);
    const r410 = await slack.perform(testOp('open', inc), hook(t, s, w2!.url), undefined);
    assert.match((r410 as { reason: string }).reason, /^Slack channel_is_archived/);
    assert.equal(r410.kind, 'paused');
    const ep = hook(t, s, w1!.url);
    s.server.inject(
      { kind: 'status', status: 400, body: 'invalid_blocks' },
      { kind: 'status', status: 429, retryAfter: '12' },
      { kind: 'status', status: 500 },
      { kind: 'lost-response' },
      { kind: 'status', status: 418, body: 'short and stout' },
    );
    assert.deepEqual(await slack.perform(testOp('open', inc), ep, undefined), { kind: 'permanent', reason: 'Slack invalid_blocks', status: 400 });
    assert.deepEqual(await slack.perform(testOp('open', inc), ep, undefined), { kind: 'retryable', reason: 'Slack rate_limited', retryAfterMs: 12_000 });
    assert.deepEqual(await slack.perform(testOp('open', inc), ep, undefined), { kind: 'retryable', reason: 'Slack rollup_error', retryAfterMs: undefined });
    assert.equal((await slack.perform(testOp('open', inc), ep, undefined)).kind, 'retryable');
    assert.deepEqual(await slack.perform(testOp('open', inc), ep, undefined), { kind: 'permanent', reason: 'Slack answered 418: short and stout', status: 418 });
    assert.equal(s.messages('C1').length, 1, 'only the lost one was posted');
    s.removeWebhook(w1!.url);
    const r404 = await slack.perform(testOp('open', inc), ep, undefined);
    assert.equal(r404.kind, 'paused');
    assert.match((r404 as { reason: string }).reason, /^Slack no_service/);
  });
});

describe('slack provider: configuration and secrets', () => {
  it('validate: webhook takes no secret or channel; the Web API needs both; other URLs refused', () => {
    const w = new URL('https://hooks.slack.com/services/T0001/B0001/XXXXXXXXXXXXXXXXXXXXXXXX');
    const a = new URL('https://slack.com/api/chat.postMessage');
    assert.deepEqual(slack.validate!(w, {}, false), []);
    assert.deepEqual(slack.validate!(a, { channel: 'C0123ABCD' }, true), []);
    assert.deepEqual(slack.validate!(w, { channel: 'C0123ABCD' }, true).length, 2);
    const missing = slack.validate!(a, {}, false);
    assert.equal(missing.length, 2);
    assert.match(missing.join(' | '), /channel option.*bot token/);
    assert.equal(slack.validate!(new URL('https://slack.com/api/chat.update'), {}, true).length, 1);
    assert.equal(slack.validate!(new URL('https://hooks.slack.com/workflows/T1/A1/1/x'), {}, false).length, 1);
    for (const p of slack.validate!(w, { channel: 'C0123ABCD' }, true)) assert.ok(!p.includes('XXXX'));
  });

  it('channel option: IDs only; defaults: info, passthrough query', () => {
    const channel = slack.options.find((o) => o.name === 'channel')!;
    assert.equal(channel.parse!(' C0123ABCD '), 'C0123ABCD');
    assert.equal(channel.parse!('G01ABC'), 'G01ABC');
    for (const bad of ['#ops', 'ops', 'c0123', 'C', 'U0123ABCD']) assert.throws(() => channel.parse!(bad), /channel ID/);
    assert.equal(slack.defaultMinSeverity, 'info');
    assert.equal(slack.passthroughQuery, true);
  });

  it('display never shows the webhook path or any query', () => {
    assert.equal(slack.display(new URL('https://hooks.slack.com/services/T0001/B0001/SECRETSECRET?x=1')), 'https://hooks.slack.com/services/… (incoming webhook)');
    assert.equal(slack.display(new URL('https://slack.com/api/chat.postMessage?channel=C1&foo=bar')), 'https://slack.com/api/chat.postMessage');
    assert.equal(slack.display(new URL('https://example.com/a/b/c/d')), 'https://example.com');
  });

  it('canary: the bot token and the webhook path never appear in a result, ref or display', async (t) => {
    const s = await start(t);
    const inc = testIncident();
    const results: unknown[] = [];
    const ep = api(t, s, { timeoutMs: 300 });
    const h = hook(t, s);
    s.server.inject({ kind: 'status', status: 200, body: { ok: false, error: s.botToken } }, { kind: 'reset' }, { kind: 'status', status: 401 }, { kind: 'hang' });
    for (let i = 0; i < 5; i++) results.push(await slack.perform(testOp('open', inc), ep, undefined));
    results.push(await slack.lookup!(inc, ep, undefined));
    s.server.inject({ kind: 'reset' }, { kind: 'status', status: 403, body: s.webhooks[0]!.secret });
    for (let i = 0; i < 3; i++) results.push(await slack.perform(testOp('open', inc), h, undefined));
    results.push(slack.display(ep.url), slack.display(h.url));
    const secrets = [s.botToken, s.webhooks[0]!.secret, new URL(s.webhookUrl).pathname];
    assertNoSecret(results, secrets);
    assert.ok(results.some((r) => (r as { kind?: string }).kind === 'ok'));
  });
});
