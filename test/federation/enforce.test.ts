import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parser } from '@prometheus-io/lezer-promql';
import { enforceMatchSelector, enforceQuery } from '../../src/federation/enforce/enforce.ts';
import { goQuote, unquotePromString } from '../../src/federation/enforce/literals.ts';
import { isConstant, QueryRefusedError, type EnforcedQuery, type RefusalReason } from '../../src/federation/enforce/types.ts';

const T = 'acme';

function refusal(query: string, tenant = T): QueryRefusedError {
  try {
    enforceQuery(query, tenant);
  } catch (err) {
    assert.ok(err instanceof QueryRefusedError, `${query}: threw ${String(err)}`);
    return err;
  }
  assert.fail(`${JSON.stringify(query)} was accepted`);
}

/** Asserts the invariants every accepted answer has. */
function checkInvariants(r: EnforcedQuery, tenant: string): void {
  assert.equal(parser.parse(r.query).toString().includes('⚠'), false, `output does not parse: ${r.query}`);
  if (isConstant(r.expr)) return;
  const tenants = r.expr.matchers.filter((m) => m.name === 'tenant_id');
  assert.deepEqual(tenants, [{ name: 'tenant_id', op: '=', value: tenant }], r.query);
  assert.equal(r.expr.matchers.at(-1)?.name, 'tenant_id');
  // The canonical form is a fixed point.
  assert.equal(enforceQuery(r.query, tenant).query, r.query);
  assert.deepEqual(enforceQuery(r.query, tenant).expr, r.expr);
}

describe('tenant enforcer: accepted queries, exact outputs', () => {
  const cases: Array<[string, string, unknown]> = [
    ['up', 'up{tenant_id="acme"}', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }] }],
    ['up{job="node"}', 'up{job="node",tenant_id="acme"}', { metricName: 'up', matchers: [{ name: 'job', op: '=', value: 'node' }, { name: 'tenant_id', op: '=', value: T }] }],
    ['{__name__=~".+"}', '{__name__=~".+",tenant_id="acme"}', { matchers: [{ name: '__name__', op: '=~', value: '.+' }, { name: 'tenant_id', op: '=', value: T }] }],
    ['{__name__="up", job!=""}', 'up{job!="",tenant_id="acme"}', { metricName: 'up', matchers: [{ name: 'job', op: '!=', value: '' }, { name: 'tenant_id', op: '=', value: T }] }],
    ['up[5m]', 'up{tenant_id="acme"}[5m]', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], rangeMs: 300_000 }],
    ['up[90]', 'up{tenant_id="acme"}[1m30s]', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], rangeMs: 90_000 }],
    ['up[1.5]', 'up{tenant_id="acme"}[1s500ms]', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], rangeMs: 1500 }],
    ['up[1w]', 'up{tenant_id="acme"}[1w]', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], rangeMs: 604_800_000 }],
    ['up[1y]', 'up{tenant_id="acme"}[1y]', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], rangeMs: 31_536_000_000 }],
    ['up[1h30m]', 'up{tenant_id="acme"}[1h30m]', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], rangeMs: 5_400_000 }],
    ['up[250ms]', 'up{tenant_id="acme"}[250ms]', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], rangeMs: 250 }],
    ['up offset 5m', 'up{tenant_id="acme"} offset 5m', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], offsetMs: 300_000 }],
    ['up offset -5m', 'up{tenant_id="acme"} offset -5m', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], offsetMs: -300_000 }],
    ['up offset 5', 'up{tenant_id="acme"} offset 5s', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], offsetMs: 5000 }],
    ['up @ 100', 'up{tenant_id="acme"} @ 100.000', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], at: 100_000 }],
    ['up @ 1609746000.5', 'up{tenant_id="acme"} @ 1609746000.500', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], at: 1_609_746_000_500 }],
    ['up @ -100', 'up{tenant_id="acme"} @ -100.000', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], at: -100_000 }],
    ['up @ 5m', 'up{tenant_id="acme"} @ 300.000', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], at: 300_000 }],
    ['up @ start()', 'up{tenant_id="acme"} @ start()', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], at: 'start' }],
    ['up @ end()', 'up{tenant_id="acme"} @ end()', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], at: 'end' }],
    ['up[5m] offset 1m @ 10', 'up{tenant_id="acme"}[5m] @ 10.000 offset 1m', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], rangeMs: 300_000, offsetMs: 60_000, at: 10_000 }],
    ['up offset 1m @ 10', 'up{tenant_id="acme"} @ 10.000 offset 1m', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }], offsetMs: 60_000, at: 10_000 }],
    ['(up)', 'up{tenant_id="acme"}', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }] }],
    ['{"foo.bar"}', '{"foo.bar",tenant_id="acme"}', { metricName: 'foo.bar', matchers: [{ name: 'tenant_id', op: '=', value: T }] }],
    ['{"foo.bar", "x.y"="z"}', '{"foo.bar","x.y"="z",tenant_id="acme"}', { metricName: 'foo.bar', matchers: [{ name: 'x.y', op: '=', value: 'z' }, { name: 'tenant_id', op: '=', value: T }] }],
    ['{"foo", __name__="bar"}', '{__name__="foo",__name__="bar",tenant_id="acme"}', { matchers: [{ name: '__name__', op: '=', value: 'foo' }, { name: '__name__', op: '=', value: 'bar' }, { name: 'tenant_id', op: '=', value: T }] }],
    ['sum', '{__name__="sum",tenant_id="acme"}', { metricName: 'sum', matchers: [{ name: 'tenant_id', op: '=', value: T }] }],
    ['foo:bar', 'foo:bar{tenant_id="acme"}', { metricName: 'foo:bar', matchers: [{ name: 'tenant_id', op: '=', value: T }] }],
    ["{job='single\"quote'}", '{job="single\\"quote",tenant_id="acme"}', { matchers: [{ name: 'job', op: '=', value: 'single"quote' }, { name: 'tenant_id', op: '=', value: T }] }],
    ['{job=`raw\\n`}', '{job="raw\\\\n",tenant_id="acme"}', { matchers: [{ name: 'job', op: '=', value: 'raw\\n' }, { name: 'tenant_id', op: '=', value: T }] }],
    ['{job="\\u00e9\\x41\\101\\t"}', '{job="éAA\\t",tenant_id="acme"}', { matchers: [{ name: 'job', op: '=', value: 'éAA\t' }, { name: 'tenant_id', op: '=', value: T }] }],
    ['{job=~"(?i)abc|\\\\p{Greek}+"}', '{job=~"(?i)abc|\\\\p{Greek}+",tenant_id="acme"}', { matchers: [{ name: 'job', op: '=~', value: '(?i)abc|\\p{Greek}+' }, { name: 'tenant_id', op: '=', value: T }] }],
    ['up # a comment', 'up{tenant_id="acme"}', { metricName: 'up', matchers: [{ name: 'tenant_id', op: '=', value: T }] }],
    ['up{job="a" # c\n, env="b"}', 'up{job="a",env="b",tenant_id="acme"}', { metricName: 'up', matchers: [{ name: 'job', op: '=', value: 'a' }, { name: 'env', op: '=', value: 'b' }, { name: 'tenant_id', op: '=', value: T }] }],
    ['\tup\r\n{ job = "x" , }\n', 'up{job="x",tenant_id="acme"}', { metricName: 'up', matchers: [{ name: 'job', op: '=', value: 'x' }, { name: 'tenant_id', op: '=', value: T }] }],
  ];
  for (const [input, query, expr] of cases) {
    it(JSON.stringify(input), () => {
      const r = enforceQuery(input, T);
      assert.equal(r.query, query);
      assert.deepEqual(r.expr, expr);
      checkInvariants(r, T);
    });
  }
});

describe('tenant enforcer: constant expressions (tenant-free, evaluated as Prometheus does)', () => {
  const cases: Array<[string, number, string]> = [
    ['1+1', 2, '2'], ['(2*3)', 6, '6'], ['-1', -1, '-1'], ['-2^2', -4, '-4'], ['2^-2^2', 0.0625, '0.0625'],
    ['3 * -2 ^ 2', -12, '-12'], ['0x1F', 31, '31'], ['010', 8, '8'], ['08', 8, '8'], ['1_000', 1000, '1000'],
    ['1_000.5', 1000.5, '1000.5'], ['.5', 0.5, '0.5'], ['1e3', 1000, '1000'], ['5m', 300, '300'], ['1h30m', 5400, '5400'],
    ['5m+1', 301, '301'], ['1 == bool 1', 1, '1'], ['1 > bool NaN', 0, '0'], ['NaN != bool NaN', 1, '1'], ['5 % 3', 2, '2'],
    ['-5 % 3', -2, '-2'], ['2 atan2 1', Math.atan2(2, 1), String(Math.atan2(2, 1))], ['1/0', Infinity, '+Inf'], ['-1/0', -Infinity, '-Inf'],
    ['Inf', Infinity, '+Inf'], ['-inf', -Infinity, '-Inf'], ['1 ^ NaN', 1, '1'], ['(-1) ^ Inf', 1, '1'], ['-0', -0, '-0'],
  ];
  for (const [input, value, query] of cases) {
    it(input, () => {
      const r = enforceQuery(input, T);
      assert.ok(isConstant(r.expr));
      assert.ok(Object.is(r.expr.constant, value), `${input} = ${r.expr.constant}, want ${value}`);
      assert.equal(r.query, query);
      assert.ok(Object.is((enforceQuery(r.query, T).expr as { constant: number }).constant, value));
    });
  }
  it('NaN', () => {
    const r = enforceQuery('nan', T);
    assert.ok(isConstant(r.expr) && Number.isNaN(r.expr.constant));
    assert.equal(r.query, 'NaN');
  });
});

describe('tenant enforcer: refused queries', () => {
  const cases: Array<[string, RefusalReason, string | RegExp]> = [
    ['sum(up)', 'not-a-selector', /Grafana with transformations/],
    ['rate(up[5m])', 'not-a-selector', /only plain series selectors/],
    ['up + 1', 'not-a-selector', /only plain series selectors/],
    ['up and on() vector(1)', 'not-a-selector', /only plain series selectors/],
    ['up[5m:1m]', 'not-a-selector', /only plain series selectors/],
    ['"foo"', 'not-a-selector', /only plain series selectors/],
    ['-up', 'not-a-selector', /only plain series selectors/],
    ['vector(1)', 'not-a-selector', /only plain series selectors/],
    ['time()', 'not-a-selector', /only plain series selectors/],
    ['up[5m+1m]', 'not-a-selector', /duration arithmetic/],
    ['up offset - -5m', 'not-a-selector', /duration arithmetic/],
    ['(up)[5m]', 'not-a-selector', /only plain series selectors/],
    ['1 == 1', 'invalid', 'comparisons between scalars must use BOOL modifier'],
    ['1 + bool 1', 'invalid', 'bool modifier can only be used on comparison operators'],
    ['1 and 1', 'invalid', 'set operator "and" not allowed in binary scalar expression'],
    ['{__name__=~".*"}', 'empty-selector', /vector selector must contain at least one non-empty matcher/],
    ['{tenant_id="acme"}', 'empty-selector', /vector selector must contain at least one non-empty matcher/],
    ['{job=~"x|"}', 'empty-selector', /non-empty matcher/],
    ['{job!~"x"}', 'empty-selector', /non-empty matcher/],
    ['{job=""}', 'empty-selector', /non-empty matcher/],
    ['{job=~"^$"}', 'empty-selector', /non-empty matcher/],
    ['{job=~"a?"}', 'empty-selector', /non-empty matcher/],
    ['{}', 'empty-selector', /non-empty matcher/],
    ['up[0]', 'invalid', 'duration must be greater than 0'],
    ['up[-5m]', 'invalid', 'duration must be greater than 0'],
    ['up @ Inf', 'invalid', /timestamp out of bounds for @ modifier/],
    ['up @ 1e300', 'invalid', /timestamp out of bounds for @ modifier/],
    ['up @ 1e13', 'invalid', /timestamp out of bounds for @ modifier/],
    ['up offset 1m [5m]', 'invalid', 'no offset modifiers allowed before range'],
    ['up @ 10 [5m]', 'invalid', 'no @ modifiers allowed before range'],
    ['up offset 1m offset 2m', 'invalid', 'offset may not be set multiple times'],
    ['up @ 1 @ 2', 'invalid', '@ <timestamp> may not be set multiple times'],
    ['up{__name__="x"}', 'invalid', 'metric name must not be set twice: "up" or "x"'],
    ['{job=~"(a"}', 'invalid', 'error parsing regexp: missing closing ): `(a`'],
    ['{job=~"a**"}', 'invalid', 'error parsing regexp: invalid nested repetition operator: `**`'],
    ['{job=~"a{1001}"}', 'invalid', 'error parsing regexp: invalid repeat count: `{1001}`'],
    ['{job=~"(a{100}){100}"}', 'invalid', 'error parsing regexp: invalid repeat count: `{100}`'],
    [`{job=~"${Array.from({ length: 10 }, () => '(a{10}){100}').join('|')}"}`, 'invalid', /^error parsing regexp: expression too large: probectl accepts regular expressions of up to 20000 instructions/],
    [`{job=~"${'x{1000}'.repeat(20)}"}`, 'invalid', /expression too large/],
    ['{job=~"\\\\p{Foo}"}', 'invalid', 'error parsing regexp: invalid character class range: `\\p{Foo}`'],
    ['{job=~"[z-a]"}', 'invalid', 'error parsing regexp: invalid character class range: `z-a`'],
    ['{job=~"(?=x)"}', 'invalid', 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`'],
    ['{job=~"\\\\1"}', 'invalid', 'error parsing regexp: invalid escape sequence: `\\1`'],
    ['{job="\\q"}', 'syntax', /unknown escape sequence U\+0071 'q'/],
    ['{job="a\\xff"}', 'syntax', /not valid UTF-8/],
    ['{job="\\ud800"}', 'syntax', /invalid Unicode code point/],
    ['{job="unterminated}', 'syntax', /parse error/],
    ['0x1e+5', 'syntax', /bad number or duration syntax/],
    ['up{job="x"} extra', 'syntax', /parse error/],
    ['up\u00a0', 'syntax', /unexpected character/],
    ['up # comment\r{job="x"}', 'syntax', /carriage return/],
    ['{,}', 'syntax', /parse error/],
    // A name the grammar does not know as a function: said as Prometheus says it, not `unexpected "("`.
    ['foo_bar(up)', 'syntax', 'parse error at 1:1: unknown function with name "foo_bar"'],
    ['up + holt_winters (up[5m], 0.5, 0.5)', 'syntax', 'parse error at 1:6: unknown function with name "holt_winters" (Prometheus 3 renamed it double_exponential_smoothing)'],
    ['up{job(', 'syntax', /^parse error at 1:7: unexpected/],
    ['foo:bar(up)', 'syntax', /^parse error at 1:8: unexpected/],
    ['', 'syntax', 'no expression found in input'],
    ['# only a comment', 'syntax', 'no expression found in input'],
  ];
  for (const [input, reason, message] of cases) {
    it(JSON.stringify(input), () => {
      const err = refusal(input);
      assert.equal(err.reason, reason, err.message);
      assert.equal(err.code, 'PROBECTL_ERR_METRICS_QUERY_REFUSED');
      assert.equal(err.status, 400);
      assert.equal(err.errorType, 'bad_data');
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
    });
  }
  it('accepts the regular expressions Grafana builds, however long the query allows', () => {
    const hosts = Array.from({ length: 600 }, (_, i) => `host-${i}\\\\.example\\\\.com`).join('|');
    assert.ok(hosts.length < 16_000);
    assert.doesNotThrow(() => enforceQuery(`up{instance=~"${hosts}"}`, T));
    assert.doesNotThrow(() => enforceQuery('{job=~"(a{10}){100}|[a-z0-9]{1000}|(foo|bar){1000}"}', T));
  });
  it('bounds the length and the nesting of the query', () => {
    assert.equal(refusal(`up{job="${'x'.repeat(20_000)}"}`).reason, 'too-long');
    assert.equal(refusal(`${'('.repeat(500)}1${')'.repeat(500)}`).reason, 'too-long');
    assert.equal(enforceQuery(`${'('.repeat(20)}up${')'.repeat(20)}`, T).query, 'up{tenant_id="acme"}');
  });
  it('a non-string query is a refusal, an invalid tenant a programming error', () => {
    assert.equal(refusal(42 as unknown as string).reason, 'syntax');
    assert.throws(() => enforceQuery('up', ''), TypeError);
    assert.throws(() => enforceQuery('up', '\ud800'), TypeError);
  });
});

describe('tenant enforcer: tenant-escape corpus', () => {
  const corpus = [
    'up{tenant_id!="acme"}',
    'up{tenant_id=~".*"}',
    'up{tenant_id=~".+"}',
    'up{tenant_id!~"acme"}',
    'up{tenant_id="other"}',
    'up{tenant_id="acme",tenant_id="other"}',
    'up{tenant_id="other",tenant_id!="other",tenant_id=~"o.*"}',
    'up{"tenant_id"="other"}',
    "up{'tenant_id'='other'}",
    'up{`tenant_id`=`other`}',
    'up{"tenant\\x5fid"="other"}',
    'up{"\\u0074enant_id"="other"}',
    'up{"\\164enant_id"="other"}',
    '{__name__=~".+",tenant_id!=""}',
    '{__name__=~".+"}',
    'up{job="x\\",tenant_id=\\"other"}',
    'up{job="}) or {tenant_id=\\"other\\"}"}',
    "up{job='\\'',tenant_id='other'}",
    'up{job="a"}#{tenant_id="other"}',
    'up{job="a" # ,tenant_id="other"\n}',
    'up{job="a",\ntenant_id\n=\n"other"\n}',
    'up{tenant_id="other"}[5m] offset 1h @ 100',
    '(((up{tenant_id=~"other|acme"})))',
    '{"up", tenant_id="other"}',
  ];
  for (const q of corpus) {
    it(JSON.stringify(q), () => {
      const r = enforceQuery(q, T);
      checkInvariants(r, T);
      assert.ok(!r.query.includes('other"}') || r.query.includes('job='), r.query);
      assert.equal([...r.query.matchAll(/tenant_id/g)].length, r.query.includes('job=') && r.query.includes('tenant_id=\\"other') ? 2 : 1, r.query);
    });
  }
  it('label values that look like selectors stay values', () => {
    const r = enforceQuery('up{job="x\\",tenant_id=\\"other"}', T);
    assert.deepEqual(r.expr, { metricName: 'up', matchers: [{ name: 'job', op: '=', value: 'x",tenant_id="other' }, { name: 'tenant_id', op: '=', value: T }] });
  });
  it('a unicode look-alike label name is a different label, and the tenant is still forced', () => {
    const r = enforceQuery('up{"tenant_іd"="other"}', T); // Cyrillic і
    assert.deepEqual(r.expr, { metricName: 'up', matchers: [{ name: 'tenant_іd', op: '=', value: 'other' }, { name: 'tenant_id', op: '=', value: T }] });
  });
  it('a tenant id with quotes, backslashes and unicode is quoted so it re-parses to itself', () => {
    const tenant = 'a"b\\c\né\u2028';
    const r = enforceQuery('up', tenant);
    assert.equal(r.query, `up{tenant_id=${goQuote(tenant)}}`);
    checkInvariants(r, tenant);
  });
});

describe('match[] selectors', () => {
  it('accepts a plain selector and forces the tenant', () => {
    const r = enforceMatchSelector('{__name__=~"node_.*",tenant_id!="x"}', T);
    assert.equal(r.query, '{__name__=~"node_.*",tenant_id="acme"}');
    assert.deepEqual(r.selector, { matchers: [{ name: '__name__', op: '=~', value: 'node_.*' }, { name: 'tenant_id', op: '=', value: T }] });
  });
  for (const q of ['up[5m]', 'up offset 5m', 'up @ 1', '(up)', 'sum(up)', '1+1', 'rate(up[1m])']) {
    it(`refuses ${q}`, () => {
      assert.throws(() => enforceMatchSelector(q, T), (e: unknown) => e instanceof QueryRefusedError && e.reason === 'not-a-selector');
    });
  }
  it('refuses a selector left empty once the tenant matcher is removed', () => {
    assert.throws(() => enforceMatchSelector('{tenant_id=~".+"}', T), (e: unknown) => e instanceof QueryRefusedError && e.reason === 'empty-selector');
  });
});

// ---- property tests ----

const labelName = fc.oneof(
  fc.constantFrom('tenant_id', '__name__', 'job', 'instance', 'le', 'tenant', 'TENANT_ID', 'tenant_id_x'),
  fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/),
  fc.string({ unit: 'binary', maxLength: 8 }).filter((s) => s !== '' && s.isWellFormed()),
);
const value = fc.oneof(
  fc.constantFrom('', '.*', '.+', 'acme', 'other', '(?i)ACME', 'a|', 'x', '"', '\\', '}', '{tenant_id="other"}', 'é', '\n'),
  fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => s.isWellFormed()),
);
const op = fc.constantFrom('=', '!=', '=~', '!~');

function quoteAny(s: string, style: number): string {
  if (style === 1 && !s.includes('`')) return `\`${s}\``;
  if (style === 2) {
    let out = "'";
    for (const ch of s) out += ch === "'" ? "\\'" : ch === '\\' ? '\\\\' : ch === '\n' ? '\\n' : ch;
    return `${out}'`;
  }
  return goQuote(s);
}

const space = fc.constantFrom('', ' ', '\t', '\n', ' # note\n', '\r\n');

const selectorText = fc.record({
  name: fc.option(fc.constantFrom('up', 'node_cpu_seconds_total', 'foo:bar', 'sum', 'x'), { nil: undefined }),
  matchers: fc.array(fc.record({ name: labelName, op, value, nameStyle: fc.nat(2), valueStyle: fc.nat(2), ws: space }), { maxLength: 5 }),
  range: fc.option(fc.constantFrom('5m', '1h30m', '30', '0.5', '1w'), { nil: undefined }),
  offset: fc.option(fc.constantFrom('5m', '-1h', '0', '10'), { nil: undefined }),
  at: fc.option(fc.constantFrom('100', '-5', 'start()', 'end()', '1609746000.123'), { nil: undefined }),
  parens: fc.boolean(),
}).map((s) => {
  const ms = s.matchers.map((m) => {
    const legacy = /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(m.name);
    const n = legacy && m.nameStyle === 0 ? m.name : quoteAny(m.name, m.nameStyle === 1 ? 1 : 0);
    return `${m.ws}${n}${m.ws}${m.op}${quoteAny(m.value, m.valueStyle)}`;
  });
  let q = `${s.name ?? ''}{${ms.join(',')}}`;
  if (s.range !== undefined) q += `[${s.range}]`;
  if (s.at !== undefined) q += ` @ ${s.at}`;
  if (s.offset !== undefined) q += ` offset ${s.offset}`;
  return s.parens ? `(${q})` : q;
});

const tenant = fc.oneof(fc.constantFrom('acme', '6f1c2a9e-4b7d-4c1e-9a3b-2d5e8f0a1b2c', 'a"b\\c'), fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }).filter((s) => s.isWellFormed()));

function enforceOrRefuse(q: string, t: string): EnforcedQuery | undefined {
  try {
    return enforceQuery(q, t);
  } catch (err) {
    if (err instanceof QueryRefusedError) return undefined;
    throw err;
  }
}

describe('tenant enforcer: properties (fast-check)', () => {
  it('a generated selector is refused with the typed refusal or enforced: output parses, one tenant matcher, fixed point', () => {
    fc.assert(fc.property(selectorText, tenant, (q, t) => {
      const r = enforceOrRefuse(q, t);
      if (r !== undefined) checkInvariants(r, t);
    }), { numRuns: 1500 });
  });
  it('a selector with a plain non-empty matcher is accepted whatever tenant matchers surround it', () => {
    fc.assert(fc.property(fc.array(fc.record({ op, value }), { maxLength: 4 }), tenant, (tenantMatchers, t) => {
      const inner = [...tenantMatchers.map((m) => `tenant_id${m.op}${goQuote(m.value)}`), 'job="node"'];
      const r = enforceOrRefuse(`{${inner.join(',')}}`, t);
      const valid = tenantMatchers.every((m) => (m.op === '=' || m.op === '!=') || !/[()[\]{}\\*+?|]/.test(m.value));
      if (!valid) return;
      assert.ok(r !== undefined);
      checkInvariants(r, t);
      assert.deepEqual(r.expr, { matchers: [{ name: 'job', op: '=', value: 'node' }, { name: 'tenant_id', op: '=', value: t }] });
    }), { numRuns: 500 });
  });
  it('arbitrary text never throws anything but the typed refusal', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 40 }), selectorText.map((s) => s.slice(0, Math.max(0, s.length - 3)))), tenant, (q, t) => {
      const r = enforceOrRefuse(q, t);
      if (r !== undefined) checkInvariants(r, t);
    }), { numRuns: 3000 });
  });

  it('a leading U+FEFF written as byte escapes stays in the value, as Go keeps it (not stripped as a byte order mark)', () => {
    assert.deepEqual(unquotePromString('"\\xef\\xbb\\xbfnode"'), { value: '\uFEFFnode' });
    assert.deepEqual(unquotePromString('"\\357\\273\\277"'), { value: '\uFEFF' });
    const q = enforceQuery('up{job="\\xef\\xbb\\xbfnode"}', 'acme');
    assert.ok(q.query.includes(goQuote('\uFEFFnode')), q.query);
  });
});
