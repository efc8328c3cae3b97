/**
 * Selection semantics checked against cases ported from Prometheus's own test
 * data (promql/promqltest/testdata/{staleness,selectors,at_modifier,
 * range_queries}.test, Prometheus 3.14): the `load` blocks are loaded with the
 * same series notation, and each `eval` of a plain selector (or of
 * count_over_time / sum_over_time over a range selector, computed here from the
 * returned range vector) must give the values the .test file states.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isProbectlError } from '../../../src/core/errors.ts';
import { createEmbeddedSeriesStore, type EmbeddedSeriesStore } from '../../../src/federation/store/embedded.ts';
import type { Matcher, ResultSeries, Selector } from '../../../src/federation/store/types.ts';
import { openTestDb, type TestDb } from '../../helpers/db.ts';
import { makeTenants } from '../../helpers/tenants.ts';
import { load, pointsOf } from './helpers.ts';

const s = 1000;
const m = 60 * s;
const eq = (name: string, value: string): Matcher => ({ name, op: '=', value });
const re = (name: string, value: string): Matcher => ({ name, op: '=~', value });
const nre = (name: string, value: string): Matcher => ({ name, op: '!~', value });
const ne = (name: string, value: string): Matcher => ({ name, op: '!=', value });

/** Result as "label=value,… → v" lines without tenant_id, sorted. */
function lines(res: ResultSeries[]): string[] {
  return res.map((r) => `${Object.entries(r.labels).filter(([k]) => k !== 'tenant_id').map(([k, v]) => `${k}=${v}`).join(',')} → ${pointsOf(r).map((p) => p[1]).join(' ')}`).sort();
}

describe(`PromQL selection semantics from Prometheus's test data (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  let store: EmbeddedSeriesStore;
  const tenants: Record<string, string> = {};
  // Everything lies in 1970; "now" is early enough that nothing counts as in the future.
  const settings = { now: () => 100_000 * s, maxSeries: 1000 };

  before(async () => {
    t = await openTestDb();
    store = createEmbeddedSeriesStore(t.db, settings);
    const names = ['staleness', 'single', 'selectors', 'selectors5m', 'at', 'range1', 'range2'];
    const ids = await makeTenants(t.db, ...names);
    names.forEach((n, i) => { tenants[n] = ids[i] as string; });
    await load(store, tenants.staleness as string, 10 * s, [[{ __name__: 'metric' }, '0 1 stale 2']]);
    await load(store, tenants.single as string, 10 * s, [[{ __name__: 'metric' }, '0']]);
    await load(store, tenants.selectors as string, 10 * s, [
      [{ __name__: 'http_requests_total', job: 'api-server', instance: '0', group: 'production' }, '0+10x1000 100+30x1000'],
      [{ __name__: 'http_requests_total', job: 'api-server', instance: '1', group: 'production' }, '0+20x1000 200+30x1000'],
      [{ __name__: 'http_requests_total', job: 'api-server', instance: '0', group: 'canary' }, '0+30x1000 300+80x1000'],
      [{ __name__: 'http_requests_total', job: 'api-server', instance: '1', group: 'canary' }, '0+40x2000'],
    ]);
    await load(store, tenants.selectors5m as string, 5 * m, [
      [{ __name__: 'x', y: 'testvalue' }, '0+10x10'],
      [{ __name__: 'cpu_count', instance: '0', type: 'numa' }, '0+30x10'],
      [{ __name__: 'cpu_count', instance: '0', type: 'smp' }, '0+10x20'],
      [{ __name__: 'cpu_count', instance: '1', type: 'smp' }, '0+20x10'],
      [{ __name__: 'label_grouping_test', a: 'aa', b: 'bb' }, '0+10x10'],
      [{ __name__: 'label_grouping_test', a: 'a', b: 'abb' }, '0+20x10'],
      ...(['api-server', 'app-server'] as const).flatMap((job, j) => ['production', 'canary'].flatMap((group, g) => ['0', '1'].map((instance, i): [Record<string, string>, string] => [
        { __name__: 'http_requests_total', job, instance, group }, `0+${10 * (1 + i + 2 * g + 4 * j)}x10`]))),
    ]);
    await load(store, tenants.at as string, 10 * s, [[{ __name__: 'metric', job: '1' }, '0+1x1000'], [{ __name__: 'metric', job: '2' }, '0+2x1000']]);
    await load(store, tenants.at as string, 1, [[{ __name__: 'metric_ms' }, '0+1x10000']]);
    await load(store, tenants.range1 as string, 30 * s, [[{ __name__: 'metric' }, '1+1x4']]);
    await load(store, tenants.range2 as string, 30 * s, [[{ __name__: 'metric' }, '1+1x8']]);
  });
  after(() => t.close());

  const instant = (tenant: string, sel: Selector, at: number) => store.instant(tenants[tenant] as string, sel, at).then(lines);
  const metric: Selector = { matchers: [eq('__name__', 'metric')] };

  it('staleness.test: a stale marker ends the series; it goes stale 5 minutes after the last sample', async () => {
    const cases: Array<[number, string[]]> = [[10 * s, ['__name__=metric → 1']], [20 * s, []], [30 * s, ['__name__=metric → 2']], [40 * s, ['__name__=metric → 2']], [329 * s, ['__name__=metric → 2']], [330 * s, []]];
    for (const [at, want] of cases) assert.deepEqual(await instant('staleness', metric, at), want, `at ${at / s}s`);
  });

  it('staleness.test: range vectors ignore the stale sample (count_over_time)', async () => {
    const count = async (at: number, range: number) => (await store.rangeVector(tenants.staleness as string, { ...metric, rangeMs: range }, at)).map((r) => pointsOf(r).length);
    assert.deepEqual(await count(30 * s, m), [3]);
    assert.deepEqual(await count(10 * s, s), [1]);
    assert.deepEqual(await count(20 * s, s), []);
    assert.deepEqual(await count(20 * s, 10 * s), []);
    assert.deepEqual(await count(20 * s, 20 * s), [1]);
  });

  it('staleness.test: a single sample is selected until just before 5 minutes (left-open lookback)', async () => {
    for (const at of [0, 150 * s, 299 * s]) assert.deepEqual(await instant('single', metric, at), ['__name__=metric → 0'], `at ${at / s}s`);
    assert.deepEqual(await instant('single', metric, 300 * s), []);
  });

  it('selectors.test: matchers on absent labels, negative and empty matchers (issue 3575)', async () => {
    const all = ['group=canary,__name__=http_requests_total,instance=0,job=api-server → 0', 'group=canary,__name__=http_requests_total,instance=1,job=api-server → 0', 'group=production,__name__=http_requests_total,instance=0,job=api-server → 0', 'group=production,__name__=http_requests_total,instance=1,job=api-server → 0'].map(normalise);
    const name = eq('__name__', 'http_requests_total');
    assert.deepEqual((await instant('selectors', { matchers: [name, ne('foo', 'bar')] }, 0)).map(normalise), all);
    assert.deepEqual((await instant('selectors', { matchers: [name, ne('foo', 'bar'), eq('job', 'api-server')] }, 0)).map(normalise), all);
    assert.deepEqual((await instant('selectors', { matchers: [name, nre('foo', 'bar'), eq('job', 'api-server')] }, 0)).map(normalise), all);
    const sub = await instant('selectors', { matchers: [name, nre('foo', 'bar'), eq('job', 'api-server'), eq('instance', '1'), ne('x', 'y'), eq('z', ''), ne('group', '')] }, 0);
    assert.deepEqual(sub.map(normalise), all.filter((l) => l.includes('instance=1')));
  });

  it('selectors.test: rate() inputs — range vectors with regex, offset and negative offset select the samples the expected rates imply', async () => {
    // rate(x[1m]) at 8000s is 1,2,3,4 per second for the four series: the last two samples in (7940s, 8000s] differ by 10·rate per 10 s.
    const perSecond = async (sel: Selector, at: number) => (await store.rangeVector(tenants.selectors as string, { ...sel, rangeMs: m }, at)).map((r) => {
      const p = pointsOf(r);
      return `${r.labels.group}/${r.labels.instance}:${((p[p.length - 1]?.[1] as number) - (p[0]?.[1] as number)) / (((p[p.length - 1]?.[0] as number) - (p[0]?.[0] as number)) / s)}`;
    }).sort();
    const name = eq('__name__', 'http_requests_total');
    assert.deepEqual(await perSecond({ matchers: [name] }, 8000 * s), ['canary/0:3', 'canary/1:4', 'production/0:1', 'production/1:2']);
    assert.deepEqual(await perSecond({ matchers: [name] }, 18000 * s), ['canary/0:8', 'canary/1:4', 'production/0:3', 'production/1:3']);
    assert.deepEqual(await perSecond({ matchers: [name, re('group', 'pro.*')] }, 8000 * s), ['production/0:1', 'production/1:2']);
    assert.deepEqual(await perSecond({ matchers: [name, re('group', '.*ry'), eq('instance', '1')] }, 18000 * s), ['canary/1:4']);
    assert.deepEqual(await perSecond({ matchers: [name, ne('instance', '3')], offsetMs: 10000 * s }, 18000 * s), ['canary/0:3', 'canary/1:4', 'production/0:1', 'production/1:2']);
    assert.deepEqual(await perSecond({ matchers: [name, ne('instance', '3')], offsetMs: -4000 * s }, 4000 * s), ['canary/0:3', 'canary/1:4', 'production/0:1', 'production/1:2']);
    for (const pattern of ['(?i:PRO).*', '.*?(?i:PRO).*', '.*(?i:DUC).*', '.*(?i:TION)', '.*(?i:TION).*?', '((?i)PRO).*', '.*((?i)DUC).*', '.*((?i)TION)', '(?i:PRODUCTION)']) {
      assert.deepEqual(await perSecond({ matchers: [name, re('group', pattern)] }, 8000 * s), ['production/0:1', 'production/1:2'], pattern);
    }
    assert.deepEqual(await perSecond({ matchers: [name, re('group', '.*(?i:C).*')] }, 8000 * s), ['canary/0:3', 'canary/1:4', 'production/0:1', 'production/1:2']);
  });

  it('selectors.test: instant selectors at 50m, regex anchoring, offset', async () => {
    const at = 50 * m;
    const ids = async (sel: Selector, when = at) => (await store.instant(tenants.selectors5m as string, sel, when)).map((r) => `${r.labels.__name__}{${['job', 'group', 'instance', 'type', 'a', 'b', 'y'].filter((k) => r.labels[k]).map((k) => r.labels[k]).join(',')}} ${pointsOf(r)[0]?.[1]}`).sort();
    assert.deepEqual(await ids({ matchers: [eq('__name__', 'x'), eq('y', 'testvalue')] }), ['x{testvalue} 100']);
    const every = await ids({ matchers: [re('__name__', '.+')] });
    assert.equal(every.length, 14);
    assert.ok(every.includes('cpu_count{0,smp} 100') && every.includes('cpu_count{0,numa} 300') && every.includes('http_requests_total{app-server,canary,1} 800'));
    assert.deepEqual(await ids({ matchers: [re('job', '.+-server'), nre('job', 'api-.+')] }), ['http_requests_total{app-server,canary,0} 700', 'http_requests_total{app-server,canary,1} 800', 'http_requests_total{app-server,production,0} 500', 'http_requests_total{app-server,production,1} 600']);
    assert.deepEqual(await ids({ matchers: [eq('__name__', 'http_requests_total'), nre('job', 'api-.+'), ne('group', 'canary')] }), ['http_requests_total{app-server,production,0} 500', 'http_requests_total{app-server,production,1} 600']);
    assert.deepEqual(await ids({ matchers: [eq('__name__', 'http_requests_total'), eq('group', 'production'), re('job', 'api-.+')] }), ['http_requests_total{api-server,production,0} 100', 'http_requests_total{api-server,production,1} 200']);
    assert.deepEqual(await ids({ matchers: [eq('__name__', 'http_requests_total'), eq('group', 'production'), eq('job', 'api-server')], offsetMs: 5 * m }), ['http_requests_total{api-server,production,0} 90', 'http_requests_total{api-server,production,1} 180']);
    // Anchored: "pro" alone does not match "production".
    assert.deepEqual(await ids({ matchers: [eq('__name__', 'http_requests_total'), re('group', 'pro')] }), []);
  });

  it('at_modifier.test: @ fixes the evaluation time, offset applies relative to it, millisecond precision', async () => {
    const want = ['__name__=metric,job=1 → 10', '__name__=metric,job=2 → 20'].map(normalise);
    assert.deepEqual((await instant('at', { ...metric, at: 100 * s }, 10 * s)).map(normalise), want);
    const half = ['__name__=metric,job=1 → 5', '__name__=metric,job=2 → 10'].map(normalise);
    assert.deepEqual((await instant('at', { ...metric, at: 100 * s, offsetMs: 50 * s }, 10 * s)).map(normalise), half);
    assert.deepEqual((await instant('at', { ...metric, at: 0, offsetMs: -50 * s }, 10 * s)).map(normalise), half);
    assert.deepEqual(await instant('at', { matchers: [eq('__name__', 'metric_ms')], at: 1234 }, 100 * s), ['__name__=metric_ms → 1234']);
    const stamped = await store.instant(tenants.at as string, { ...metric, at: 100 * s }, 10 * s);
    assert.deepEqual(stamped.map((r) => pointsOf(r)[0]?.[0]), [10 * s, 10 * s], 'stamped with the evaluation time, not the @ time');
    const sum = async (sel: Selector) => (await store.rangeVector(tenants.at as string, sel, 25 * s)).map((r) => pointsOf(r).reduce((acc, p) => acc + p[1], 0));
    const job1 = [eq('__name__', 'metric'), eq('job', '1')];
    assert.deepEqual(await sum({ matchers: job1, rangeMs: 100 * s, at: 100 * s }), [55]);
    assert.deepEqual(await sum({ matchers: job1, rangeMs: 100 * s, at: 100 * s, offsetMs: 50 * s }), [15]);
  });

  it('range_queries.test: query_range evaluates instant selection at start + k·step', async () => {
    for (const tenant of ['range1', 'range2']) {
      const res = await store.range(tenants[tenant] as string, metric, 0, 2 * m, m);
      assert.deepEqual(res.map((r) => pointsOf(r)), [[[0, 1], [m, 3], [2 * m, 5]]], tenant);
    }
    // With @ the one selection repeats at every step.
    const at = await store.range(tenants.at as string, { matchers: [eq('__name__', 'metric'), eq('job', '1')], at: 100 * s }, 0, 30 * s, 10 * s);
    assert.deepEqual(at.map((r) => pointsOf(r)), [[[0, 10], [10 * s, 10], [20 * s, 10], [30 * s, 10]]]);
    const start = await store.range(tenants.at as string, { matchers: [eq('__name__', 'metric'), eq('job', '1')], at: 'end' }, 0, 30 * s, 10 * s);
    assert.deepEqual(start.map((r) => pointsOf(r).map((p) => p[1])), [[3, 3, 3, 3]]);
  });

  it('staleness in a range query: points stop at the stale marker and after the lookback', async () => {
    const res = await store.range(tenants.staleness as string, metric, 0, 400 * s, 10 * s);
    const pts = pointsOf(res[0]) ?? [];
    assert.deepEqual(pts.slice(0, 4), [[0, 0], [10 * s, 1], [30 * s, 2], [40 * s, 2]]);
    assert.equal(pts.at(-1)?.[0], 320 * s, 'the last point is within 5m of the last sample at 30s');
    assert.ok(!pts.some((p) => p[0] === 20 * s));
  });

  it('refuses regular expressions RE2 refuses (backreferences, look-around) with a typed error', async () => {
    for (const bad of ['(a)\\1', '(?=x)', '(?<=a)b', 'a)|(b', 'a{2,1001}']) {
      await assert.rejects(store.instant(tenants.selectors5m as string, { matchers: [re('job', bad)] }, 0), (err: unknown) => isProbectlError(err, 'PROBECTL_ERR_METRICS_BAD_MATCHER'), bad);
    }
  });

  it('regex: . matches a newline (Prometheus 3.x), and a pattern matching "" selects series without the label', async () => {
    await load(store, tenants.selectors5m as string, 5 * m, [[{ __name__: 'nl', v: 'a\nb' }, '1'], [{ __name__: 'nl', w: 'x' }, '2']]);
    assert.deepEqual(await instant('selectors5m', { matchers: [eq('__name__', 'nl'), re('v', 'a.b')] }, 0), ['__name__=nl,v=a\nb → 1']);
    assert.deepEqual(await instant('selectors5m', { matchers: [eq('__name__', 'nl'), re('v', 'a.b|')] }, 0), ['__name__=nl,v=a\nb → 1', '__name__=nl,w=x → 2']);
    assert.deepEqual(await instant('selectors5m', { matchers: [eq('__name__', 'nl'), nre('v', '.+')] }, 0), ['__name__=nl,w=x → 2']);
  });
});

function normalise(line: string): string {
  const [labels, value] = line.split(' → ') as [string, string];
  return `${labels.split(',').sort().join(',')} → ${value}`;
}
