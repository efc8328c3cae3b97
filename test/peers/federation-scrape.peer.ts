// A real Prometheus scrapes probectl's /v1/prometheus/federate over HTTPS, trusting only a private
// CA and authenticating with a tenant's token as the basic-auth password (Grafana's form), with
// honor_labels: true as docs/federation.md configures it. It must end up with that tenant's series —
// values, labels, tenant_id — and none of another tenant's, even with a match[] naming the other tenant.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { remoteWrite } from '../helpers/remote-write.ts';
import { peerTenant, startPrivateCaApp, startPrometheus, until } from './prometheus.ts';

describe('Prometheus scraping /v1/prometheus/federate (real Prometheus, HTTPS, private CA, credentials)', () => {
  it('ends up with the tenant\'s series and only those', async (t) => {
    const srv = await startPrivateCaApp({ PROBECTL_METRICS_SELF_INTERVAL: '2m' });
    t.after(() => srv.close());
    const { app } = srv;
    const a = await peerTenant(app, 'scraped-tenant', ['metrics-read', 'metrics-write']);
    const b = await peerTenant(app, 'other-tenant', ['metrics-read', 'metrics-write']);
    const writeBoth = async () => {
      const now = Date.now() - 1000;
      const wa = await remoteWrite(app, a.token, [
        { labels: { __name__: 'peer_temp', room: 'kitchen', note: 'a "quoted" \\ value\nwith newline' }, samples: [[now, 21.5]] },
        { labels: { __name__: 'peer_temp', room: 'lab' }, samples: [[now, -3.25]] },
        { labels: { __name__: 'peer_up', job: 'svc', instance: 'origin:9100' }, samples: [[now, 1]] },
      ]);
      assert.equal(wa.status, 204, wa.text);
      const wb = await remoteWrite(app, b.token, [
        { labels: { __name__: 'peer_temp', room: 'kitchen' }, samples: [[now, 666]] },
        { labels: { __name__: 'peer_b_only' }, samples: [[now, 1]] },
      ]);
      assert.equal(wb.status, 204, wb.text);
    };
    await writeBoth();
    const refresh = setInterval(() => void writeBoth().catch(() => undefined), 2000);
    t.after(() => clearInterval(refresh));

    const port = new URL(app.url).port;
    const prom = await startPrometheus([
      'global: { scrape_interval: 1s, scrape_timeout: 1s }',
      'scrape_configs:',
      '  - job_name: probectl',
      '    honor_labels: true',
      '    metrics_path: /v1/prometheus/federate',
      '    params:',
      `      "match[]": ['{__name__=~"peer_.*"}', '{tenant_id="${b.id}",__name__=~"peer_.*"}', 'peer_b_only']`,
      '    scheme: https',
      '    tls_config: { ca_file: ca.pem }',
      '    basic_auth: { username: grafana, password_file: token }',
      `    static_configs: [{ targets: ['127.0.0.1:${port}'] }]`,
      '  - job_name: wrong-token',
      '    honor_labels: true',
      '    metrics_path: /v1/prometheus/federate',
      '    params: { "match[]": [\'{__name__=~"peer_.*"}\'] }',
      '    scheme: https',
      '    tls_config: { ca_file: ca.pem }',
      '    basic_auth: { username: grafana, password: not-a-token }',
      `    static_configs: [{ targets: ['127.0.0.1:${port}'] }]`,
      '',
    ].join('\n').replaceAll('ca.pem', srv.caFile).replace('password_file: token', 'password_file: token.txt'), { files: { 'token.txt': a.token } });
    t.after(() => prom.stop());
    const series = await until(45_000, async () => {
      const r = await prom.api(`/api/v1/query?query=${encodeURIComponent('{__name__=~"peer_.*"}')}`);
      const result = r.data?.result as Array<{ metric: Record<string, string>; value: [number, string] }> | undefined;
      return result && result.length >= 3 ? result : undefined;
    }, `the federated series in Prometheus\n${prom.output()}`);
    const key = (x: Record<string, string>) => `${x.__name__}|${x.room ?? ''}`;
    const seen = series.map((s) => ({ ...s.metric, value: s.value[1] })).sort((x, y) => key(x).localeCompare(key(y)));
    // honor_labels keeps the federated labels; job comes from the scrape where the series has none, instance="" means none.
    assert.deepEqual(seen, [
      { __name__: 'peer_temp', room: 'kitchen', note: 'a "quoted" \\ value\nwith newline', tenant_id: a.id, job: 'probectl', value: '21.5' },
      { __name__: 'peer_temp', room: 'lab', tenant_id: a.id, job: 'probectl', value: '-3.25' },
      { __name__: 'peer_up', job: 'svc', instance: 'origin:9100', tenant_id: a.id, value: '1' },
    ]);
    const scraped = await prom.api(`/api/v1/query?query=${encodeURIComponent('scrape_samples_scraped{job="probectl"}')}`);
    assert.equal(scraped.data.result[0].value[1], '3', 'the federate body held exactly the tenant\'s three series');
    const up = await until(20_000, async () => {
      const r = await prom.api(`/api/v1/query?query=${encodeURIComponent('up')}`);
      const byJob = Object.fromEntries((r.data.result as Array<{ metric: { job: string }; value: [number, string] }>).map((s) => [s.metric.job, s.value[1]]));
      return byJob.probectl !== undefined && byJob['wrong-token'] !== undefined ? byJob : undefined;
    }, 'both scrape jobs');
    assert.deepEqual(up, { probectl: '1', 'wrong-token': '0' }, 'a wrong token gets nothing');
    const leak = await prom.api(`/api/v1/query?query=${encodeURIComponent(`{tenant_id="${b.id}"} or peer_b_only or peer_temp == 666`)}`);
    assert.deepEqual(leak.data.result, [], 'nothing of the other tenant');
  });
});
