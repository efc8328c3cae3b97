import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { HttpClientError } from '../../../src/core/http/client.ts';
import { basic, captureReceiver, vendorClient } from './client.ts';
import { hmacSha256Hex } from './harness.ts';
import { adfProblem } from './jira-adf.ts';
import { compileJql, JqlError } from './jira-jql.ts';
import { Jira, type JiraOptions } from './jira.ts';

type Json = Record<string, unknown>;

async function setup(t: TestContext, opts: JiraOptions = {}) {
  const jira = await Jira.start(opts);
  t.after(() => jira.close());
  t.after(() => assert.deepEqual(jira.server.handlerErrors, [], 'the stand-in itself failed'));
  const { call } = vendorClient(t, jira.server.caPem);
  const auth = { authorization: basic(jira.user.user, jira.user.secret) };
  const req = async (path: string, init: { method?: 'GET' | 'POST' | 'PUT'; json?: unknown; headers?: Record<string, string> } = {}) => {
    const res = await call(`${jira.url}${path}`, { ...init, headers: init.headers ?? auth });
    return { status: res.status, body: res.body.length ? (res.json() as Json) : undefined };
  };
  return { jira, call, auth, req };
}

const adf = (text: string) => ({ type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text }] }] });
const fieldsV3 = { project: { key: 'OPS' }, issuetype: { name: 'Task' }, summary: 'Link down on core-1', description: adf('Three signals correlated'), labels: ['probectl', 'probectl-inc-1'] };

describe('Jira Cloud REST v3 stand-in', () => {
  it('create with an ADF description → 201 {id, key, self}; GET shows status To Do (new)', async (t) => {
    const { jira, req } = await setup(t);
    const res = await req('/rest/api/3/issue', { method: 'POST', json: { fields: fieldsV3 } });
    assert.equal(res.status, 201);
    assert.equal(res.body!.key, 'OPS-1');
    assert.equal(res.body!.self, `${jira.url}/rest/api/3/issue/${res.body!.id as string}`);
    const got = await req('/rest/api/3/issue/OPS-1');
    const f = got.body!.fields as Json & { status: Json & { statusCategory: Json } };
    assert.deepEqual([f.status.name, f.status.statusCategory.key], ['To Do', 'new']);
    assert.deepEqual(f.description, fieldsV3.description);
    assert.deepEqual(jira.withLabel('probectl-inc-1').map((i) => i.key), ['OPS-1']);
  });

  const invalid: Array<[string, Json, string, RegExp]> = [
    ['a plain-string description', { ...fieldsV3, description: 'plain text' }, 'description', /Operation value must be an Atlassian Document/],
    ['malformed ADF (text directly under doc)', { ...fieldsV3, description: { type: 'doc', version: 1, content: [{ type: 'text', text: 'x' }] } }, 'description', /Atlassian Document/],
    ['ADF with an empty text node', { ...fieldsV3, description: adf('') }, 'description', /Atlassian Document/],
    ['no summary', { ...fieldsV3, summary: undefined }, 'summary', /^You must specify a summary of the issue\.$/],
    ['summary of 256 characters', { ...fieldsV3, summary: 's'.repeat(256) }, 'summary', /^Summary must be less than 255 characters\.$/],
    ['summary with a newline', { ...fieldsV3, summary: 'a\nb' }, 'summary', /newline/],
    ['unknown project', { ...fieldsV3, project: { key: 'NOPE' } }, 'project', /^valid project is required$/],
    ['no project', { ...fieldsV3, project: undefined }, 'project', /Specify a valid project ID or key/],
    ['unknown issue type', { ...fieldsV3, issuetype: { name: 'Story' } }, 'issuetype', /^Specify a valid issue type$/],
    ['a label with a space', { ...fieldsV3, labels: ['probectl inc'] }, 'labels', /^The label 'probectl inc' contains spaces which is invalid\.$/],
    ['an unknown field', { ...fieldsV3, severity: 'critical' }, 'severity', /cannot be set. It is not on the appropriate screen, or unknown/],
  ];
  for (const [name, fields, key, message] of invalid) {
    it(`400 {errorMessages:[], errors.${key}}: ${name}`, async (t) => {
      const { jira, req } = await setup(t);
      const res = await req('/rest/api/3/issue', { method: 'POST', json: { fields } });
      assert.equal(res.status, 400);
      assert.deepEqual(res.body!.errorMessages, []);
      assert.match((res.body!.errors as Record<string, string>)[key]!, message);
      assert.equal(jira.issues.length, 0);
    });
  }

  it('search: /rest/api/3/search/jql finds by label (ids only unless fields asked); the old /search answers 410 on v2 and v3', async (t) => {
    const { req } = await setup(t);
    await req('/rest/api/3/issue', { method: 'POST', json: { fields: fieldsV3 } });
    await req('/rest/api/3/issue', { method: 'POST', json: { fields: { ...fieldsV3, labels: ['probectl', 'probectl-inc-2'] } } });
    const ids = await req(`/rest/api/3/search/jql?jql=${encodeURIComponent('project = OPS AND labels = "probectl-inc-1"')}`);
    assert.equal(ids.status, 200);
    assert.deepEqual(ids.body!.issues, [{ id: '10001' }]);
    assert.equal(ids.body!.isLast, true);
    const post = await req('/rest/api/3/search/jql', { method: 'POST', json: { jql: 'labels = probectl AND statusCategory != Done ORDER BY created DESC', fields: ['summary', 'status', 'labels'], maxResults: 1 } });
    const issues = post.body!.issues as Array<{ key: string; fields: Json }>;
    assert.equal(issues.length, 1);
    assert.deepEqual(Object.keys(issues[0]!.fields).sort(), ['labels', 'status', 'summary']);
    assert.equal(post.body!.isLast, false);
    const next = await req('/rest/api/3/search/jql', { method: 'POST', json: { jql: 'labels = probectl', maxResults: 1, nextPageToken: post.body!.nextPageToken } });
    assert.deepEqual(next.body!.issues, [{ id: '10002' }]);
    for (const path of ['/rest/api/3/search?jql=project=OPS', '/rest/api/2/search?jql=project=OPS']) {
      const gone = await req(path);
      assert.equal(gone.status, 410);
      assert.match((gone.body!.errorMessages as string[])[0]!, /The requested API has been removed\. Please migrate to the \/rest\/api\/3\/search\/jql API/);
    }
  });

  it('search/jql refuses unbounded and malformed JQL with Jira messages', async (t) => {
    const { req } = await setup(t);
    const cases: Array<[string, RegExp]> = [
      ['', /Unbounded JQL queries are not allowed here/],
      ['ORDER BY created', /Unbounded JQL/],
      ['labels = probectl.inc', /The character '\.' is a reserved JQL character/],
      ['severity = critical', /Field 'severity' does not exist/],
      ['labels = ', /Expecting either a value, list or function/],
      ['labels in (a, b', /Expecting '\)'/],
      ['labels = "unterminated', /has not been completed/],
      ['assignee = currentUser()', /Field 'assignee' does not exist/],
    ];
    for (const [jql, message] of cases) {
      const res = await req(`/rest/api/3/search/jql?jql=${encodeURIComponent(jql)}`);
      assert.equal(res.status, 400, jql);
      assert.match((res.body!.errorMessages as string[])[0]!, message, jql);
    }
  });

  it('eventual consistency: a new issue shows up after the lag, or at once when reconciled', async (t) => {
    const { req } = await setup(t, { searchLagMs: 60_000 });
    const created = await req('/rest/api/3/issue', { method: 'POST', json: { fields: fieldsV3 } });
    const jql = encodeURIComponent('labels = "probectl-inc-1"');
    assert.deepEqual((await req(`/rest/api/3/search/jql?jql=${jql}`)).body!.issues, []);
    assert.deepEqual((await req(`/rest/api/3/search/jql?jql=${jql}&reconcileIssues=${created.body!.id as string}`)).body!.issues, [{ id: created.body!.id }]);
  });

  it('comments need an ADF body on v3; transitions list, apply by id (status category done) and refuse unknown ids', async (t) => {
    const { jira, req } = await setup(t);
    await req('/rest/api/3/issue', { method: 'POST', json: { fields: fieldsV3 } });
    assert.equal((await req('/rest/api/3/issue/OPS-1/comment', { method: 'POST', json: { body: 'plain' } })).status, 400);
    const empty = await req('/rest/api/3/issue/OPS-1/comment', { method: 'POST', json: { body: { type: 'doc', version: 1, content: [] } } });
    assert.deepEqual(empty.body!.errors, { comment: 'Comment body can not be empty!' });
    const ok = await req('/rest/api/3/issue/OPS-1/comment', { method: 'POST', json: { body: adf('3 more signals') } });
    assert.equal(ok.status, 201);
    assert.equal(jira.issue('OPS-1')!.comments.length, 1);
    const list = await req('/rest/api/3/issue/OPS-1/transitions');
    const transitions = list.body!.transitions as Array<{ id: string; name: string; to: { statusCategory: { key: string } } }>;
    assert.deepEqual(transitions.map((x) => x.name), ['In Progress', 'Done']);
    assert.equal(transitions.find((x) => x.name === 'Done')!.to.statusCategory.key, 'done');
    const bad = await req('/rest/api/3/issue/OPS-1/transitions', { method: 'POST', json: { transition: { id: '99' } } });
    assert.deepEqual([bad.status, bad.body!.errorMessages], [400, ["Transition id '99' is not valid for this issue."]]);
    assert.equal((await req('/rest/api/3/issue/OPS-1/transitions', { method: 'POST', json: { transition: { name: 'Done' } } })).status, 400);
    const done = await req('/rest/api/3/issue/OPS-1/transitions', { method: 'POST', json: { transition: { id: '31' }, update: { comment: [{ add: { body: adf('Resolved in probectl') } }] } } });
    assert.equal(done.status, 204);
    const issue = jira.issue('OPS-1')!;
    assert.deepEqual([issue.status.name, issue.status.category.key, issue.resolution], ['Done', 'done', 'Done']);
    assert.equal(jira.apiTransitions('OPS-1').length, 1);
    assert.equal(issue.comments.length, 2);
    assert.equal((await req('/rest/api/3/issue/OPS-9/transitions')).status, 404);
  });

  it('credentials: Basic email:api-token only; wrong token or a bearer token → 401', async (t) => {
    const { jira, req } = await setup(t);
    for (const headers of [{}, { authorization: basic(jira.user.user, 'wrong') }, { authorization: `Bearer ${jira.user.secret}` }] as Array<Record<string, string>>) {
      const res = await req('/rest/api/3/issue', { method: 'POST', json: { fields: fieldsV3 }, headers });
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { errorMessages: ['You are not authenticated. Authentication required to perform this operation.'], errors: {} });
    }
    assert.equal(jira.issues.length, 0);
  });

  it('non-JSON content type 415, malformed JSON 400 "Invalid request payload"', async (t) => {
    const { jira, call, auth } = await setup(t);
    assert.equal((await call(`${jira.url}/rest/api/3/issue`, { body: 'x=1', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' } })).status, 415);
    const res = await call(`${jira.url}/rest/api/3/issue`, { body: '{"fields":', headers: { ...auth, 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.deepEqual((res.json() as Json).errorMessages, ['Invalid request payload. Refer to the REST API documentation and try again.']);
  });

  it('a lost create still creates the issue; the label search then finds it (one ticket)', async (t) => {
    const { jira, req } = await setup(t);
    jira.server.inject({ kind: 'lost-response', when: { method: 'POST', path: '/rest/api/3/issue' } });
    await assert.rejects(req('/rest/api/3/issue', { method: 'POST', json: { fields: fieldsV3 } }), HttpClientError);
    const found = await req(`/rest/api/3/search/jql?jql=${encodeURIComponent('labels = "probectl-inc-1"')}`);
    assert.deepEqual(found.body!.issues, [{ id: jira.issues[0]!.id }]);
    assert.equal(jira.issues.length, 1);
  });

  it('jira:issue_updated webhook after a UI transition, signed X-Hub-Signature: sha256=<hex HMAC of the body>', async (t) => {
    const { jira, req } = await setup(t);
    await req('/rest/api/3/issue', { method: 'POST', json: { fields: fieldsV3 } });
    jira.transitionFromUi('OPS-1', 'Done');
    const { url: at, seen } = await captureReceiver(t, 204);
    const res = await jira.emitIssueUpdated(at('/ingest/itsm/jira/jira1'), { key: 'OPS-1', secret: 'jira-webhook-secret', timeoutMs: 2_000 });
    assert.equal(res.status, 204);
    const { headers, body } = seen[0]!;
    assert.equal(headers['x-hub-signature'], `sha256=${hmacSha256Hex('jira-webhook-secret', body)}`);
    const payload = JSON.parse(body) as { webhookEvent: string; issue: { key: string; fields: { status: { statusCategory: { key: string } }; labels: string[] } }; changelog: { items: Array<{ field: string; fromString: string; toString: string }> } };
    assert.equal(payload.webhookEvent, 'jira:issue_updated');
    assert.equal(payload.issue.key, 'OPS-1');
    assert.equal(payload.issue.fields.status.statusCategory.key, 'done');
    assert.deepEqual(payload.issue.fields.labels, ['probectl', 'probectl-inc-1']);
    assert.deepEqual(payload.changelog.items.map((i) => [i.field, i.fromString, i.toString]), [['status', 'To Do', 'Done']]);
    assert.equal(jira.apiTransitions('OPS-1').length, 0);
  });
});

describe('Jira Cloud REST v2 stand-in', () => {
  it('v2 takes a plain-text description and refuses ADF; /rest/api/2/search/jql works; comments are strings', async (t) => {
    const { jira, req } = await setup(t);
    const fields = { ...fieldsV3, description: 'Three signals correlated' };
    assert.equal((await req('/rest/api/2/issue', { method: 'POST', json: { fields: fieldsV3 } })).status, 400);
    const res = await req('/rest/api/2/issue', { method: 'POST', json: { fields } });
    assert.equal(res.status, 201);
    assert.equal(res.body!.self, `${jira.url}/rest/api/2/issue/${res.body!.id as string}`);
    assert.equal(((await req('/rest/api/2/issue/OPS-1')).body!.fields as Json).description, 'Three signals correlated');
    assert.deepEqual(((await req('/rest/api/3/issue/OPS-1')).body!.fields as Json).description, adf('Three signals correlated'));
    assert.equal((await req(`/rest/api/2/search/jql?jql=${encodeURIComponent('labels = "probectl-inc-1"')}`)).status, 200);
    assert.equal((await req('/rest/api/2/issue/OPS-1/comment', { method: 'POST', json: { body: adf('x') } })).status, 400);
    assert.equal((await req('/rest/api/2/issue/OPS-1/comment', { method: 'POST', json: { body: '3 more signals' } })).status, 201);
  });
});

describe('Jira Data Center stand-in', () => {
  it('v2 only: /rest/api/2/search works (startAt/total); /search/jql and /rest/api/3 are 404; Bearer PAT accepted', async (t) => {
    const { jira, req } = await setup(t, { mode: 'datacenter', pats: ['dc-personal-access-token'] });
    const pat = { authorization: 'Bearer dc-personal-access-token' };
    assert.equal((await req('/rest/api/2/issue', { method: 'POST', json: { fields: { ...fieldsV3, description: 'plain' } }, headers: pat })).status, 201);
    const found = await req(`/rest/api/2/search?jql=${encodeURIComponent('labels = "probectl-inc-1"')}&fields=summary,status`, { headers: pat });
    assert.equal(found.status, 200);
    assert.deepEqual([found.body!.startAt, found.body!.total], [0, 1]);
    assert.equal(((found.body!.issues as Array<{ key: string }>)[0]!).key, 'OPS-1');
    assert.equal((await req(`/rest/api/2/search/jql?jql=labels=x`, { headers: pat })).status, 404);
    assert.equal((await req('/rest/api/3/issue/OPS-1', { headers: pat })).status, 404);
    assert.equal((await req('/rest/api/2/issue/OPS-1', { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal(jira.issues.length, 1);
  });
});

describe('JQL and ADF helpers', () => {
  it('JQL subset semantics', () => {
    const issue = { id: '1', key: 'OPS-1', project: { id: '10000', key: 'OPS', name: 'Operations' }, labels: ['probectl-inc-1'], status: { id: '10001', name: 'Done', category: { id: 3, key: 'done', name: 'Done' } }, issuetype: 'Task', summary: 'Link down on core-1', resolution: 'Done' };
    const match = (q: string) => compileJql(q).where!(issue);
    assert.equal(match('project = ops AND labels = "probectl-inc-1"'), true);
    assert.equal(match('labels in (a, probectl-inc-1) AND statusCategory = Done'), true);
    assert.equal(match('statusCategory != done'), false);
    assert.equal(match('NOT (labels = a OR key = OPS-2)'), true);
    assert.equal(match('summary ~ "core link"'), true);
    assert.equal(match('resolution IS EMPTY'), false);
    assert.throws(() => compileJql('labels ~ x'), JqlError);
  });

  it('ADF validation uses Atlassian\'s schema', () => {
    assert.equal(adfProblem(adf('x')), undefined);
    assert.equal(adfProblem({ type: 'doc', version: 1, content: [{ type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'h', marks: [{ type: 'strong' }] }] }, { type: 'bulletList', content: [{ type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'a', marks: [{ type: 'link', attrs: { href: 'https://x.test' } }] }] }] }] }] }), undefined);
    assert.notEqual(adfProblem({ type: 'doc', version: 2, content: [] }), undefined);
    assert.notEqual(adfProblem({ type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: 'x', marks: [{ type: 'bold' }] }] }] }), undefined);
  });
});
