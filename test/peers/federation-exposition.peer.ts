// The /federate exposition against the real Prometheus (Debian package, installed by
// .ci/install-peers.sh): promtool's parser accepts the body, and a Prometheus scraping it with
// honor_labels: true stores exactly the series, labels and values rendered.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXPOSITION_CONTENT_TYPE, renderFederation, type ExpositionSample } from '../../src/federation/exposition.ts';
import { staleMarker } from '../../src/federation/stale.ts';

function samples(now: number): ExpositionSample[] {
  const s = (labels: Record<string, string>, value: number): ExpositionSample => ({ labels: Object.entries(labels).map(([name, v]) => ({ name, value: v })), value, timestampMs: now });
  return [
    s({ __name__: 'probectl_incidents_open', job: 'probectl', tenant_id: 'acme', severity: 'critical' }, 3),
    s({ __name__: 'probectl_incidents_open', job: 'probectl', tenant_id: 'acme', severity: 'warning' }, 0.1),
    s({ __name__: 'probectl_fed_quoting', job: 'probectl', tenant_id: 'acme', path: 'a\\b"c\nd' }, 1234567.5),
    s({ __name__: 'probectl_fed_special', job: 'probectl', tenant_id: 'acme', kind: 'inf' }, Infinity),
    s({ __name__: 'probectl_fed_special', job: 'probectl', tenant_id: 'acme', kind: 'small' }, 1.5e-7),
    s({ __name__: 'probectl_fed_stale', tenant_id: 'acme' }, staleMarker()),
  ];
}

function httpJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => { try { resolve(JSON.parse(body)); } catch (e) { reject(e); } });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describe('federation exposition with the real Prometheus', () => {
  it('promtool check metrics parses the body (lint notes about HELP only)', () => {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: renderFederation(samples(Date.now())), encoding: 'utf8', timeout: 20_000 });
    assert.ok(r.status === 0 || r.status === 3, `promtool exited ${r.status}: ${r.stdout}${r.stderr}`);
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /error/i);
  });

  it('a Prometheus scrape with honor_labels: true stores the series as rendered, without the stale one', async (t) => {
    const now = Date.now();
    const body = renderFederation(samples(now));
    const target = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE });
      res.end(body);
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    t.after(() => target.close());
    const dir = mkdtempSync(join(tmpdir(), 'probectl-fed-peer-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const promPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s }',
      'scrape_configs:',
      '  - job_name: probectl',
      '    honor_labels: true',
      '    metrics_path: /v1/prometheus/federate',
      `    static_configs: [{ targets: ['127.0.0.1:${(target.address() as AddressInfo).port}'] }]`,
      '',
    ].join('\n'));
    const prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
    t.after(() => { prom.kill('SIGTERM'); });
    const deadline = Date.now() + 45_000;
    let result: Array<{ metric: Record<string, string>; value: [number, string] }> = [];
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        const q = encodeURIComponent('{__name__=~"probectl_.+"}');
        const r = await httpJson(`http://127.0.0.1:${promPort}/api/v1/query?query=${q}&time=${now / 1000}`) as { data?: { result?: typeof result } };
        result = r.data?.result ?? [];
        if (result.length >= 5) break;
      } catch { /* not up yet */ }
    }
    const got = result.map((r) => ({ ...r.metric, value: r.value[1] })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    const want = [
      { __name__: 'probectl_fed_quoting', job: 'probectl', tenant_id: 'acme', path: 'a\\b"c\nd', value: '1234567.5' },
      { __name__: 'probectl_fed_special', job: 'probectl', tenant_id: 'acme', kind: 'inf', value: '+Inf' },
      { __name__: 'probectl_fed_special', job: 'probectl', tenant_id: 'acme', kind: 'small', value: '1.5e-07' },
      { __name__: 'probectl_incidents_open', job: 'probectl', tenant_id: 'acme', severity: 'critical', value: '3' },
      { __name__: 'probectl_incidents_open', job: 'probectl', tenant_id: 'acme', severity: 'warning', value: '0.1' },
    ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    assert.deepEqual(got, want, 'the scraper adds job but no instance (instance="" is unset); no stale series');
  });
});
