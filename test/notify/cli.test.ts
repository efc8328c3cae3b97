import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliAsync } from '../helpers/process.ts';
import { PagerDuty } from './servers/pagerduty.ts';
import { pemFile, startNotifyApp, until } from './helpers.ts';

/**
 * `probectl notify status|test|failed list|failed retry` and `probectl
 * webhook sign` against a running server (through its control socket): each
 * is its API route.
 */
describe('probectl notify … and probectl webhook sign', () => {
  it('status, test, failed list and retry, and signing a body the endpoint accepts', async (t) => {
    const pd = await PagerDuty.start();
    t.after(() => pd.close());
    let env: Record<string, string> = {};
    const n = await startNotifyApp(t, ['acme'], (ids, dir) => {
      env = {
        PROBECTL_NOTIFY_CONNECTORS: `${ids.acme}|pagerduty|${pd.enqueueUrl}?connector_name=pd-main|${pd.routingKey}`,
        PROBECTL_NOTIFY_INBOUND: `pd1:${ids.acme}:pagerduty:inbound-secret-cli`,
        PROBECTL_NOTIFY_CA_FILE: pemFile(dir, pd.server.caPem),
        PROBECTL_NOTIFY_RETRY_BASE: '20ms',
        PROBECTL_NOTIFY_RETRY_MAX: '100ms',
      };
      return env;
    });
    const acme = n.tenants.acme as string;
    const cliEnv = { PROBECTL_DATA_DIR: n.dataDir, ...env };
    const run = (...args: string[]) => cliAsync(args, cliEnv);

    const status = await run('notify', 'status', '--tenant', acme);
    assert.equal(status.status, 0, status.stderr);
    const id = /^(pagerduty-[0-9a-f]{10})\s+pagerduty\s+https:\/\/127\.0\.0\.1:\d+\/v2\/enqueue\s+warning\s+ok/m.exec(status.stdout)?.[1];
    assert.ok(id, status.stdout);
    assert.match(status.stdout, new RegExp(`^inbound pd1 \\(pagerduty\\): POST /ingest/itsm/pagerduty/pd1 for ${id} \\(pd-main\\)$`, 'm'), 'the connector it speaks for, by id and connector_name');

    const test = await run('notify', 'test', '--tenant', acme, '--connector', id);
    assert.equal(test.status, 0, test.stderr + test.stdout);
    assert.match(test.stdout, /open: {4}ok \(ref probectl-[0-9a-f-]{36}\)\n {2}resolve: ok/);
    assert.deepEqual(pd.events.map((e) => e.event_action), ['trigger', 'resolve']);

    assert.match((await run('notify', 'failed', 'list', '--tenant', acme)).stdout, /no failed operations/);
    pd.server.inject({ kind: 'status', status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ["'payload.source' is missing or blank"] } });
    const incident = await n.signal(acme);
    await until(async () => (await n.rows(acme, 'SELECT 1 FROM delivery_parked')).length === 1, 'the open failed permanently');
    const list = await run('notify', 'failed', 'list', '--tenant', acme);
    assert.match(list.stdout, new RegExp(`${id}\\s+1\\s+open\\s+${incident}\\s+400\\s+PagerDuty answered 400: Event object is invalid; 'payload.source' is missing or blank`), list.stdout);
    const retry = await run('notify', 'failed', 'retry', '--tenant', acme, '--connector', id);
    assert.equal(retry.status, 0, retry.stderr);
    assert.deepEqual(JSON.parse(retry.stdout), { retried: 1, delivered: 1, still_failed: 0 });
    assert.equal(pd.incident(`probectl-${incident}`)?.status, 'triggered');
    // Where the incident is mirrored: the dedup key an inbound external_ref names.
    const links = await run('notify', 'links', '--tenant', acme, '--incident', incident);
    assert.equal(links.status, 0, links.stderr);
    assert.match(links.stdout, new RegExp(`^${id}\\s+pagerduty\\s+open\\s+probectl-${incident}\\s+-\\s+open\\s`, 'm'), links.stdout);
    const linksJson = JSON.parse((await run('notify', 'links', '--tenant', acme, '--incident', incident, '--json')).stdout);
    assert.deepEqual(linksJson.links.map((l: { connector: string; state: string; ref: string; aliases: string[] }) => [l.connector, l.state, l.ref, l.aliases]), [[id, 'open', `probectl-${incident}`, []]]);
    const elsewhere = await run('notify', 'links', '--incident', incident);
    assert.equal(elsewhere.status, 1, 'the provider tenant has no such incident');
    assert.match(elsewhere.stderr, /no such incident \[PROBECTL_ERR_NOT_FOUND\]/);
    // The status table says why a connector retries, and its severity floor.
    pd.server.inject(...Array.from({ length: 1000 }, () => ({ kind: 'status' as const, status: 503 })));
    await n.signal(acme, { target: 'edge-sw-2:ge-0/0/2' });
    let table = '';
    await until(async () => /\bretrying\b/.test(table = (await run('notify', 'status', '--tenant', acme)).stdout), 'the connector retries');
    pd.server.faults.length = 0;
    assert.match(table, /MIN_SEVERITY\s+STATE/);
    assert.match(table, new RegExp(`^${id}\\s+pagerduty\\s+https://127\\.0\\.0\\.1:\\d+/v2/enqueue\\s+warning\\s+retrying\\s.*PagerDuty answered 503`, 'm'), table);

    const bodyFile = join(n.dataDir, 'resolve.json');
    const body = JSON.stringify({ external_ref: `probectl-${incident}`, status: 'resolved' });
    writeFileSync(bodyFile, body);
    const sign = await run('webhook', 'sign', '--id', 'pd1', '--file', bodyFile);
    assert.equal(sign.status, 0, sign.stderr);
    const headers = Object.fromEntries(sign.stdout.split('\n').filter((l) => /^[a-z-]+: /.test(l)).map((l) => l.split(': ') as [string, string]));
    assert.deepEqual(Object.keys(headers), ['content-type', 'x-probectl-timestamp', 'x-probectl-signature']);
    assert.ok(!sign.stdout.includes('inbound-secret-cli'));
    const res = await n.app.request('POST', '/ingest/itsm/pagerduty/pd1', { rawBody: body, headers });
    assert.deepEqual([res.status, res.json.result], [200, 'applied']);
    assert.equal((await n.app.request('GET', `/v1/incidents/${incident}`, { token: await n.token(acme) })).json.status, 'resolved');

    const unknown = await run('webhook', 'sign', '--id', 'nobody', '--file', bodyFile);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no such inbound webhook id in this tenant .*\[PROBECTL_ERR_NOT_FOUND\]/);
  });
});
