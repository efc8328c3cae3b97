import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cli } from '../helpers/process.ts';

const TENANT = '7d9c2f4e-1b3a-4c5d-8e6f-0a1b2c3d4e5f';

/** `probectl metrics check-query`: the enforced query or the refusal, without a server or a database. */
describe('probectl metrics check-query', () => {
  const env = { PROBECTL_DATA_DIR: '/nonexistent/probectl-check-query' };

  it('prints the query with every tenant_id matcher replaced by the tenant\'s', () => {
    const res = cli(['metrics', 'check-query', `up{job="node",tenant_id!="x",tenant_id=~".*"}[5m] offset 1m`, '--tenant', TENANT], env);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, `up{job="node",tenant_id="${TENANT}"}[5m] offset 1m\n`);
    const placeholder = cli(['metrics', 'check-query', '{__name__=~"probectl_.*"}'], env);
    assert.equal(placeholder.stdout, '{__name__=~"probectl_.*",tenant_id="<your-tenant>"}\n');
    const constant = cli(['metrics', 'check-query', '1+1', '--json'], env);
    assert.deepEqual(JSON.parse(constant.stdout), { query: '2', kind: 'constant', value: '2' });
    const match = cli(['metrics', 'check-query', 'up', '--match', '--tenant', TENANT, '--json'], env);
    assert.deepEqual(JSON.parse(match.stdout).selector, { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: TENANT }] });
  });

  it('prints why a query is refused (exit 1): a function, an empty selector, a match[] with a range', () => {
    for (const [query, message, extra] of [
      ['sum(up)', /accepts only plain series selectors .* Grafana with transformations, or use upstream mode for full PromQL \(docs\/federation\.md, Scaling out\)\. \[PROBECTL_ERR_METRICS_QUERY_REFUSED\]/, []],
      ['{tenant_id="other"}', /at least one non-empty matcher/, []],
      ['up[5m]', /match\[\] takes a plain series selector/, ['--match']],
    ] as Array<[string, RegExp, string[]]>) {
      const res = cli(['metrics', 'check-query', query, ...extra], env);
      assert.equal(res.status, 1, `${query}: ${res.stderr}`);
      assert.equal(res.stdout, '');
      assert.match(res.stderr, message, query);
    }
  });

  it('without --upstream but with PROBECTL_METRICS_UPSTREAM_URL set, a refusal says to add --upstream', () => {
    const res = cli(['metrics', 'check-query', 'sum(rate(up[5m]))'], { ...env, PROBECTL_METRICS_UPSTREAM_URL: 'http://127.0.0.1:9009/prometheus' });
    assert.equal(res.status, 1);
    assert.match(res.stderr, /accepts only plain series selectors .*PROBECTL_METRICS_UPSTREAM_URL is set, and upstream mode accepts full PromQL: add --upstream\) \[PROBECTL_ERR_METRICS_QUERY_REFUSED\]/);
    const plain = cli(['metrics', 'check-query', 'sum(rate(up[5m]))'], env);
    assert.doesNotMatch(plain.stderr, /--upstream/);
  });

  it('--upstream checks full PromQL as upstream mode rewrites it, or refuses (exit 1)', () => {
    const res = cli(['metrics', 'check-query', '--upstream', 'sum by (job) (rate(http_requests_total{tenant_id!="x"}[5m])) / on(job) up', '--tenant', TENANT], env);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, `sum by (job) (rate(http_requests_total{tenant_id="${TENANT}"}[5m])) / on (job) up{tenant_id="${TENANT}"}\n`);
    const json = cli(['metrics', 'check-query', '--upstream', '--json', 'absent(x)'], env);
    assert.deepEqual(JSON.parse(json.stdout), { query: 'absent(x{tenant_id="<your-tenant>"})', kind: 'promql', selectors: ['x{tenant_id="<your-tenant>"}'] });
    const refused = cli(['metrics', 'check-query', '--upstream', 'info(up)'], env);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /cannot tenant-scope info\(\)/);
  });
});
