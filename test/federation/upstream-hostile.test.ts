// Hostile review of upstream mode: engine faults and odd answers must give Prometheus-shaped errors, never a 500.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { form } from '../helpers/remote-write.ts';
import { testCa } from '../helpers/tls.ts';
import { startMimir, type MimirStandIn } from './servers/mimir.ts';

const G = '/v1/grafana/api/v1';
const PASSWORD = 'upstream-s3cret-password';
const AUTH = `Basic ${Buffer.from(`probectl:${PASSWORD}`).toString('base64')}`;

describe('upstream mode, hostile engine answers', () => {
  let mimir: MimirStandIn;
  let app: TestApp;
  let dir: string;
  let a: { id: string; token: string };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'probectl-upstream-hostile-'));
    mimir = await startMimir({ authorization: AUTH });
    const caFile = join(dir, 'upstream-ca.pem');
    writeFileSync(caFile, (await testCa()).certPem);
    app = await startTestApp({
      PROBECTL_METRICS_UPSTREAM_URL: `${mimir.origin}/prometheus`,
      PROBECTL_METRICS_UPSTREAM_WRITE_URL: `${mimir.origin}/api/v1/push`,
      PROBECTL_METRICS_UPSTREAM_CA_FILE: caFile,
      PROBECTL_METRICS_UPSTREAM_TOKEN: `probectl:${PASSWORD}`,
      PROBECTL_METRICS_UPSTREAM_TENANCY: 'header',
      PROBECTL_METRICS_UPSTREAM_TIMEOUT: '1s',
      PROBECTL_METRICS_SELF_INTERVAL: '2m',
      PROBECTL_METRICS_MAX_SERIES: '50',
    });
    const id = (await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name: 'hostile-a' } })).json.id as string;
    const token = (await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant: id, permissions: ['metrics-read', 'metrics-write'], name: 't' } })).json.token as string;
    a = { id, token };
  });
  after(async () => {
    await app?.close();
    await mimir?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const body of ['not json', 'null', '[]', '"x"', '{"status":"success","data":null}']) {
    it(`a 2xx answer ${body} to the guard's series count or the series API is a Prometheus-shaped 503, never a 500`, async () => {
      for (const path of [`${G}/query?${form({ query: 'up{job="x"}' })}`, `${G}/series?${form({ 'match[]': 'up{job="x"}' })}`, `${G}/labels?${form({ 'match[]': 'up{job="x"}' })}`, `/v1/prometheus/federate?${form({ 'match[]': 'up{job="x"}' })}`]) {
        mimir.failNext(1, 200, body);
        const res = await app.request('GET', path, { token: a.token });
        assert.ok(res.status < 500 || res.status === 503, `${path} ${body}: ${res.status} ${res.text}`);
        // The series API passes a parsable answer on as it came; the guard needs a list.
        if (body === 'not json' || (body === 'null' && !path.includes('/series'))) {
          assert.equal(res.status, 503, `${path} ${body}: ${res.text}`);
          assert.match(res.text, /PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE|"errorType":"unavailable"/, res.text);
        }
      }
    });
  }
});
