// The full-PromQL enforcer of upstream mode (src/federation/upstream/promql.ts): what it prints,
// the escape corpus (fixtures/upstream-escape-corpus.ts), and fast-check properties over generated
// queries — the rewritten text always parses completely, every selector carries exactly one tenant
// matcher (the caller's), and printing is a fixed point.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parser } from '@prometheus-io/lezer-promql';
import { QueryRefusedError } from '../../src/federation/enforce/types.ts';
import { scopeQuery, verifyTenantScoped } from '../../src/federation/upstream/promql.ts';
import { escapeCorpus } from './fixtures/upstream-escape-corpus.ts';
import { selectorsOf } from './servers/mimir.ts';

const CALLER = '0b5c1f3e-7a4d-4c2b-9e8f-1a2b3c4d5e6f';
const VICTIM = 'f00dface-1111-4222-8333-944455556666';

function hasComment(text: string): boolean {
  let found = false;
  parser.parse(text).iterate({ enter: (n) => { if (n.name === 'LineComment') found = true; } });
  return found;
}

/** Independent of the enforcer: every vector selector of `text` (lezer parse, no error) has exactly one tenant matcher, `="caller"`. */
function assertScoped(text: string, what: string): number {
  const sels = selectorsOf(text);
  assert.ok(sels, `${what}: the printed query parses completely: ${text}`);
  for (const s of sels) assert.deepEqual(s.filter((m) => m.name === 'tenant_id'), [{ name: 'tenant_id', op: '=', value: CALLER }], `${what}: ${text}`);
  return sels.length;
}

describe('full-PromQL enforcer (upstream mode)', () => {
  it('prints every construct from the tree with the tenant on each selector', () => {
    const T = `tenant_id="${CALLER}"`;
    const cases: Array<[string, string]> = [
      ['rate(http_requests_total{job="api"}[5m])', `rate(http_requests_total{job="api",${T}}[5m])`],
      ['sum(rate(x[5m])) by (job)', `sum by (job) (rate(x{${T}}[5m]))`],
      ['histogram_quantile(0.99, sum without(instance) (rate(h_bucket[1m])))', `histogram_quantile(0.99, sum without (instance) (rate(h_bucket{${T}}[1m])))`],
      ['max_over_time(deriv(x[1m])[30m:1m] offset -1h)', `max_over_time(deriv(x{${T}}[1m])[30m:1m] offset -1h)`],
      ['x @ 1700000000.5 offset 5m', `x{${T}} @ 1700000000.500 offset 5m`],
      ['x offset 5m @ end()', `x{${T}} offset 5m @ end()`],
      ['a / ON(job) Group_Left(instance) b', `a{${T}} / on (job) group_left (instance) b{${T}}`],
      ['a AND b UNLESS c', `(a{${T}} and b{${T}}) unless c{${T}}`],
      ['-a ^ 2 + 0x10', `(-(a{${T}} ^ 2)) + 16`],
      ['x > bool 1e3', `x{${T}} > bool 1000`],
      ["label_replace(up, 'dst', `$1`, \"src\", \"(.*)\")", `label_replace(up{${T}}, "dst", "$1", "src", "(.*)")`],
      ['absent(nope{job="x"})', `absent(nope{job="x",${T}})`],
      ['count_values("v", x) # trailing comment', `count_values ("v", x{${T}})`],
      ['time() - 5m', 'time() - 300'],
      ['{"__name__"="x", "a.b"="c"}', `x{"a.b"="c",${T}}`],
      // A legacy metric name that is a keyword: a __name__ matcher, which Prometheus 2 reads too (not {"sum"}).
      ['sum by (job) ({__name__="count"}) + {"Inf"}', `sum by (job) ({__name__="count",${T}}) + {__name__="Inf",${T}}`],
    ];
    for (const [query, expected] of cases) {
      const out = scopeQuery(query, CALLER);
      assert.equal(out.query, expected, query);
      assertScoped(out.query, query);
    }
  });

  it('bounds the evaluation steps of all the subqueries of a query together, not only each one', () => {
    const sub = 'count_over_time(vector(1)[1d:25s])';
    const span = { spanMs: 30 * 86_400_000 };
    // One: (30d + 1d) / 25s = 107,136 steps, under 110,000; four together still pass.
    assert.ok(scopeQuery(`(${sub} + ${sub}) + (${sub} + ${sub})`, CALLER, {}, span).query.includes('[1d:25s]'));
    assert.throws(() => scopeQuery(`((${sub} + ${sub}) + (${sub} + ${sub})) + ${sub}`, CALLER, {}, span), (err: unknown) => err instanceof QueryRefusedError && /440000 evaluation steps of all the query's subqueries together/.test(err.message));
  });

  it('reports the guard\'s selectors and how far back the query reads', () => {
    const q = scopeQuery('max_over_time(rate(x{job="a"}[5m])[1h:1m] offset 1h) / y @ 1700000000', CALLER);
    assert.deepEqual(q.selectors, [`x{job="a",tenant_id="${CALLER}"}`, `y{tenant_id="${CALLER}"}`]);
    assert.equal(q.reachMs, 5 * 60_000 + 3_600_000 + 3_600_000);
    assert.deepEqual(q.atMs, [1_700_000_000_000]);
  });

  it('the escape corpus: refused, or every selector scoped to the caller and nothing of the victim in a matcher', () => {
    for (const c of escapeCorpus(VICTIM, CALLER)) {
      if (c.refused) {
        assert.throws(() => scopeQuery(c.query, CALLER), QueryRefusedError, c.query);
        continue;
      }
      const out = scopeQuery(c.query, CALLER);
      const n = assertScoped(out.query, c.query);
      assert.equal(verifyTenantScoped(out.query, CALLER), n);
      assert.ok(n >= 1, c.query);
      if (!c.victimInString) assert.ok(!out.query.toLowerCase().includes(VICTIM), `${c.query} → ${out.query}`);
      assert.equal(hasComment(out.query), false, 'comments are dropped');
      assert.equal(scopeQuery(out.query, CALLER).query, out.query, 'printing is a fixed point');
    }
  });

  it('a function name the grammar does not know is refused by name, with the Prometheus 3 name of a renamed one', () => {
    assert.throws(() => scopeQuery('sum(nope(up))', CALLER), (err: unknown) => err instanceof QueryRefusedError && err.message === 'parse error at 1:5: unknown function with name "nope"');
    assert.throws(() => scopeQuery('holt_winters(up[5m], 0.5, 0.5)', CALLER), /unknown function with name "holt_winters" \(Prometheus 3 renamed it double_exponential_smoothing\)/);
    assert.match(scopeQuery('double_exponential_smoothing(up[5m], 0.5, 0.5)', CALLER).query, /^double_exponential_smoothing\(up\{tenant_id="[^"]+"\}\[5m\], 0\.5, 0\.5\)$/);
  });

  it('verification refuses a text with a selector not scoped to the tenant', () => {
    assert.throws(() => verifyTenantScoped(`a{tenant_id="${CALLER}"} or b`, CALLER), /failed verification/);
    assert.throws(() => verifyTenantScoped(`a{tenant_id="${CALLER}",tenant_id="${VICTIM}"}`, CALLER), /failed verification/);
    assert.throws(() => verifyTenantScoped(`a{tenant_id=~"${CALLER}"}`, CALLER), /failed verification/);
    assert.equal(verifyTenantScoped(`rate(a{tenant_id="${CALLER}"}[5m])`, CALLER), 1);
  });

  // Generated queries: selectors with matchers of every kind (tenant_id among them, with any
  // operator and value), under functions, aggregations, binary operators, subqueries, offset and @.
  const labelName = fc.constantFrom('job', 'instance', 'tenant_id', '__name__', 'le', 'a_b', 'Tenant_ID');
  const value = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(VICTIM, CALLER, '.+', '.*', '"', '\\', '}', '#', 'é日本'));
  const quote = (s: string) => JSON.stringify(s);
  const matcher = fc.tuple(labelName, fc.constantFrom('=', '!=', '=~', '!~'), value).map(([n, op, v]) => `${n}${op}${op.includes('~') ? quote(v.replace(/[\\()[\]{}*+?|^$.]/g, '')) : quote(v)}`);
  const selector = fc.tuple(fc.option(fc.constantFrom('up', 'x', 'http_requests_total', 'h_bucket'), { nil: undefined }), fc.array(matcher, { maxLength: 4 }))
    .map(([name, ms]) => `${name ?? '{__name__="m"}'}${ms.length > 0 ? `{${ms.join(', ')}}` : ''}`.replace('"m"}{', '"m", '));
  const duration = fc.constantFrom('1m', '5m', '30s', '1h');
  const expr: fc.Arbitrary<string> = fc.letrec((tie) => ({
    vector: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      selector,
      fc.tuple(fc.constantFrom('rate', 'increase', 'max_over_time', 'absent_over_time'), selector, duration).map(([f, s, d]) => `${f}(${s}[${d}])`),
      fc.tuple(fc.constantFrom('sum', 'max', 'count'), fc.constantFrom('', ' by (job)', ' without (tenant_id)'), tie('vector')).map(([op, by, e]) => `${op}${by} (${e})`),
      fc.tuple(tie('vector'), fc.constantFrom('+', '/', 'and', 'or', 'unless', '> bool', '* on(job) group_left'), tie('vector')).map(([l, op, r]) => `(${l}) ${op} (${r})`),
      fc.tuple(tie('vector'), duration, fc.constantFrom('', '1m')).map(([e, d, s]) => `max_over_time((${e})[${d}:${s}])`),
      fc.tuple(selector, duration).map(([s, d]) => `${s} offset ${d}`),
      fc.tuple(selector, fc.constantFrom('@ 1700000000', '@ end()', '@ start()')).map(([s, at]) => `${s} ${at}`),
      fc.tuple(tie('vector')).map(([e]) => `label_replace(${e}, "tenant_id", "${VICTIM}", "job", "(.*)")`),
      fc.tuple(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), tie('vector')).map(([n, e]) => `${n} * (${e}) # ${VICTIM}\n`),
    ),
  })).vector;

  it('property: the rewritten text parses and every selector has exactly one tenant matcher, the caller\'s', () => {
    fc.assert(fc.property(expr, (q) => {
      let out: string;
      try {
        out = scopeQuery(q, CALLER).query;
      } catch (err) {
        if (err instanceof QueryRefusedError) return;
        throw err;
      }
      assertScoped(out, q);
      assert.equal(scopeQuery(out, CALLER).query, out);
    }), { numRuns: 400 });
  });

  it('property: arbitrary text never throws anything but a refusal, and what passes is scoped', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60, unit: fc.constantFrom(...'x{}()[]"=~!,#@ :5mo\\+-*/^'.split(''), 'or', 'sum', 'rate', 'tenant_id', 'offset', 'by', 'on', '\n') }), (q) => {
      try {
        assertScoped(scopeQuery(q, CALLER).query, q);
      } catch (err) {
        if (!(err instanceof QueryRefusedError)) throw err;
      }
    }), { numRuns: 2000 });
  });
});
