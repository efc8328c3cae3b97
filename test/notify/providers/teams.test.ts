import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { teams } from '../../../src/notify/providers/teams/index.ts';
import type { ConnectorEndpoint, OperationResult } from '../../../src/notify/providers/types.ts';
import { cardProblem, Teams, type TeamsOptions } from '../servers/teams.ts';
import { assertNoSecret, testEndpoint, testIncident, testOp, update } from '../helpers/provider-endpoint.ts';

async function start(t: TestContext, opts: TeamsOptions = {}) {
  const tm = await Teams.start(opts);
  t.after(() => tm.close());
  t.after(() => assert.deepEqual(tm.server.handlerErrors, [], 'the stand-in itself failed'));
  return tm;
}

function ep(t: TestContext, tm: Teams, url = tm.url, secret?: string, timeoutMs?: number): ConnectorEndpoint {
  return testEndpoint(t, { url, caPem: tm.server.caPem, secret, urlSecretParam: teams.urlSecretParam, ...(timeoutMs ? { timeoutMs } : {}) });
}

function ok(r: OperationResult): asserts r is Extract<OperationResult, { kind: 'ok' }> {
  assert.equal(r.kind, 'ok', JSON.stringify(r));
}

type Card = { type: string; version: string; body: Array<Record<string, unknown>> };

describe('teams provider', () => {
  it('open posts one Adaptive Card 1.5 in the message envelope; every field checked', async (t) => {
    const tm = await start(t);
    const inc = testIncident();
    const r = await teams.perform(testOp('open', inc), ep(t, tm), undefined);
    ok(r);
    assert.equal(r.ref?.id, inc.key);
    assert.match(r.ref?.data?.run ?? '', /^[0-9a-f]{24}$/);
    const [req] = tm.server.requests();
    assert.equal(req!.method, 'POST');
    assert.equal(req!.status, 202);
    const q = new URL(req!.path, 'https://x').searchParams;
    assert.deepEqual([q.get('api-version'), q.get('sp'), q.get('sv'), q.get('sig')], ['2016-06-01', '/triggers/manual/run', '1.0', tm.sig]);
    assert.equal(req!.headers.authorization, undefined);
    assert.equal(req!.headers['content-type'], 'application/json; charset=utf-8');
    const body = req!.body as { type: string; attachments: Array<Record<string, unknown>> };
    assert.deepEqual(Object.keys(body), ['type', 'attachments']);
    assert.equal(body.type, 'message');
    assert.equal(body.attachments.length, 1);
    assert.equal(body.attachments[0]!.contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(body.attachments[0]!.contentUrl, null);
    const card = body.attachments[0]!.content as Card;
    assert.equal(cardProblem(card), undefined);
    assert.equal(card.type, 'AdaptiveCard');
    assert.equal(card.version, '1.5');
    assert.equal((card as unknown as Record<string, unknown>)['@type'], undefined, 'never a MessageCard');
    assert.deepEqual(card.body, [
      { type: 'TextBlock', text: 'Critical incident', wrap: true, weight: 'Bolder', size: 'Medium', color: 'Attention' },
      { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: inc.title, size: 'Large', weight: 'Bolder' }] },
      { type: 'FactSet', facts: [{ title: 'Severity', value: 'critical' }, { title: 'Status', value: 'open' }, { title: 'Signals', value: '3' }, { title: 'Opened', value: inc.openedAt }] },
      { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: 'Target: ', weight: 'Bolder' }, { type: 'TextRun', text: inc.target }] },
      { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: 'Kind: ', weight: 'Bolder' }, { type: 'TextRun', text: 'link' }] },
      { type: 'TextBlock', text: `probectl incident ${inc.key}`, wrap: true, isSubtle: true, size: 'Small' },
    ]);
    assert.equal(tm.cards.length, 1);
  });

  it('update, acknowledge and resolve each post a new card (no edit)', async (t) => {
    const tm = await start(t);
    const e = ep(t, tm);
    const inc = testIncident({ severity: 'warning' });
    const opened = await teams.perform(testOp('open', inc), e, undefined);
    ok(opened);
    ok(await teams.perform(testOp('update', inc, { ref: opened.ref, update: update(2, 'warning', 'critical') }), e, undefined));
    ok(await teams.perform(testOp('acknowledge', { ...inc, status: 'acknowledged' }, { ref: opened.ref }), e, undefined));
    ok(await teams.perform(testOp('resolve', { ...inc, status: 'resolved' }, { ref: opened.ref }), e, undefined));
    const cards = tm.cards as unknown as Card[];
    assert.equal(cards.length, 4);
    assert.ok(cards.every((c) => cardProblem(c) === undefined));
    assert.deepEqual(cards.map((c) => c.body[0]!.text), ['Warning incident', '🔄 Update', '👀 Acknowledged', '✅ Resolved']);
    assert.equal(cards[1]!.body[2]!.text, '2 more signals correlated; severity rose from warning to critical.');
    assert.deepEqual(cards[3]!.body[2]!.facts, [{ title: 'Severity', value: 'warning' }, { title: 'Status', value: 'resolved' }, { title: 'Signals', value: '3' }, { title: 'Opened', value: inc.openedAt }]);
    assert.equal(tm.server.requests().length, 4);
  });

  it('the sig may live in the secret: set on the URL when the URL has none (Power Platform URL layout)', async (t) => {
    const tm = await start(t, { powerPlatformPath: true });
    const r = await teams.perform(testOp('open', testIncident()), ep(t, tm, tm.urlWithoutSig, tm.sig), undefined);
    ok(r);
    const [req] = tm.server.requests();
    assert.match(req!.pathname, /^\/powerautomate\/automations\/direct\/workflows\/[0-9a-f]+\/triggers\/manual\/paths\/invoke$/);
    assert.equal(new URL(req!.path, 'https://x').searchParams.get('sig'), tm.sig);
    assert.equal(tm.cards.length, 1);
  });

  it('a long title and target stay within the card limits; Markdown in them is never parsed (TextRun)', async (t) => {
    const tm = await start(t);
    const inc = testIncident({ title: `[click](https://evil.example) **bold** ${'w'.repeat(20_000)}`, target: 't'.repeat(20_000), kindFamily: 'k'.repeat(5_000) });
    ok(await teams.perform(testOp('open', inc), ep(t, tm), undefined));
    const [req] = tm.server.requests();
    assert.ok(Buffer.byteLength(req!.raw) < 8 * 1024, `${Buffer.byteLength(req!.raw)} bytes`);
    const card = tm.cards[0] as unknown as Card;
    const titleRun = (card.body[1]!.inlines as Array<{ type: string; text: string }>)[0]!;
    assert.equal(titleRun.type, 'TextRun');
    assert.equal([...titleRun.text].length, 500);
    assert.ok(titleRun.text.startsWith('[click](https://evil.example)'));
    const textBlocks = card.body.filter((b) => b.type === 'TextBlock').map((b) => b.text as string);
    assert.ok(textBlocks.every((x) => !x.includes('evil')), 'untrusted text never in a Markdown TextBlock');
  });

  it('CMDB text (a CI\'s name, class, owner) is never parsed as Markdown: no FactSet, TextRuns only', async (t) => {
    const tm = await start(t);
    const hostile = '[Re-authenticate](https://evil.example/login) **urgent**';
    const ci = {
      provider: 'servicenow' as const, id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', name: hostile, class: `_${hostile}_`, role: null, ips: ['10.0.0.1'], fqdn: null,
      owner: hostile, location: null, status: null, link: 'https://cmdb.example.com/cmdb_ci.do?sys_id=a1b2c3d4e5f60718293a4b5c6d7e8f90', origin: 'https://cmdb.example.com',
    };
    ok(await teams.perform(testOp('open', testIncident({ cis: [ci] })), ep(t, tm), undefined));
    const card = tm.cards[0] as unknown as Card;
    // Adaptive Cards parse Markdown in TextBlock text and in FactSet titles and values
    // (https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/cards-format).
    const markdownText = card.body.flatMap((b) => (b.type === 'TextBlock' ? [b.text as string] : b.type === 'FactSet' ? (b.facts as Array<{ title: string; value: string }>).flatMap((f) => [f.title, f.value]) : []));
    assert.ok(markdownText.every((x) => !x.includes('evil')), `CMDB text in a Markdown field: ${JSON.stringify(markdownText)}`);
    const runs = card.body.flatMap((b) => (b.type === 'RichTextBlock' ? (b.inlines as Array<{ type: string; text: string }>) : []));
    assert.ok(runs.some((r) => r.type === 'TextRun' && r.text.includes(hostile) && r.text.includes(ci.link)), 'the CI is shown, literally, with its link');
  });

  const faults: Array<[string, Parameters<Teams['server']['inject']>[0], OperationResult['kind'], RegExp]> = [
    ['429 + Retry-After', { kind: 'status', status: 429, retryAfter: '20' }, 'retryable', /^Teams workflow answered 429: WorkflowRequestsThrottled/],
    ['502', { kind: 'status', status: 502 }, 'retryable', /^Teams workflow answered 502/],
    ['400 schema mismatch', { kind: 'status', status: 400, body: { error: { code: 'TriggerInputSchemaMismatch', message: 'did not match' } } }, 'permanent', /^Teams workflow answered 400: TriggerInputSchemaMismatch: did not match$/],
    ['413', { kind: 'status', status: 413, body: { error: { code: 'MessageSizeExceeded', message: 'too big' } } }, 'permanent', /^Teams workflow answered 413: MessageSizeExceeded/],
    ['reset', { kind: 'reset' }, 'retryable', /^Teams workflow unreachable: https:\/\/127\.0\.0\.1:\d+: /],
    ['timeout', { kind: 'hang' }, 'retryable', /^Teams workflow unreachable: /],
  ];
  for (const [name, fault, kind, reason] of faults) {
    it(`answer: ${name} → ${kind}`, async (t) => {
      const tm = await start(t);
      tm.server.inject(fault);
      const r = await teams.perform(testOp('open', testIncident()), ep(t, tm, tm.url, undefined, 400), undefined);
      assert.equal(r.kind, kind, JSON.stringify(r));
      assert.match((r as { reason: string }).reason, reason);
      if (name.startsWith('429')) assert.equal((r as { retryAfterMs?: number }).retryAfterMs, 20_000);
      assert.equal(tm.cards.length, 0);
    });
  }

  it('answer: a lost response is retryable though the card was posted (no lookup: documented)', async (t) => {
    const tm = await start(t);
    tm.server.inject({ kind: 'lost-response' });
    assert.equal((await teams.perform(testOp('open', testIncident()), ep(t, tm), undefined)).kind, 'retryable');
    assert.equal(tm.cards.length, 1);
    assert.equal(teams.lookup, undefined);
  });

  it('answer: wrong sig 401, missing workflow 404 → paused; no sig at all → paused without a request', async (t) => {
    const tm = await start(t);
    const wrong = await teams.perform(testOp('open', testIncident()), ep(t, tm, `${tm.urlWithoutSig}&sig=AAAAwrongsignature`), undefined);
    assert.equal(wrong.kind, 'paused');
    assert.match((wrong as { reason: string }).reason, /^Teams workflow answered 401: DirectApiInvalidAuthorizationSignature/);
    assert.ok(!(wrong as { reason: string }).reason.includes('AAAAwrongsignature'));
    const missing = await teams.perform(testOp('open', testIncident()), ep(t, tm, tm.url.replace(tm.workflowId, 'feedfeedfeedfeed')), undefined);
    assert.equal(missing.kind, 'paused');
    assert.match((missing as { reason: string }).reason, /WorkflowNotFound/);
    const before = tm.server.requests().length;
    assert.equal((await teams.perform(testOp('open', testIncident()), ep(t, tm, tm.urlWithoutSig), undefined)).kind, 'paused');
    assert.equal(tm.server.requests().length, before);
    assert.equal(tm.cards.length, 0);
  });

  it('validate: a sig in the URL or the secret; retired Office 365 connector URLs refused', () => {
    const base = 'https://prod-12.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0';
    assert.deepEqual(teams.validate!(new URL(`${base}&sig=SIG`), {}, false), []);
    assert.deepEqual(teams.validate!(new URL(base), {}, true), []);
    assert.match(teams.validate!(new URL(base), {}, false)[0]!, /signature/);
    const retired = teams.validate!(new URL('https://acme.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d'), {}, false);
    assert.match(retired[0]!, /retired/);
    assert.deepEqual([teams.defaultMinSeverity, teams.passthroughQuery, teams.options.length], ['info', true, 0]);
  });

  it('canary: the sig (in the URL or the secret) never appears in a result, ref or display', async (t) => {
    const tm = await start(t);
    const results: unknown[] = [];
    tm.server.inject({ kind: 'status', status: 400, body: { error: { code: 'X', message: `bad sig ${tm.sig} ${encodeURIComponent(tm.sig)}` } } }, { kind: 'reset' }, { kind: 'status', status: 500 });
    for (let i = 0; i < 4; i++) results.push(await teams.perform(testOp('open', testIncident()), ep(t, tm), undefined));
    results.push(await teams.perform(testOp('open', testIncident()), ep(t, tm, tm.urlWithoutSig, tm.sig), undefined));
    results.push(teams.display(new URL(tm.url)), teams.display(new URL(tm.urlWithoutSig)));
    assert.match((results[0] as { reason: string }).reason, /bad sig \[redacted\] \[redacted\]/);
    assertNoSecret(results, [tm.sig]);
    assert.equal(results.at(-1), `${tm.server.url} (Teams workflow)`);
  });
});
