import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isProbectlError } from '../../src/core/errors.ts';
import type { NotifySettings } from '../../src/notify/config/vars.ts';
import { parseInboundEntries } from '../../src/notify/config/entries.ts';
import { loadConfig, renderEffectiveConfig } from '../../src/settings.ts';

const A = '7d9c2f4e-1b3a-4c5d-8e6f-0a1b2c3d4e5f';
const B = '0f1e2d3c-4b5a-4987-8654-3210fedcba98';
const ROUTING_KEY = 'R0UTINGKEYR0UTINGKEYR0UTINGKEY12';

function settings(env: Record<string, string>): NotifySettings | undefined {
  return loadConfig({ PROBECTL_DATA_DIR: '/tmp/probectl-notify-config', ...env }).integrations.notify as NotifySettings | undefined;
}

function refusal(env: Record<string, string>): string {
  try {
    loadConfig({ PROBECTL_DATA_DIR: '/tmp/probectl-notify-config', ...env });
  } catch (err) {
    assert.ok(isProbectlError(err, 'PROBECTL_ERR_CONFIG_INVALID'), String(err));
    return err.message;
  }
  assert.fail('startup was not refused');
}

describe('PROBECTL_NOTIFY_CONNECTORS and PROBECTL_NOTIFY_INBOUND', () => {
  it('off until configured', () => {
    assert.equal(settings({}), undefined);
  });

  it('the spec\'s example: two connectors, the secret everything after the third |, probectl\'s options taken out of the URL', () => {
    const s = settings({
      PROBECTL_NOTIFY_CONNECTORS: `${A}|pagerduty|https://events.pagerduty.com/v2/enqueue|${ROUTING_KEY},${A}|jira|https://acme.atlassian.net/rest/api/2/issue?project=OPS&resolve_transition=31|alice@acme.com:tok|en,with:colon@x`,
      PROBECTL_NOTIFY_INBOUND: `jira1:${A}:jira:whsec:a|b`,
    });
    assert.ok(s);
    const [pd, jira] = s.connectors;
    assert.deepEqual([pd?.provider.name, pd?.url.href, pd?.minSeverity, pd?.secret], ['pagerduty', 'https://events.pagerduty.com/v2/enqueue', 'warning', { scheme: 'literal', value: ROUTING_KEY }]);
    assert.equal(jira?.url.href, 'https://acme.atlassian.net/rest/api/2/issue', 'the options never reach the vendor');
    assert.deepEqual(jira?.options, { project: 'OPS', resolve_transition: '31' });
    assert.equal(jira?.minSeverity, 'info');
    assert.deepEqual(jira?.secret, { scheme: 'literal', value: 'alice@acme.com:tok|en,with:colon@x' }, 'a comma not followed by a new entry stays in the secret');
    assert.match(pd?.id ?? '', /^pagerduty-[0-9a-f]{10}$/);
    assert.match(jira?.id ?? '', /^jira-[0-9a-f]{10}$/);
    assert.deepEqual(s.inbound.map((i) => [i.id, i.tenant, i.provider.name, i.secret]), [['jira1', A, 'jira', { scheme: 'literal', value: 'whsec:a|b' }]]);
  });

  it('ids are stable, derived from tenant, provider and vendor URL: the same across restarts and option changes; a second identical entry gets -2', () => {
    const one = settings({ PROBECTL_NOTIFY_CONNECTORS: `${A}|pagerduty|https://events.pagerduty.com/v2/enqueue|${ROUTING_KEY}` });
    const again = settings({ PROBECTL_NOTIFY_CONNECTORS: `${A}|pagerduty|https://events.pagerduty.com/v2/enqueue?min_severity=critical|other-key` });
    const other = settings({ PROBECTL_NOTIFY_CONNECTORS: `${B}|pagerduty|https://events.pagerduty.com/v2/enqueue|${ROUTING_KEY}` });
    assert.equal(one?.connectors[0]?.id, again?.connectors[0]?.id);
    assert.equal(again?.connectors[0]?.minSeverity, 'critical');
    assert.notEqual(one?.connectors[0]?.id, other?.connectors[0]?.id);
    const two = settings({ PROBECTL_NOTIFY_CONNECTORS: `${A}|pagerduty|https://events.pagerduty.com/v2/enqueue|key-one,${A}|pagerduty|https://events.pagerduty.com/v2/enqueue|key-two` });
    assert.deepEqual(two?.connectors.map((c) => c.id), [one?.connectors[0]?.id, `${one?.connectors[0]?.id}-2`]);
  });

  it('connector_name fixes the id whatever the entry order or URL; it is removed before the vendor and must be unique per tenant and provider', () => {
    const jira = (project: string, name: string) => `${A}|jira|https://acme.atlassian.net/rest/api/2/issue?project=${project}&connector_name=${name}|a:b`;
    const ab = settings({ PROBECTL_NOTIFY_CONNECTORS: `${jira('OPS', 'ops')},${jira('SEC', 'sec')}` });
    const ba = settings({ PROBECTL_NOTIFY_CONNECTORS: `${jira('SEC', 'sec')},${jira('OPS', 'ops')}` });
    const byProject = (s: NotifySettings | undefined) => Object.fromEntries((s?.connectors ?? []).map((c) => [c.options.project, c.id]));
    assert.deepEqual(byProject(ab), byProject(ba), 'the order of entries does not move an id');
    assert.notEqual(byProject(ab).OPS, byProject(ab).SEC);
    assert.ok(!ab?.connectors[0]?.url.href.includes('connector_name'), 'a probectl option never reaches the vendor');
    const moved = settings({ PROBECTL_NOTIFY_CONNECTORS: `${A}|jira|https://jira.acme.example/rest/api/2/issue?project=OPS&connector_name=ops|a:b` });
    assert.equal(moved?.connectors[0]?.id, byProject(ab).OPS, 'a new URL keeps a named id');
    const other = settings({ PROBECTL_NOTIFY_CONNECTORS: `${B}|jira|https://acme.atlassian.net/rest/api/2/issue?project=OPS&connector_name=ops|a:b` });
    assert.notEqual(other?.connectors[0]?.id, byProject(ab).OPS, 'another tenant\'s same name is another id');
    assert.match(refusal({ PROBECTL_NOTIFY_CONNECTORS: `${jira('OPS', 'ops')},${jira('SEC', 'ops')}` }), /entry 2 \(jira\): connector_name "ops" is given to another jira entry of this tenant/);
    // A name that is another connector's id would make an inbound entry's `jira@<that>` name two connectors.
    const unnamedId = settings({ PROBECTL_NOTIFY_CONNECTORS: `${A}|jira|https://acme.atlassian.net/rest/api/2/issue?project=OPS|a:b` })?.connectors[0]?.id as string;
    assert.match(refusal({ PROBECTL_NOTIFY_CONNECTORS: `${A}|jira|https://acme.atlassian.net/rest/api/2/issue?project=OPS|a:b,${jira('SEC', unnamedId)}` }),
      new RegExp(`entry 2 \\(jira\\): connector_name "${unnamedId}" is the id of another jira connector of this tenant`));
    assert.match(refusal({ PROBECTL_NOTIFY_CONNECTORS: jira('OPS', 'Bad%20Name') }), /entry 1 \(jira\): option connector_name must be/);
  });

  it('passthrough providers keep the vendor\'s query parameters; strict ones refuse any they do not know', () => {
    const s = settings({ PROBECTL_NOTIFY_CONNECTORS: `${A}|webhook|https://hooks.example/in?route=ops&min_severity=warning&sp=%2Ftriggers%2Fmanual%2Frun&sig=a%20b+c~_-&flag|whsec` });
    assert.equal(s?.connectors[0]?.url.href, 'https://hooks.example/in?route=ops&sp=%2Ftriggers%2Fmanual%2Frun&sig=a%20b+c~_-&flag', 'the vendor\'s parameters byte for byte');
    assert.equal(s?.connectors[0]?.minSeverity, 'warning');
    const msg = refusal({ PROBECTL_NOTIFY_CONNECTORS: `${A}|pagerduty|https://events.pagerduty.com/v2/enqueue?min_severty=critical|${ROUTING_KEY}` });
    assert.match(msg, /entry 1 \(pagerduty\): unknown option "min_severty"/);
  });

  it('plain http only to loopback', () => {
    assert.ok(settings({ PROBECTL_NOTIFY_CONNECTORS: `${A}|webhook|http://127.0.0.1:9/in|s3cret` }));
    assert.match(refusal({ PROBECTL_NOTIFY_CONNECTORS: `${A}|webhook|http://hooks.example/in|s3cret` }), /entry 1 \(webhook\): plain http:\/\/ is refused/);
  });

  it('every refusal in one error, entries named by position and provider, never a secret or a query value', () => {
    const secrets = ['cnry-secret-one-4b1f', 'cnry-secret-two-9a2e', 'cnry-inbound-77c1', 'cnry-query-value-3d'];
    const msg = refusal({
      PROBECTL_NOTIFY_CONNECTORS: [
        `not-a-uuid|pagerduty|https://events.pagerduty.com/v2/enqueue|${secrets[0]}`,
        `${A}|pagerdutty|https://events.pagerduty.com/v2/enqueue|${secrets[0]}`,
        `${A}|jira|https://acme.atlassian.net/rest/api/2/issue?project=OPS&prioriti=${secrets[3]}|${secrets[1]}`,
        `${A}|webhook|http://hooks.example/in?token=${secrets[3]}|${secrets[1]}`,
        `${A}|jira|not a url|${secrets[1]}`,
        `${A}|webhook|https://hooks.example/in|`,
        `${A}|jira|https://acme.atlassian.net/rest/api/2/issue?resolve_transition=31|${secrets[1]}`,
        `${A}|pagerduty|https://events.pagerduty.com/v2/enqueue?min_severity=${secrets[3]}|${secrets[0]}`,
      ].join(','),
      PROBECTL_NOTIFY_INBOUND: `dup:${A}:jira:${secrets[2]},dup:${A}:jira:${secrets[2]},x:${A}:webhook:`,
    });
    for (const expected of [
      /entry 1 \(pagerduty\): the tenant is not a UUID/,
      /entry 2 \(unknown provider\): unknown provider "pagerdutty"/,
      /entry 3 \(jira\): unknown option "prioriti"/,
      /entry 4 \(webhook\): plain http:\/\/ is refused to a non-loopback host/,
      /entry 5 \(jira\): the endpoint is not a URL/,
      /entry 6 \(webhook\): the secret is empty/,
      /entry 7 \(jira\): option project is required/,
      /entry 8 \(pagerduty\): option min_severity is not one of info, warning, critical/,
      /PROBECTL_NOTIFY_INBOUND: entry 2 "dup" \(jira\): inbound id "dup" listed twice with the same secret/,
      /PROBECTL_NOTIFY_INBOUND: entry 3 "x" \(webhook\): the secret is empty/,
    ]) assert.match(msg, expected);
    for (const s of secrets) assert.ok(!msg.includes(s), `the message must not contain ${s}`);
    assert.match(msg, /^invalid configuration, startup refused \(\d+ problems\):/);
  });

  it('a secret holding what looks like the start of another entry: the entry it seems to start is refused without quoting any of it', () => {
    // The split rule (a comma followed by <x>|<y>| starts an entry) cuts such a secret: the pieces after the cut are
    // refused as an entry of their own, and its "tenant", "provider" and "id" are pieces of the secret.
    const msg = refusal({
      PROBECTL_NOTIFY_CONNECTORS: `${A}|servicenow|https://acme.service-now.com/api/now/table/incident|probectl:pw,cnrytenantpart|cnryproviderpart|cnryrest`,
      PROBECTL_NOTIFY_INBOUND: `snow1:${A}:servicenow:whsec,cnryidpart:cnryinbtenant:cnryinbprovider:cnryinbrest`,
    });
    assert.match(msg, /PROBECTL_NOTIFY_CONNECTORS: entry 2 \(unknown provider\): the tenant is not a UUID/);
    assert.match(msg, /PROBECTL_NOTIFY_INBOUND: entry 2 \(unknown provider\): the tenant is not a UUID/);
    for (const part of ['cnrytenantpart', 'cnryproviderpart', 'cnryrest', 'cnryidpart', 'cnryinbtenant', 'cnryinbprovider', 'cnryinbrest']) assert.ok(!msg.includes(part), `the message quotes ${part}: ${msg}`);
  });

  it('an inbound id listed twice (same tenant and provider) is a secret rotation: the later secret is current, the earlier accepted too; a third listing or another tenant or provider is refused', () => {
    const connectors = `${A}|jira|https://acme.atlassian.net/rest/api/2/issue?project=OPS|bot@acme.example:tok,${A}|webhook|https://hooks.example/in|whsec-out`;
    const s = settings({ PROBECTL_NOTIFY_CONNECTORS: connectors, PROBECTL_NOTIFY_INBOUND: `j1:${A}:jira:cnry-old-secret-1,w1:${A}:webhook:w-secret,j1:${A}:jira:cnry-new-secret-2` });
    assert.ok(s);
    assert.deepEqual(s.inbound.map((i) => [i.id, i.position, i.secret, i.previous]), [
      ['j1', 3, { scheme: 'literal', value: 'cnry-new-secret-2' }, { scheme: 'literal', value: 'cnry-old-secret-1' }],
      ['w1', 2, { scheme: 'literal', value: 'w-secret' }, undefined],
    ]);
    const msg = refusal({
      PROBECTL_NOTIFY_CONNECTORS: connectors,
      PROBECTL_NOTIFY_INBOUND: `j1:${A}:jira:cnry-s1,j1:${A}:jira:cnry-s2,j1:${A}:jira:cnry-s3,w1:${A}:webhook:cnry-s4,w1:${B}:webhook:cnry-s5,w2:${A}:webhook:cnry-s6,w2:${A}:jira:cnry-s7`,
    });
    assert.match(msg, /entry 3 "j1" \(jira\): inbound id "j1" listed more than twice/);
    assert.match(msg, /entry 5 "w1" \(webhook\): duplicate inbound id "w1" with another tenant or provider/);
    assert.match(msg, /entry 7 "w2" \(jira\): duplicate inbound id "w2" with another tenant or provider/);
    assert.ok(!/cnry-s/.test(msg), `no secret in the message: ${msg}`);
  });

  it('an inbound id naming a provider with no connector of that tenant is refused', () => {
    const msg = refusal({
      PROBECTL_NOTIFY_CONNECTORS: `${A}|pagerduty|https://events.pagerduty.com/v2/enqueue|${ROUTING_KEY}`,
      PROBECTL_NOTIFY_INBOUND: `jira1:${A}:jira:whsec,pd1:${B}:pagerduty:whsec`,
    });
    assert.match(msg, new RegExp(`entry 1 "jira1" \\(jira\\): tenant ${A} has no jira connector`));
    assert.match(msg, new RegExp(`entry 2 "pd1" \\(pagerduty\\): tenant ${B} has no pagerduty connector`));
  });

  it('an inbound entry speaks for connectors of its provider: the only one by default; with two or more it must name them after "@" (connector_name or id), else startup is refused naming the entry, never its secret', () => {
    const siteA = `${A}|jira|https://a.atlassian.net/rest/api/2/issue?project=SEC&connector_name=site-a|bot@acme.example:tok`;
    const siteB = `${A}|jira|https://b.atlassian.net/rest/api/2/issue?project=SEC&connector_name=site-b|bot@acme.example:tok`;
    const hook = `${A}|webhook|https://hooks.example/in|whsec-out`;
    // One connector of the provider: the entry names none and is bound to it (unchanged configuration).
    const one = settings({ PROBECTL_NOTIFY_CONNECTORS: `${siteA},${hook}`, PROBECTL_NOTIFY_INBOUND: `j1:${A}:jira:cnry-s1` });
    assert.ok(one);
    const idOf = (cs: NotifySettings, name: string) => cs.connectors.find((c) => c.name === name)?.id as string;
    assert.deepEqual(one.inbound.map((i) => [i.id, i.connectors]), [['j1', [idOf(one, 'site-a')]]]);
    // Two: each entry names its site, by connector_name or by connector id; one entry may speak for both.
    const both = settings({ PROBECTL_NOTIFY_CONNECTORS: `${siteA},${siteB},${hook}`, PROBECTL_NOTIFY_INBOUND: `ja:${A}:jira@site-a:cnry-s1,jb:${A}:jira@site-b:env:JIRA_B_HOOK,jab:${A}:jira@site-b+site-a:cnry-s3,w1:${A}:webhook:cnry-s4` });
    assert.ok(both);
    const [a, b] = [idOf(both, 'site-a'), idOf(both, 'site-b')];
    assert.ok(a && b && a !== b);
    assert.deepEqual(both.inbound.map((i) => [i.id, i.provider.name, i.connectors, i.secret.scheme]), [
      ['ja', 'jira', [a], 'literal'], ['jb', 'jira', [b], 'env'], ['jab', 'jira', [a, b].sort(), 'literal'], ['w1', 'webhook', [both.connectors[2]?.id], 'literal'],
    ]);
    const byId = settings({ PROBECTL_NOTIFY_CONNECTORS: `${siteA},${siteB}`, PROBECTL_NOTIFY_INBOUND: `jb:${A}:jira@${b}:cnry-s1` });
    assert.deepEqual(byId?.inbound[0]?.connectors, [b]);
    // Two and an entry naming none: refused, naming the entry and listing the connectors to choose from.
    const msg = refusal({
      PROBECTL_NOTIFY_CONNECTORS: `${siteA},${siteB},${hook}`,
      PROBECTL_NOTIFY_INBOUND: `jira1:${A}:jira:cnry-secret-1,jx:${A}:jira@site-c:cnry-secret-2,jy:${A}:jira@Site-A:cnry-secret-3,jz:${A}:jira@:cnry-secret-4,w1:${A}:webhook@site-a:cnry-secret-5`,
    });
    assert.match(msg, new RegExp(`PROBECTL_NOTIFY_INBOUND: entry 1 "jira1" \\(jira\\): tenant ${A} has 2 jira connectors \\(${a} "site-a", ${b} "site-b"\\): name the one\\(s\\) this credential speaks for after the provider, jira@<connector_name or id>`));
    assert.match(msg, new RegExp(`entry 2 "jx" \\(jira\\): no jira connector of tenant ${A} has the connector_name or id "site-c"`));
    assert.match(msg, /entry 3 "jy" \(jira\): after "@" in the provider field come connector names or ids/);
    assert.match(msg, /entry 4 "jz" \(jira\): after "@" in the provider field come connector names or ids/);
    assert.match(msg, /entry 5 "w1" \(webhook\): no webhook connector of tenant .* has the connector_name or id "site-a"/);
    assert.ok(!/cnry-secret/.test(msg), `no secret in the message: ${msg}`);
    // A rotation keeps the connectors: the second listing for another site is refused.
    const rot = refusal({ PROBECTL_NOTIFY_CONNECTORS: `${siteA},${siteB}`, PROBECTL_NOTIFY_INBOUND: `j1:${A}:jira@site-a:cnry-s1,j1:${A}:jira@site-b:cnry-s2` });
    assert.match(rot, /entry 2 "j1" \(jira\): inbound id "j1" listed twice for other connectors/);
    const rotated = settings({ PROBECTL_NOTIFY_CONNECTORS: `${siteA},${siteB}`, PROBECTL_NOTIFY_INBOUND: `j1:${A}:jira@site-a:cnry-s1,j1:${A}:jira@site-a:cnry-s2` });
    assert.deepEqual(rotated?.inbound.map((i) => [i.id, i.connectors, i.previous]), [['j1', [a], { scheme: 'literal', value: 'cnry-s1' }]]);
  });

  it('splitting PROBECTL_NOTIFY_INBOUND takes linear time: a comma followed by a long run of blanks (an env value of 128 KiB) is not retried at every length', () => {
    for (const tail of [' '.repeat(131_072), `a:${' '.repeat(131_072)}`, ` ${' '.repeat(131_072)}:`]) {
      const started = performance.now();
      const entries = parseInboundEntries(`ja:${A}:jira:cnry-s1,${tail}`);
      const ms = performance.now() - started;
      assert.equal(entries.length, 1, 'the blanks stay in the secret');
      assert.ok(ms < 1000, `${JSON.stringify(tail.slice(0, 3))}…: ${Math.round(ms)} ms to split`);
    }
  });

  it('an inbound entry whose connector names are malformed is its own entry, refused by name — never joined to the previous entry\'s secret', () => {
    const siteA = `${A}|jira|https://a.atlassian.net/rest/api/2/issue?project=SEC&connector_name=site-a|bot@acme.example:tok`;
    const siteB = `${A}|jira|https://b.atlassian.net/rest/api/2/issue?project=SEC&connector_name=site-b|bot@acme.example:tok`;
    const msg = refusal({
      PROBECTL_NOTIFY_CONNECTORS: `${siteA},${siteB}`,
      PROBECTL_NOTIFY_INBOUND: `ja:${A}:jira@site-a:cnry-s1,jb:${A}:jira@site/b:cnry-s2,jc:${A}:jira@site-b:cnry-s3`,
    });
    assert.match(msg, /entry 2 "jb" \(jira\): after "@" in the provider field come connector names or ids/);
    assert.ok(!/entry 1 .*after "@"/.test(msg), 'entry 1 is whole and valid');
    assert.ok(!/cnry-/.test(msg), `no secret in the message: ${msg}`);
    // A malformed id before a tenant UUID starts its own entry too, refused by its id — the first entry's secret stays whole.
    const badId = refusal({ PROBECTL_NOTIFY_CONNECTORS: siteA, PROBECTL_NOTIFY_INBOUND: `ja:${A}:jira@site-a:cnry-s1,pd#2:${A}:jira@site-a:cnry-s2` });
    assert.match(badId, /entry 2 \(jira\): the id must be 1 to 64 letters/);
    assert.ok(!/entry 1 /.test(badId), `entry 1 is whole and valid: ${badId}`);
    assert.ok(!/cnry-/.test(badId), `no secret in the message: ${badId}`);
    // Commas inside secrets that are not followed by <id>:<tenant>:<provider>[@…]: stay in the secret — a JSON secret
    // with an ISO time, a password with a comma and colons.
    for (const secret of ['cnry,s1:x@y', '{"token":"abc","expires":"2025-01-01T00:00:00Z"}', 'bot@acme.example:Pa$$,w0rd!:x:y:z']) {
      const kept = settings({ PROBECTL_NOTIFY_CONNECTORS: siteA, PROBECTL_NOTIFY_INBOUND: `ja:${A}:jira@site-a:${secret.startsWith('{') ? 'literal:' : ''}${secret}` });
      assert.deepEqual(kept?.inbound.map((i) => i.secret), [{ scheme: 'literal', value: secret }], secret);
    }
  });

  it('an inbound entry missing a field, whose last field is then the secret (a "@" in it reads as provider@connectors), never has that field quoted', () => {
    const hook = `${A}|jira|https://a.atlassian.net/rest/api/2/issue?project=SEC&connector_name=site-a|bot@acme.example:tok`;
    // The provider forgotten: the secret stands where the provider goes, "@" cutting it into a provider and connectors.
    // (An entry with no third ":" is never split from the next, so each is refused on its own.)
    const connectorNamed = refusal({ PROBECTL_NOTIFY_CONNECTORS: hook, PROBECTL_NOTIFY_INBOUND: `j1:${A}:jira@cnry-hunter2` });
    assert.match(connectorNamed, /entry 1 "j1" \(jira\): needs <id>:<tenant-uuid>:<provider>/);
    const providerNamed = refusal({ PROBECTL_NOTIFY_CONNECTORS: hook, PROBECTL_NOTIFY_INBOUND: `j2:${A}:cnry-pass@word` });
    assert.match(providerNamed, /entry 1 "j2" \(unknown provider\): needs <id>:<tenant-uuid>:<provider>/);
    const plain = refusal({ PROBECTL_NOTIFY_CONNECTORS: hook, PROBECTL_NOTIFY_INBOUND: `j3:${A}:cnry-plain` });
    for (const msg of [connectorNamed, providerNamed, plain]) assert.ok(!/cnry-/.test(msg), `no secret in the message: ${msg}`);
  });

  it('providers\' own rules: the PagerDuty Events API path and routing key, a Jira create-issue path, a webhook signing secret', () => {
    const msg = refusal({
      PROBECTL_NOTIFY_CONNECTORS: [
        `${A}|pagerduty|https://events.pagerduty.com/v1/create_event.json|${ROUTING_KEY}`,
        `${A}|pagerduty|https://events.pagerduty.com/v2/enqueue`,
        `${A}|jira|https://acme.atlassian.net/browse/OPS?project=OPS|a:b`,
        `${A}|webhook|https://hooks.example/in`,
      ].join(','),
    });
    assert.match(msg, /entry 1 \(pagerduty\): the endpoint must be the Events API v2 URL/);
    assert.match(msg, /entry 2 \(pagerduty\): needs the integration's routing key/);
    assert.match(msg, /entry 3 \(jira\): the endpoint must be the create-issue URL/);
    assert.match(msg, /entry 4 \(webhook\): needs a signing secret/);
  });

  it('secrets may be references: their backend must be configured, named by entry', () => {
    const msg = refusal({ PROBECTL_NOTIFY_CONNECTORS: `${A}|pagerduty|https://events.pagerduty.com/v2/enqueue|vault:kv/oncall/pd#routing_key` });
    assert.match(msg, /PROBECTL_NOTIFY_CONNECTORS\[1\]/);
    assert.match(msg, /vault/);
    const s = settings({ PROBECTL_NOTIFY_CONNECTORS: `${A}|pagerduty|https://events.pagerduty.com/v2/enqueue|env:PD_ROUTING_KEY` });
    assert.deepEqual(s?.connectors[0]?.secret, { scheme: 'env', name: 'PD_ROUTING_KEY' });
  });

  it('a reference after a user name (alice@acme.com:vault:…) is refused, not sent as a password; the whole secret as a reference, or literal:, is taken', () => {
    const msg = refusal({
      PROBECTL_NOTIFY_CONNECTORS: `${A}|jira|https://acme.atlassian.net/rest/api/2/issue?project=OPS|alice@acme.com:env:JIRA_API_TOKEN`,
      PROBECTL_NOTIFY_INBOUND: `pd1:${A}:jira:ops:vault:kv/x#y`,
    });
    assert.match(msg, /PROBECTL_NOTIFY_CONNECTORS: entry 1 \(jira\): .*a reference must be the whole secret/);
    assert.match(msg, /PROBECTL_NOTIFY_INBOUND: entry 1 "pd1" \(jira\): .*a reference must be the whole secret/);
    assert.ok(!msg.includes('alice@acme.com') && !msg.includes('JIRA_API_TOKEN'), 'the secret is not echoed');
    const whole = settings({ PROBECTL_NOTIFY_CONNECTORS: `${A}|jira|https://acme.atlassian.net/rest/api/2/issue?project=OPS|env:JIRA_BASIC` });
    assert.deepEqual(whole?.connectors[0]?.secret, { scheme: 'env', name: 'JIRA_BASIC' });
    const literal = settings({ PROBECTL_NOTIFY_CONNECTORS: `${A}|jira|https://acme.atlassian.net/rest/api/2/issue?project=OPS|literal:alice@acme.com:env:really-my-password` });
    assert.deepEqual(literal?.connectors[0]?.secret, { scheme: 'literal', value: 'alice@acme.com:env:really-my-password' });
  });

  it('config check shows entries with the endpoint host and a redacted secret only', () => {
    const path = 'T00000000/B00000000/cnrySlackPathToken';
    const config = loadConfig({
      PROBECTL_DATA_DIR: '/tmp/probectl-notify-config',
      PROBECTL_NOTIFY_CONNECTORS: `${A}|webhook|https://hooks.example/${path}?sig=cnry-sig-value|cnry-literal-secret,${A}|pagerduty|https://events.pagerduty.com/v2/enqueue|env:PD_KEY`,
    });
    const text = renderEffectiveConfig(config);
    assert.match(text, new RegExp(`PROBECTL_NOTIFY_CONNECTORS=${A}\\|webhook\\|https://hooks.example\\|\\[literal\\],${A}\\|pagerduty\\|https://events.pagerduty.com\\|env:PD_KEY`));
    for (const s of ['cnry-sig-value', 'cnry-literal-secret', 'cnrySlackPathToken']) assert.ok(!text.includes(s), s);
  });
});
