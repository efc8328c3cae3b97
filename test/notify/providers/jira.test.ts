import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { jira } from '../../../src/notify/providers/jira/index.ts';
import type { ConnectorEndpoint, ExternalRef, IncidentView, OperationResult } from '../../../src/notify/providers/types.ts';
import { adfProblem } from '../servers/jira-adf.ts';
import { Jira, type JiraOptions } from '../servers/jira.ts';
import { connector, testIncident } from '../helpers/provider-endpoint.ts';

async function setup(t: TestContext, opts: JiraOptions, path: string, options = 'project=OPS', credential?: string) {
  const j = await Jira.start(opts);
  t.after(() => j.close());
  t.after(() => assert.deepEqual(j.server.handlerErrors, []));
  const { ep } = connector(t, j.server.caPem, `jira|${j.url}${path}?${options}|${credential ?? `${j.user.user}:${j.user.secret}`}`);
  return { j, ep };
}

/** The open as the sink does it: look up by label first, then create. */
async function open(ep: ConnectorEndpoint, inc: IncidentView): Promise<ExternalRef> {
  const found = await jira.lookup?.(inc, ep, undefined);
  if (found?.kind === 'found') return found.ref;
  assert.deepEqual(found, { kind: 'none' });
  const r = await jira.perform({ action: 'open', incident: inc, ref: undefined, idempotencyKey: 'o' }, ep, undefined);
  assert.equal(r.kind, 'ok', JSON.stringify(r));
  return (r as { ref: ExternalRef }).ref;
}

const op = (action: 'update' | 'acknowledge' | 'resolve', inc: IncidentView, ref: ExternalRef) => ({ action, incident: inc, ref, idempotencyKey: action, ...(action === 'update' ? { update: { signals: 2, severityFrom: 'warning' as const, severityTo: 'critical' as const } } : {}) });

describe('jira provider (Cloud v3 / v2 and Data Center against the stand-in)', () => {
  it('Cloud v3: searched by label on /rest/api/3/search/jql, then created with an ADF description and the incident key as a label', async (t) => {
    const { j, ep } = await setup(t, { mode: 'cloud' }, '/rest/api/3/issue', 'project=OPS&issuetype=Incident&labels=network,noc');
    const inc = testIncident({ title: 'Link\ndown on core' });
    const ref = await open(ep, inc);
    const issue = j.issues[0]!;
    assert.deepEqual(ref, { id: issue.key, data: { issue_id: issue.id }, aliases: [issue.id] });
    const [search, create] = j.server.requests();
    assert.equal(search?.pathname, '/rest/api/3/search/jql');
    assert.equal(new URL(search!.path, 'https://x').searchParams.get('jql'), `labels = "${inc.key}" AND project = "OPS" ORDER BY created ASC`);
    assert.equal(create?.pathname, '/rest/api/3/issue');
    assert.equal(create?.headers.authorization, `Basic ${Buffer.from(`${j.user.user}:${j.user.secret}`).toString('base64')}`);
    const fields = (create?.body as { fields: Record<string, unknown> }).fields;
    assert.deepEqual([fields.project, fields.issuetype, fields.labels], [{ key: 'OPS' }, { name: 'Incident' }, [inc.key, 'probectl', 'network', 'noc']]);
    assert.equal(fields.summary, '[probectl critical] Link down on core', 'one line');
    assert.equal(adfProblem(fields.description), undefined);
    assert.deepEqual([issue.issuetype, issue.status.name], ['Incident', 'To Do']);
    // The retry after a lost answer finds it instead of creating a second one.
    assert.deepEqual(await jira.lookup?.(inc, ep, undefined), { kind: 'found', ref });
    assert.equal(j.issues.length, 1);
  });

  it('a title of emoji: the summary is cut to 255 as Jira (Java) counts, UTF-16 code units — the issue is created, not refused for good (hostile review)', async (t) => {
    const { j, ep } = await setup(t, { mode: 'cloud' }, '/rest/api/3/issue');
    await open(ep, testIncident({ title: '🔥'.repeat(200) }));
    const summary = j.issues[0]!.summary;
    assert.ok(summary.length <= 255 && summary.endsWith('…') && summary.isWellFormed(), summary);
  });

  it('a create whose answer is lost on Cloud (search eventually consistent): the retry waits for the index, so its lookup finds the issue — one issue, not two (hostile review)', async (t) => {
    const { j, ep } = await setup(t, { mode: 'cloud', searchLagMs: 1_500 }, '/rest/api/3/issue');
    const inc = testIncident();
    j.server.inject({ kind: 'lost-response', when: { method: 'POST', path: '/rest/api/3/issue' } });
    assert.deepEqual(await jira.lookup?.(inc, ep, undefined), { kind: 'none' });
    const lost = await jira.perform({ action: 'open', incident: inc, ref: undefined, idempotencyKey: 'o' }, ep, undefined);
    assert.equal(lost.kind, 'retryable');
    assert.equal(j.issues.length, 1, 'Jira created it');
    // The engine's next attempt: after the result's Retry-After, else within the default first backoff (1 s, full jitter).
    await new Promise((r) => setTimeout(r, Math.max((lost as { retryAfterMs?: number }).retryAfterMs ?? 0, 1_000)));
    await open(ep, inc);
    assert.equal(j.issues.length, 1, 'the retried open found the issue instead of creating a second one');
  });

  it('Cloud v2: plain-text description, search on /rest/api/2/search/jql (never the removed /search)', async (t) => {
    const { j, ep } = await setup(t, { mode: 'cloud' }, '/rest/api/2/issue');
    const inc = testIncident();
    const ref = await open(ep, inc);
    assert.equal(typeof j.issues[0]?.description, 'string');
    assert.match(j.issues[0]?.description as string, new RegExp(`probectl incident ${inc.id}`));
    assert.deepEqual(j.server.requests().map((r) => r.pathname), ['/rest/api/2/search/jql', '/rest/api/2/issue']);
    await jira.perform(op('update', inc, ref), ep, undefined);
    assert.equal(j.issues[0]?.comments[0]?.body, 'probectl: 2 more signals on this incident since the last update; severity rose from warning to critical.');
  });

  it('v2 / Data Center: the description is one {noformat} block, so wiki markup in a title, target or CI name is shown, never rendered', async (t) => {
    const { j, ep } = await setup(t, { mode: 'cloud' }, '/rest/api/2/issue');
    const hostile = '[Sign in|https://evil.example/login] !https://evil.example/x.png! {html}<b>x</b>{html} *bold* {noformat}escaped{NOFORMAT} { noformat:x}';
    const inc = testIncident({ title: hostile, target: 'web01 [x|https://evil.example]', cis: [{ provider: 'servicenow', id: 'a'.repeat(32), name: '{noformat}[CI|https://evil.example]', class: 'Linux Server', role: null, ips: [], fqdn: null, owner: null, location: null, status: null, link: null, origin: 'cmdb' }] } as never);
    await open(ep, inc);
    const text = j.issues[0]?.description as string;
    assert.ok(text.startsWith('{noformat}\n') && text.endsWith('\n{noformat}'), text);
    assert.equal(text.match(/\{noformat/gi)?.length, 2, 'only the block\'s own start and end: nothing in the text can close it');
    const inner = text.slice('{noformat}\n'.length, -'\n{noformat}'.length);
    for (const piece of ['[Sign in|https://evil.example/login]', '!https://evil.example/x.png!', '{html}<b>x</b>{html}', '*bold*', 'web01 [x|https://evil.example]', '[CI|https://evil.example]']) {
      assert.ok(inner.includes(piece), `shown as written: ${piece}`);
    }
    assert.match(inner, new RegExp(`probectl incident ${inc.id}`));
  });

  it('Data Center: /search/jql is not there (404), so /rest/api/2/search is used and remembered; a personal access token as Bearer', async (t) => {
    const pat = 'NjQ2OTk2MjQ1NjY0OnRva2VuLWZvci1wcm9iZWN0bA';
    const { j, ep } = await setup(t, { mode: 'datacenter', pats: [pat] }, '/rest/api/2/issue', 'project=OPS', pat);
    const inc = testIncident();
    const ref = await open(ep, inc);
    assert.equal(j.server.requests()[2]?.headers.authorization, `Bearer ${pat}`);
    assert.deepEqual(j.server.requests().map((r) => r.pathname), ['/rest/api/2/search/jql', '/rest/api/2/search', '/rest/api/2/issue']);
    assert.deepEqual(await jira.lookup?.(inc, ep, undefined), { kind: 'found', ref });
    assert.equal(j.server.requests().at(-1)?.pathname, '/rest/api/2/search', 'the deployment is remembered');
  });

  it('updates and acknowledgements add a comment (ADF on v3); resolve applies the transition by id, then comments', async (t) => {
    const { j, ep } = await setup(t, { mode: 'cloud' }, '/rest/api/3/issue', 'project=OPS&resolve_transition=31');
    const inc = testIncident();
    const ref = await open(ep, inc);
    assert.equal((await jira.perform(op('update', inc, ref), ep, undefined)).kind, 'ok');
    assert.equal((await jira.perform(op('acknowledge', inc, ref), ep, undefined)).kind, 'ok');
    const issue = j.issue(ref.id)!;
    assert.equal(issue.comments.length, 2);
    for (const c of issue.comments) assert.equal(adfProblem(c.body), undefined);
    assert.equal((await jira.perform(op('resolve', inc, ref), ep, undefined)).kind, 'ok');
    assert.deepEqual(j.apiTransitions(ref.id).map((x) => x.id), ['31']);
    assert.equal(issue.status.category.key, 'done');
    assert.equal(issue.comments.length, 3);
    // Already done (resolved again after a lost answer): no second transition.
    assert.equal((await jira.perform(op('resolve', inc, ref), ep, undefined)).kind, 'ok');
    assert.deepEqual(j.apiTransitions(ref.id).map((x) => x.id), ['31']);
  });

  it('a transition given by name is looked up among the issue\'s transitions; an unknown name is a permanent failure naming what is available', async (t) => {
    const { j, ep } = await setup(t, { mode: 'cloud' }, '/rest/api/2/issue', 'project=OPS&resolve_transition=done');
    const inc = testIncident();
    const ref = await open(ep, inc);
    assert.equal((await jira.perform(op('resolve', inc, ref), ep, undefined)).kind, 'ok');
    assert.deepEqual(j.apiTransitions(ref.id).map((x) => x.name), ['Done']);
    const { ep: wrong } = connector(t, j.server.caPem, `jira|${j.url}/rest/api/2/issue?project=OPS&resolve_transition=Closed|${j.user.user}:${j.user.secret}`);
    const inc2 = testIncident();
    const ref2 = await open(wrong, inc2);
    const r = await jira.perform(op('resolve', inc2, ref2), wrong, undefined) as Extract<OperationResult, { kind: 'permanent' }>;
    assert.equal(r.kind, 'permanent');
    assert.match(r.reason, /no transition named "Closed".*available: In Progress, Done\)/);
  });

  it('answers: 401 pauses (never echoing the token), a deleted issue is permanent, a wrong API path pauses, 429 and 5xx retry', async (t) => {
    const { j, ep } = await setup(t, { mode: 'cloud' }, '/rest/api/3/issue');
    const { ep: badAuth } = connector(t, j.server.caPem, `jira|${j.url}/rest/api/3/issue?project=OPS|${j.user.user}:cnry-wrong-token`);
    const denied = await jira.lookup?.(testIncident(), badAuth, undefined);
    assert.equal(denied?.kind, 'paused');
    assert.ok(!JSON.stringify(denied).includes('cnry-wrong-token'));
    const gone = await jira.perform(op('update', testIncident(), { id: 'OPS-999' }), ep, undefined);
    assert.deepEqual([gone.kind, (gone as { status?: number }).status], ['permanent', 404]);
    const { ep: wrongPath } = connector(t, j.server.caPem, `jira|${j.url}/jira/rest/api/3/issue?project=OPS|${j.user.user}:${j.user.secret}`);
    assert.equal((await jira.perform({ action: 'open', incident: testIncident(), ref: undefined, idempotencyKey: 'x' }, wrongPath, undefined)).kind, 'paused');
    j.server.inject({ kind: 'status', status: 429, retryAfter: '3' });
    const limited = await jira.perform({ action: 'open', incident: testIncident(), ref: undefined, idempotencyKey: 'x' }, ep, undefined);
    assert.deepEqual([limited.kind, (limited as { retryAfterMs?: number }).retryAfterMs], ['retryable', 3000]);
    j.server.inject({ kind: 'status', status: 502 });
    assert.equal((await jira.perform({ action: 'open', incident: testIncident(), ref: undefined, idempotencyKey: 'x' }, ep, undefined)).kind, 'retryable');
  });

  it('inbound: X-Hub-Signature sha256 over the raw body; jira:issue_updated with status category done resolves by key, anything else is ignored', async (t) => {
    const { j, ep } = await setup(t, { mode: 'cloud' }, '/rest/api/3/issue');
    const inc = testIncident();
    const ref = await open(ep, inc);
    const body = { webhookEvent: 'jira:issue_updated', issue: { key: ref.id, fields: { labels: [inc.key, 'probectl'], status: { statusCategory: { key: 'done' } } } } };
    const raw = Buffer.from(JSON.stringify(body));
    const sig = `sha256=${createHmac('sha256', 'whsec').update(raw).digest('hex')}`;
    assert.equal(jira.verifyVendorSignature?.(raw, { 'x-hub-signature': sig }, 'whsec'), 'valid');
    assert.equal(jira.verifyVendorSignature?.(raw, { 'x-hub-signature': sig }, 'other'), 'invalid');
    assert.equal(jira.verifyVendorSignature?.(raw, {}, 'whsec'), 'absent');
    assert.deepEqual(jira.parseInbound?.(body), { ref: ref.id, incidentKey: inc.key, status: 'resolved' });
    const inProgress = { ...body, issue: { ...body.issue, fields: { status: { statusCategory: { key: 'indeterminate' } } } } };
    assert.ok('ignore' in (jira.parseInbound?.(inProgress) ?? {}));
    assert.ok('ignore' in (jira.parseInbound?.({ ...body, webhookEvent: 'comment_created' }) ?? {}));
    assert.ok('ignore' in (jira.parseInbound?.([1, 2]) ?? {}));
    assert.equal(j.issues.length, 1);
  });
});
