/**
 * Label matchers → SQL over metric_series, with Prometheus 3.x semantics: a
 * missing label matches as "", regular expressions are RE2 (re2js, a port of
 * RE2/J: the syntax Go's regexp accepts; backreferences and look-around are
 * refused as Prometheus refuses them) anchored as `^(?s:re)$`. A regular
 * expression is evaluated in the application against the tenant's known values
 * of that label (metric_label_values) and becomes an equality set, so the
 * database never interprets a pattern (PostgreSQL regexes differ from RE2).
 */
import { RE2JS } from 're2js';
import { ProbectlError } from '../../core/errors.ts';
import type { TenantTx } from '../../store/scope.ts';
import { NAME_LABEL, TENANT_LABEL } from './labels.ts';
import { DEFAULT_REGEX_BUDGET_MS } from './settings.ts';
import type { Matcher } from './types.ts';

function badMatcher(message: string): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_METRICS_BAD_MATCHER', message);
}

/** A full-match RE2 matcher with Prometheus's anchoring and dot-matches-newline. */
export function compileRegex(pattern: string): (value: string) => boolean {
  let re: RE2JS;
  try {
    // Compiled alone first, so an unbalanced pattern cannot escape the wrapping group.
    RE2JS.compile(pattern);
    re = RE2JS.compile(`(?s:${pattern})`);
  } catch (err) {
    throw badMatcher(`invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
  return (value) => re.matches(value);
}

/**
 * compileRegex deferred to the first test: compiling a large pattern takes tens of ms, so it
 * happens where the matching happens — in matchingValues' slices, counted against the read's
 * budget (a request may carry a thousand match[]) — not all at once before the read.
 */
function lazyRegex(pattern: string): (value: string) => boolean {
  let compiled: ((value: string) => boolean) | undefined;
  return (value) => (compiled ??= compileRegex(pattern))(value);
}

export interface PreparedMatcher {
  readonly name: string;
  readonly op: Matcher['op'];
  readonly value: string;
  readonly test?: (value: string) => boolean;
  /** The read's regular-expression budget, shared by all its matchers. */
  readonly budget?: RegexBudget;
}

/** CPU time the regular expressions of one read may spend together (ms), and what they spent so far. */
export interface RegexBudget {
  readonly limitMs: number;
  spentMs: number;
}

/** Longest stretch a regular expression runs before the event loop gets a turn (other requests go on meanwhile). */
const REGEX_SLICE_MS = 20;

/**
 * A regular expression matcher ran longer than its budget over the label's values
 * (`PROBECTL_ERR_METRICS_QUERY_TIMEOUT`, Prometheus errorType `timeout`, 503).
 */
export function regexTimeout(name: string, values: number, budgetMs: number): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_METRICS_QUERY_TIMEOUT', `query timed out: the regular expressions of this read ran for more than ${budgetMs / 1000}s (the one on label ${JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name)} over its ${values} values when time ran out); simplify them (counted repeats such as (.?){1000} are costly) or match on fewer values`);
}

/**
 * Validates a matcher set for `tenant`: known operators, text without NUL; RE2
 * patterns are compiled (and refused) when first used (lazyRegex).
 * `tenant_id="<tenant>"` is dropped (every row of the scope has it); any other
 * tenant_id matcher is refused, whatever the enforcer upstream did.
 */
export function prepareMatchers(tenant: string, matchers: readonly Matcher[], budget: RegexBudget = { limitMs: DEFAULT_REGEX_BUDGET_MS, spentMs: 0 }): PreparedMatcher[] {
  const out: PreparedMatcher[] = [];
  for (const m of matchers) {
    if (m === null || typeof m !== 'object' || typeof m.name !== 'string' || typeof m.value !== 'string') throw badMatcher('a matcher needs a string name and value');
    if (!['=', '!=', '=~', '!~'].includes(m.op)) throw badMatcher(`unknown matcher operator ${JSON.stringify(String(m.op))}`);
    if (m.name === '' || !m.name.isWellFormed() || !m.value.isWellFormed() || m.name.includes('\u0000') || m.value.includes('\u0000')) throw badMatcher('a matcher name or value is empty, not valid UTF-8 or contains NUL');
    if (m.name === TENANT_LABEL) {
      if (m.op === '=' && m.value === tenant) continue;
      throw badMatcher('a tenant_id matcher must be tenant_id="<your tenant>"; the tenant comes from the credentials');
    }
    out.push(m.op === '=~' || m.op === '!~' ? { name: m.name, op: m.op, value: m.value, test: lazyRegex(m.value), budget } : { name: m.name, op: m.op, value: m.value });
  }
  return out;
}

/** Positional parameters of one statement. */
export class SqlParams {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/**
 * The tenant's values of label `name` that `test` accepts. A regular expression's cost per
 * value grows with the pattern and the value (`(.?){1000}` takes ~0.3 s on a 2 kB value), so
 * it runs in slices of REGEX_SLICE_MS with the event loop served in between, and fails with
 * regexTimeout once the read's regular expressions together have used the budget's CPU time.
 */
async function matchingValues(tx: TenantTx, name: string, test: (v: string) => boolean, budget: RegexBudget): Promise<string[]> {
  const res = await tx.query<{ value: string }>('SELECT value FROM metric_label_values WHERE tenant_id = $1 AND name = $2', [tx.tenantId, name]);
  const vals: string[] = [];
  let sliceStart = performance.now();
  const check = async (): Promise<void> => {
    const now = performance.now();
    if (now - sliceStart < REGEX_SLICE_MS) return;
    budget.spentMs += now - sliceStart;
    if (budget.spentMs > budget.limitMs) throw regexTimeout(name, res.rows.length, budget.limitMs);
    await new Promise<void>((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
  for (const r of res.rows) {
    if (test(r.value)) vals.push(r.value);
    await check();
  }
  if (test('')) vals.push('');
  await check();
  budget.spentMs += performance.now() - sliceStart;
  return vals;
}

async function matcherSql(tx: TenantTx, m: PreparedMatcher, p: SqlParams): Promise<string> {
  const isName = m.name === NAME_LABEL;
  let keyParam: string | undefined;
  const key = (): string => (keyParam ??= `${p.add(m.name)}::text`);
  // __name__ is always present, in its own indexed column (migration 0011: the index serves
  // under row-level security, where an expression over labels cannot); other labels read as "" when absent.
  const expr = (): string => (isName ? 's.name' : `coalesce(s.labels ->> ${key()}, '')`);
  const contains = (): string => `s.labels @> ${p.add(JSON.stringify({ [m.name]: m.value }))}::jsonb`;
  switch (m.op) {
    case '=':
      if (m.value === '') return isName ? 'false' : `NOT (s.labels ? ${key()})`;
      return isName ? `${expr()} = ${p.add(m.value)}::text` : contains();
    case '!=':
      if (m.value === '') return isName ? 'true' : `s.labels ? ${key()}`;
      return isName ? `${expr()} <> ${p.add(m.value)}::text` : `NOT (${contains()})`;
    default: {
      const vals = await matchingValues(tx, m.name, m.test as (v: string) => boolean, m.budget ?? { limitMs: DEFAULT_REGEX_BUDGET_MS, spentMs: 0 });
      const inSet = vals.length === 0 ? 'false' : `${expr()} = ANY (ARRAY(SELECT jsonb_array_elements_text(${p.add(JSON.stringify(vals))}::jsonb)))`;
      return m.op === '=~' ? inSet : `NOT (${inSet})`;
    }
  }
}

/**
 * The WHERE condition (over `metric_series s`) for series matching any of the
 * prepared sets; an empty set matches every series of the tenant.
 */
export async function matcherSetsSql(tx: TenantTx, sets: readonly (readonly PreparedMatcher[])[], p: SqlParams): Promise<string> {
  const ors: string[] = [];
  for (const set of sets) {
    const ands: string[] = [];
    for (const m of set) ands.push(await matcherSql(tx, m, p));
    ors.push(ands.length === 0 ? 'true' : `(${ands.join(' AND ')})`);
  }
  return ors.length === 0 ? 'true' : `(${ors.join(' OR ')})`;
}
