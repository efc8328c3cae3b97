// A real Prometheus scrapes a small exporter and remote-writes (1.0, snappy protobuf) into probectl
// over HTTPS (private CA) with a tenant's token in an `authorization` block. What Prometheus
// stored and sent must be what probectl answers: raw samples (a range vector) and query_range,
// sample for sample, including NaN, ±Inf, escaped label values and a series ended by a stale marker.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { form } from '../helpers/remote-write.ts';
import { peerTenant, startPrivateCaApp, startRemoteWritingPrometheus, until } from './prometheus.ts';

type Series = { metric: Record<string, string>; values: Array<[number, string]> };

const withoutTenant = (result: Series[]): Series[] => result.map((s) => ({ metric: Object.fromEntries(Object.entries(s.metric).filter(([k]) => k !== 'tenant_id')), values: s.values }));
const byLabels = (result: Series[]): Series[] => [...result].sort((x, y) => JSON.stringify(x.metric).localeCompare(JSON.stringify(y.metric)));

describe('Prometheus remote-writing into /v1/prometheus/write (real Prometheus, HTTPS, private CA, authorization)', () => {
  it('what Prometheus sent is what probectl answers, sample for sample', async (t) => {
    let scrapes = 0;
    const scrapedAt: number[] = [];
    const exporter = createServer((_req, res) => {
      scrapes++;
      scrapedAt.push(Date.now());
      const lines = [
        '# TYPE src_gauge gauge',
        `src_gauge{path="a\\"b\\\\c",unicode="é日本"} ${scrapes * 1.5}`,
        `src_gauge{path="plain"} ${1e-7 * scrapes}`,
        'src_special{kind="nan"} NaN',
        'src_special{kind="inf"} +Inf',
        'src_special{kind="ninf"} -Inf',
        ...(scrapes <= 6 ? [`src_vanishing ${scrapes}`] : []),
      ];
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(`${lines.join('\n')}\n`);
    });
    await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', r));
    t.after(() => exporter.close());
    const srv = await startPrivateCaApp({ PROBECTL_METRICS_SELF_INTERVAL: '2m' });
    t.after(() => srv.close());
    const tenant = await peerTenant(srv.app, 'written-tenant', ['metrics-read', 'metrics-write']);
    const prom = await startRemoteWritingPrometheus((exporter.address() as AddressInfo).port, srv, tenant.token, '{ batch_send_deadline: 500ms, max_samples_per_send: 100 }');
    t.after(() => prom.stop());
    await until(60_000, async () => (scrapes >= 12 ? true : undefined), 'a dozen scrapes');

    // The window of the first twelve scrapes (the series that vanished after the sixth included), ending between two scrapes.
    const end = Math.round((scrapedAt[11] as number) / 1000) + 0.5;
    const raw = `/api/v1/query?${form({ query: '{job="source"}[15s]', time: String(end) })}`;
    const range = `/api/v1/query_range?${form({ query: '{job="source"}', start: String(end - 15), end: String(end), step: '1' })}`;
    const probectl = async (path: string) => {
      const res = await srv.app.request('GET', `/v1/grafana${path}`, { token: tenant.token });
      assert.equal(res.status, 200, res.text);
      for (const s of res.json.data.result as Series[]) assert.equal(s.metric.tenant_id, tenant.id);
      return byLabels(withoutTenant(res.json.data.result));
    };
    const expected = byLabels((await prom.api(raw)).data.result);
    assert.ok(expected.length >= 8, `Prometheus holds the scraped series and its own (up, scrape_*): ${expected.length}`);
    assert.ok(expected.some((s) => s.metric.__name__ === 'src_special' && s.values.some((v) => v[1] === 'NaN')));
    await until(30_000, async () => {
      const got = await probectl(raw);
      return JSON.stringify(got) === JSON.stringify(expected) ? true : undefined;
    }, 'probectl to hold the same raw samples');
    assert.deepEqual(await probectl(raw), expected, 'raw samples: the same series, timestamps and values');
    assert.deepEqual(await probectl(range), byLabels((await prom.api(range)).data.result), 'query_range: the same points');
    const vanished = (await probectl(range)).find((s) => s.metric.__name__ === 'src_vanishing');
    const promVanished = byLabels((await prom.api(range)).data.result).find((s) => s.metric.__name__ === 'src_vanishing');
    assert.ok(promVanished && promVanished.values.length >= 3 && (promVanished.values.at(-1) as [number, string])[0] < end - 3, `the window holds the vanished series and its end: ${JSON.stringify(promVanished)}`);
    assert.deepEqual(vanished, promVanished, 'the series Prometheus ended with a stale marker ends at the same step');
    assert.equal(prom.output().includes('Failed to send batch'), false, `no batch was refused:\n${prom.output()}`);
  });
});
