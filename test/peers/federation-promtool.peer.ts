// promtool — Prometheus's own API client — asks probectl's /v1/grafana and a real Prometheus the
// same queries over identical samples (the same remote-write requests sent to both, every series
// labelled with the tenant's tenant_id so the answers can be identical): the printed answers,
// as text and as JSON, must be the same. promtool 2.42 (Debian bookworm) has no --http.config.file:
// it reaches probectl with the token as the basic-auth password in the server URL (Go's client sends
// it as an Authorization header) and trusts the private CA through SSL_CERT_FILE.
// Evaluation times sit between samples, where Prometheus 2.x and 3.x agree.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { encodeWriteRequest, REMOTE_WRITE_HEADERS, type WireSeriesSpec } from '../helpers/remote-write.ts';
import { peerTenant, promtool, startPrivateCaApp, startPrometheus } from './prometheus.ts';

const STEP = 15_000;

function samplesFor(tenant: string, t0: number): WireSeriesSpec[] {
  const grid = (n: number, from = 0) => Array.from({ length: n }, (_, k) => from + k);
  const series = (labels: Record<string, string>, points: Array<[number, number | 'stale']>): WireSeriesSpec => ({ labels: { ...labels, tenant_id: tenant }, samples: points });
  return [
    series({ __name__: 'ptool_gauge', instance: 'i1', path: 'a"b\\c', unicode: 'é日本' }, grid(61).map((k) => [t0 + k * STEP, k * 1.5])),
    series({ __name__: 'ptool_gauge', instance: 'i2' }, grid(61).map((k) => [t0 + k * STEP, Math.round(Math.sin(k) * 1000) / 1000])),
    series({ __name__: 'ptool_special', kind: 'nan' }, grid(61).map((k) => [t0 + k * STEP, NaN])),
    series({ __name__: 'ptool_special', kind: 'inf' }, grid(61).map((k) => [t0 + k * STEP, k % 2 === 0 ? Infinity : -Infinity])),
    series({ __name__: 'ptool_special', kind: 'tiny' }, grid(61).map((k) => [t0 + k * STEP, 1e-7 * (k + 1)])),
    series({ __name__: 'ptool_special', kind: 'huge' }, grid(61).map((k) => [t0 + k * STEP, 1e21 * (k + 1)])),
    series({ __name__: 'ptool_stale' }, [...grid(31).map((k): [number, number] => [t0 + k * STEP, k]), [t0 + 31 * STEP, 'stale']]),
    series({ __name__: 'ptool_late' }, grid(21, 40).map((k) => [t0 + k * STEP, k])),
  ];
}

describe('promtool query against /v1/grafana and against Prometheus, over identical samples', () => {
  it('instant, range, series and labels answers are identical, as text and as JSON', async (t) => {
    const srv = await startPrivateCaApp({ PROBECTL_METRICS_SELF_INTERVAL: '2m' });
    t.after(() => srv.close());
    const tenant = await peerTenant(srv.app, 'promtool-tenant', ['metrics-read', 'metrics-write']);
    const prom = await startPrometheus('global: { scrape_interval: 1h }\nscrape_configs: []\n', { flags: ['--web.enable-remote-write-receiver'] });
    t.after(() => prom.stop());

    const t0 = Math.floor((Date.now() - 20 * 60_000) / STEP) * STEP;
    const body = encodeWriteRequest(samplesFor(tenant.id, t0));
    const toProm = await request(`${prom.url}/api/v1/write`, { method: 'POST', headers: REMOTE_WRITE_HEADERS, body, signal: AbortSignal.timeout(10_000) });
    assert.equal(toProm.statusCode, 204, await toProm.body.text());
    const toProbectl = await srv.app.request('POST', '/v1/prometheus/write', { token: tenant.token, rawBody: body, headers: REMOTE_WRITE_HEADERS });
    assert.equal(toProbectl.status, 204, toProbectl.text);

    const probectlUrl = new URL('/v1/grafana', srv.app.url);
    probectlUrl.username = 'grafana';
    probectlUrl.password = tenant.token;
    const targets = { prometheus: prom.url, probectl: probectlUrl.toString() };
    const env = { SSL_CERT_FILE: srv.caFile };
    const at = (k: number) => String((t0 + k * STEP + 7500) / 1000);
    const queries: string[][] = [
      ['instant', '--time', at(20), '{SERVER}', 'ptool_gauge'],
      ['instant', '--time', at(35), '{SERVER}', '{__name__=~"ptool_.*"}'],
      ['instant', '--time', at(50), '{SERVER}', '{__name__=~"ptool_.*"}'],
      ['instant', '--time', at(20), '{SERVER}', 'ptool_special[1m]'],
      ['instant', '--time', at(33), '{SERVER}', 'ptool_stale[2m]'],
      ['instant', '--time', at(20), '{SERVER}', 'ptool_gauge offset 1m'],
      ['instant', '--time', at(20), '{SERVER}', `ptool_gauge{instance="i2"} @ ${at(10)}`],
      ['instant', '--time', at(20), '{SERVER}', '1+1'],
      ['range', '--start', at(0), '--end', at(60), '--step', '30s', '{SERVER}', '{__name__=~"ptool_.*"}'],
      ['range', '--start', at(25), '--end', at(45), '--step', '15s', '{SERVER}', 'ptool_stale'],
      ['series', '--match', '{__name__=~"ptool_.*"}', '--start', at(0), '--end', at(60), '{SERVER}'],
      ['series', '--match', 'ptool_gauge', '--match', 'ptool_late', '--start', at(0), '--end', at(60), '{SERVER}'],
      ['labels', '--match', 'ptool_gauge', '--start', at(0), '--end', at(60), '{SERVER}', 'instance'],
      ['labels', '--match', '{__name__=~"ptool_.*"}', '--start', at(0), '--end', at(60), '{SERVER}', '__name__'],
      ['labels', '--match', 'ptool_special', '--start', at(0), '--end', at(60), '{SERVER}', 'kind'],
    ];
    let compared = 0;
    for (const q of queries) {
      for (const format of ['promql', 'json']) {
        const run = (server: string) => promtool(['query', '-o', format, ...q.map((a) => (a === '{SERVER}' ? server : a))], env);
        const expected = await run(targets.prometheus);
        const actual = await run(targets.probectl);
        assert.ok(expected.trim().length > 2, `Prometheus answered ${q.join(' ')}: ${expected}`);
        assert.equal(actual, expected, `promtool query -o ${format} ${q.join(' ')}`);
        compared++;
      }
    }
    assert.equal(compared, 30);

    // The HTTP API bodies themselves, byte for byte.
    const paths = [
      `/api/v1/query?${new URLSearchParams({ query: '{__name__=~"ptool_.*"}', time: at(20) })}`,
      `/api/v1/query?${new URLSearchParams({ query: 'ptool_special[1m]', time: at(20) })}`,
      `/api/v1/query?${new URLSearchParams({ query: '-2^2 + 0x10', time: at(20) })}`,
      `/api/v1/query_range?${new URLSearchParams({ query: '{__name__=~"ptool_.*"}', start: at(0), end: at(60), step: '30' })}`,
      `/api/v1/series?${new URLSearchParams({ 'match[]': '{__name__=~"ptool_.*"}', start: at(0), end: at(60) })}`,
      `/api/v1/labels?${new URLSearchParams({ 'match[]': '{__name__=~"ptool_.*"}', start: at(0), end: at(60) })}`,
      `/api/v1/label/unicode/values?${new URLSearchParams({ 'match[]': 'ptool_gauge', start: at(0), end: at(60) })}`,
    ];
    for (const path of paths) {
      const expected = await (await request(`${prom.url}${path}`, { signal: AbortSignal.timeout(10_000) })).body.text();
      const actual = await srv.app.request('GET', `/v1/grafana${path}`, { token: tenant.token });
      assert.equal(actual.text, expected, path);
    }
  });
});
