import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { vendorClient } from './client.ts';
import { cardProblem, Teams, type TeamsOptions } from './teams.ts';

async function setup(t: TestContext, opts: TeamsOptions = {}) {
  const teams = await Teams.start(opts);
  t.after(() => teams.close());
  t.after(() => assert.deepEqual(teams.server.handlerErrors, [], 'the stand-in itself failed'));
  const { call } = vendorClient(t, teams.server.caPem);
  return { teams, call };
}

const card = {
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
  type: 'AdaptiveCard',
  version: '1.4',
  body: [
    { type: 'TextBlock', size: 'Large', weight: 'Bolder', text: 'Incident INC-1: link down', wrap: true },
    { type: 'FactSet', facts: [{ title: 'Severity', value: 'critical' }, { title: 'Tenant', value: 'acme' }] },
    { type: 'ColumnSet', columns: [{ type: 'Column', items: [{ type: 'TextBlock', text: 'core-1' }] }] },
  ],
  actions: [{ type: 'Action.OpenUrl', title: 'Open in probectl', url: 'https://probectl.example/incidents/1' }],
};
const message = { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] };

describe('Teams Workflows webhook stand-in', () => {
  for (const powerPlatformPath of [false, true]) {
    it(`Adaptive Card message → 202, card recorded (${powerPlatformPath ? 'powerplatform' : 'logic.azure'} URL)`, async (t) => {
      const { teams, call } = await setup(t, { powerPlatformPath });
      const res = await call(teams.url, { json: message });
      assert.equal(res.status, 202);
      assert.equal(res.text(), '');
      assert.equal(teams.cards.length, 1);
      assert.equal((teams.cards[0]!.body as Array<{ text?: string }>)[0]!.text, 'Incident INC-1: link down');
    });
  }

  it('signature: missing → 401 DirectApiAuthorizationRequired, wrong → 401 DirectApiInvalidAuthorizationSignature; nothing posted', async (t) => {
    const { teams, call } = await setup(t, { sig: 'expected-signature' });
    const missing = await call(teams.urlWithoutSig, { json: message });
    assert.equal(missing.status, 401);
    assert.equal((missing.json() as { error: { code: string } }).error.code, 'DirectApiAuthorizationRequired');
    const wrong = await call(`${teams.urlWithoutSig}&sig=forged`, { json: message });
    assert.equal(wrong.status, 401);
    assert.equal((wrong.json() as { error: { code: string } }).error.code, 'DirectApiInvalidAuthorizationSignature');
    const extraAuth = await call(teams.url, { json: message, headers: { authorization: 'Bearer x' } });
    assert.equal(extraAuth.status, 400);
    assert.equal((await call(`${teams.server.url}/workflows/other/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=x`, { json: message })).status, 404);
    assert.equal(teams.runs.length, 0);
  });

  const refused: Array<[string, unknown]> = [
    ['a retired Office 365 MessageCard', { '@type': 'MessageCard', '@context': 'http://schema.org/extensions', summary: 's', text: 'Incident' }],
    ['a bare {text}', { text: 'Incident INC-1' }],
    ['no attachments', { type: 'message', attachments: [] }],
    ['a hero card attachment', { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.hero', content: { title: 'x' } }] }],
    ['a card without version', { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { ...card, version: undefined } }] }],
    ['a card of version 1.6 (newer than Teams renders)', { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { ...card, version: '1.6' } }] }],
    ['a TextBlock without text', { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { ...card, body: [{ type: 'TextBlock' }] } }] }],
    ['an unknown element type', { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { ...card, body: [{ type: 'Markdown', text: 'x' }] } }] }],
  ];
  for (const [name, body] of refused) {
    it(`400 TriggerInputSchemaMismatch: ${name}`, async (t) => {
      const { teams, call } = await setup(t);
      const res = await call(teams.url, { json: body });
      assert.equal(res.status, 400);
      assert.equal((res.json() as { error: { code: string } }).error.code, 'TriggerInputSchemaMismatch');
      assert.equal(teams.runs.length, 0);
    });
  }

  it('bodies over 28 KB are refused; 429 and lost responses are injectable', async (t) => {
    const { teams, call } = await setup(t);
    const big = { ...message, attachments: [{ ...message.attachments[0], content: { ...card, body: [{ type: 'TextBlock', text: 'x'.repeat(29 * 1024) }] } }] };
    assert.equal((await call(teams.url, { json: big })).status, 413);
    teams.server.inject({ kind: 'status', status: 429, retryAfter: '10' }, { kind: 'lost-response' });
    const throttled = await call(teams.url, { json: message });
    assert.deepEqual([throttled.status, throttled.headers['retry-after']], [429, '10']);
    await assert.rejects(call(teams.url, { json: message }));
    assert.equal(teams.runs.length, 1);
  });

  it('cardProblem accepts ShowCard nesting and rejects a nested bad card', () => {
    assert.equal(cardProblem({ ...card, actions: [{ type: 'Action.ShowCard', title: 'more', card: { type: 'AdaptiveCard', version: '1.4', body: [{ type: 'TextBlock', text: 'x' }] } }] }), undefined);
    assert.match(cardProblem({ ...card, actions: [{ type: 'Action.ShowCard', card: { type: 'AdaptiveCard', version: '1.4', body: [{ type: 'TextBlock' }] } }] })!, /text is required/);
    assert.match(cardProblem({ ...card, actions: [{ type: 'Action.OpenUrl', title: 'x' }] })!, /url is required/);
  });
});
