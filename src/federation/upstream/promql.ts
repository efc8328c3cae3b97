/**
 * The full-PromQL tenant enforcer of upstream mode (docs/federation.md, "Scaling out"):
 * a pure function `(PromQL text, tenant) → PromQL text printed from the syntax tree`, or a
 * `QueryRefusedError`. Used only in front of a Prometheus-compatible engine; the embedded
 * store keeps the selectors-only enforcer (enforce/enforce.ts).
 *
 * - The query must parse completely with `@prometheus-io/lezer-promql` (no error node, Go's
 *   lexer rules between tokens: enforce/tree.ts) within the length and depth bounds.
 * - Every vector selector — alone, in a range (`x[5m]`), under a function, an aggregation, a
 *   binary operation, a subquery, `offset` or `@` — loses every `tenant_id` matcher the
 *   caller wrote and gains exactly one `tenant_id="<tenant>"`; a selector with no other
 *   non-empty matcher is refused, as the selectors-only enforcer refuses it.
 * - The rewritten query is printed from the tree: operators, keywords and function names
 *   from fixed tables, numbers from their values, strings re-quoted, comments dropped, each
 *   operand of an operator parenthesised — never a slice of the caller's text.
 * - It is parsed again and verified before it is returned (`verifyTenantScoped`): every
 *   selector carries exactly one tenant matcher, the caller's tenant, and no other; and it
 *   holds as many selectors as the query did.
 * - Refused, never forwarded: node types this printer does not know, experimental syntax
 *   (anchored/smoothed, fill modifiers, `</` `>/`, duration arithmetic, step()/range()),
 *   and `info()`, which reads `target_info` series the query does not name (not scopable).
 * - Bounded in cost (the engine evaluates what a series count cannot see): a subquery of more
 *   than MAX_SUBQUERY_STEPS steps or MAX_SUBQUERY_EVALUATIONS over the query's span, subqueries
 *   of more than MAX_QUERY_SUBQUERY_EVALUATIONS together, a range
 *   longer than MAX_RANGE_MS — refused. A string literal as the whole query is refused.
 */
import type { SyntaxNode } from '@lezer/common';
import { readNumberLiteral } from '../enforce/constant.ts';
import { checkTenant, enforceSelector, formatAt, readAt, readOffset, readRange, readVectorSelector, renderLabelName, renderSelector, stringValue, topExpression, type EnforceOptions } from '../enforce/enforce.ts';
import { formatPromDuration, goQuote } from '../enforce/literals.ts';
import { children, parsePromQL } from '../enforce/tree.ts';
import { type EnforcedSelector, PLAIN_SELECTORS_ONLY, QueryRefusedError, TENANT_LABEL } from '../enforce/types.ts';

/** A rewritten query: the text to send, and each selector without range/offset/@ (the cardinality guard's `match[]`). */
export interface ScopedQuery {
  readonly query: string;
  readonly selectors: readonly string[];
  /** The longest range or subquery window (ms) and the largest |offset| (ms): how far before the evaluation time it reads. */
  readonly reachMs: number;
  /** The fixed times (ms) of its `@ <timestamp>` modifiers (the guard's window covers them too). */
  readonly atMs: readonly number[];
  /** The query's value is a range vector (`m[5m]`, a subquery, either in parentheses or with `offset` / `@`): query_range refuses it, as Prometheus does. */
  readonly rangeVector: boolean;
}

const MAX_OUTPUT = 262_144;

/** Most evaluation steps of one subquery: Prometheus's own points limit of a range query (11,000). */
export const MAX_SUBQUERY_STEPS = 11_000;
/** Steps one subquery is evaluated at over the whole span of a range query (ten times MAX_SUBQUERY_STEPS). */
export const MAX_SUBQUERY_EVALUATIONS = 110_000;
/**
 * Steps all the subqueries of one query are evaluated at together: one query holding hundreds
 * of subqueries, each under MAX_SUBQUERY_EVALUATIONS, would otherwise keep the engine busy for
 * tens of seconds while naming no series (432 × `count_over_time(vector(1)[1d:25s])` over 30
 * days: 23 s of Prometheus).
 */
export const MAX_QUERY_SUBQUERY_EVALUATIONS = 4 * MAX_SUBQUERY_EVALUATIONS;
/** Longest range of a range selector or subquery: 400 days (past any usual retention). */
export const MAX_RANGE_MS = 400 * 86_400_000;
/** A subquery without a step is evaluated at the engine's default evaluation interval (Prometheus: 1m). */
export const DEFAULT_SUBQUERY_STEP_MS = 60_000;

/** What the query's cost is bounded by: the span (ms) its top expression is evaluated over (0: instant query). */
export interface CostBounds {
  readonly spanMs: number;
}

/**
 * The message of a refusal in upstream mode (the selectors-only wording of embedded mode does
 * not apply: full PromQL is forwarded there).
 */
export const UPSTREAM_REFUSED = 'probectl forwards full PromQL to the metrics engine only when it can tenant-scope every series the query reads; see docs/federation.md, "What stays refused"';

const BINARY_OPS: Readonly<Record<string, string>> = {
  Pow: '^', Mul: '*', Div: '/', Mod: '%', Atan2: 'atan2', Add: '+', Sub: '-',
  Eql: '==', Gte: '>=', Gtr: '>', Lte: '<=', Lss: '<', Neq: '!=', And: 'and', Unless: 'unless', Or: 'or',
};

const WRAPPED = new Set(['BinaryExpr', 'UnaryExpr']);

interface Walk {
  readonly text: string;
  /** Span (ms) the node being printed is evaluated over. */
  spanMs: number;
  readonly tenant: string;
  readonly selectors: Set<string>;
  count: number;
  /** Evaluation steps of the subqueries printed so far, summed (bounded by MAX_QUERY_SUBQUERY_EVALUATIONS). */
  evaluations: number;
  reachMs: number;
  atMs: number[];
}

function refuse(what: string): never {
  throw new QueryRefusedError('not-a-selector', `probectl cannot tenant-scope ${what}, so it is not forwarded`);
}

/** The keyword/function text of a token node, checked to be a plain lower-case word. */
function word(node: SyntaxNode, text: string): string {
  const w = text.slice(node.from, node.to).toLowerCase();
  if (!/^[a-z_][a-z0-9_]*$/.test(w)) refuse(`the token ${JSON.stringify(w.slice(0, 40))}`);
  return w;
}

function number(node: SyntaxNode, text: string): string {
  const { sign, value } = readNumberLiteral(node, text);
  const v = sign === -1 ? -value : value;
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

function grouping(node: SyntaxNode, text: string): string {
  const names = children(node).map((n) => (n.name === 'LabelName' ? text.slice(n.from, n.to) : n.name === 'QuotedLabelName' ? stringValue(children(n)[0] as SyntaxNode, text) : refuse(`${n.name} in a label list`)));
  return `(${names.map(renderLabelName).join(', ')})`;
}

function wrap(node: SyntaxNode, w: Walk): string {
  const out = print(node, w);
  return WRAPPED.has(node.name) ? `(${out})` : out;
}

function selector(node: SyntaxNode, w: Walk, modifiers: { rangeMs?: number }): string {
  const enforced = enforceSelector({ matchers: readVectorSelector(node, w.text) }, w.tenant);
  w.count++;
  w.selectors.add(renderSelector({ ...(enforced.metricName !== undefined ? { metricName: enforced.metricName } : {}), matchers: enforced.matchers }));
  const s: EnforcedSelector = { ...enforced, ...(modifiers.rangeMs !== undefined ? { rangeMs: modifiers.rangeMs } : {}) };
  return renderSelector(s);
}

function binary(node: SyntaxNode, w: Walk): string {
  const parts = children(node);
  const lhs = parts[0] as SyntaxNode;
  const rhs = parts[parts.length - 1] as SyntaxNode;
  let out = wrap(lhs, w);
  for (const p of parts.slice(1, -1)) {
    const op = BINARY_OPS[p.name];
    if (op !== undefined) out += ` ${op}`;
    else if (p.name === 'BoolModifier') out += ' bool';
    else if (p.name === 'MatchingModifierClause') {
      for (const m of children(p)) {
        if (m.name === 'On' || m.name === 'Ignoring' || m.name === 'GroupLeft' || m.name === 'GroupRight') out += ` ${m.name === 'GroupLeft' ? 'group_left' : m.name === 'GroupRight' ? 'group_right' : m.name.toLowerCase()}`;
        else if (m.name === 'GroupingLabels') out += ` ${grouping(m, w.text)}`;
        else refuse(`${m.name} in a vector matching clause`);
      }
    } else refuse(p.name === 'FillModifier' ? 'the experimental fill modifiers' : p.name === 'TrimUpper' || p.name === 'TrimLower' ? 'the experimental trim operators' : `the operator ${p.name}`);
  }
  return `${out} ${wrap(rhs, w)}`;
}

function call(node: SyntaxNode, w: Walk, name: string, body: SyntaxNode): string {
  return `${name}(${children(body).map((a) => print(a, w)).join(', ')})`;
}

function aggregate(node: SyntaxNode, w: Walk): string {
  let op = '';
  let modifier = '';
  let body: SyntaxNode | undefined;
  for (const p of children(node)) {
    if (p.name === 'AggregateOp') op = word(children(p)[0] ?? p, w.text);
    else if (p.name === 'AggregateModifier') {
      const [kind, labels] = children(p) as [SyntaxNode, SyntaxNode | undefined];
      if ((kind.name !== 'By' && kind.name !== 'Without') || labels === undefined) refuse('this aggregation modifier');
      modifier = ` ${kind.name === 'By' ? 'by' : 'without'} ${grouping(labels, w.text)}`;
    } else if (p.name === 'FunctionCallBody') body = p;
    else refuse(`${p.name} in an aggregation`);
  }
  if (body === undefined || op === '') refuse('an aggregation without arguments');
  return `${op}${modifier} (${children(body).map((a) => print(a, w)).join(', ')})`;
}

function checkRange(rangeMs: number, what: string): void {
  if (rangeMs > MAX_RANGE_MS) throw new QueryRefusedError('invalid', `${what} of ${formatPromDuration(rangeMs)} is longer than probectl's limit of ${MAX_RANGE_MS / 86_400_000}d`);
}

/**
 * A subquery, bounded before it is forwarded: its range/step at most MAX_SUBQUERY_STEPS (as
 * Prometheus bounds a range query's points), and the steps the engine evaluates its inner
 * expression at over the enclosing span plus its range at most MAX_SUBQUERY_EVALUATIONS.
 */
function subquery(node: SyntaxNode, w: Walk): string {
  const [inner, range, step] = children(node) as [SyntaxNode, SyntaxNode, SyntaxNode | undefined];
  const rangeMs = readRange(range, w.text);
  checkRange(rangeMs, 'a subquery range');
  const stepMs = step === undefined ? DEFAULT_SUBQUERY_STEP_MS : readRange(step, w.text);
  if (stepMs <= 0) throw new QueryRefusedError('invalid', 'zero or negative subquery step is not accepted');
  const steps = Math.floor(rangeMs / stepMs);
  if (steps > MAX_SUBQUERY_STEPS) {
    throw new QueryRefusedError('invalid', `exceeded maximum resolution of ${MAX_SUBQUERY_STEPS} points per timeseries: the subquery [${formatPromDuration(rangeMs)}:${formatPromDuration(stepMs)}] has ${steps} steps. Try a bigger subquery step`);
  }
  const evaluations = Math.floor((w.spanMs + rangeMs) / stepMs);
  if (evaluations > MAX_SUBQUERY_EVALUATIONS) {
    throw new QueryRefusedError('invalid', `exceeded maximum resolution of ${MAX_SUBQUERY_EVALUATIONS} evaluation steps: the subquery [${formatPromDuration(rangeMs)}:${formatPromDuration(stepMs)}] over the query's ${formatPromDuration(w.spanMs)} is evaluated at ${evaluations} steps. Try a bigger subquery step or a shorter time range`);
  }
  w.evaluations += evaluations;
  if (w.evaluations > MAX_QUERY_SUBQUERY_EVALUATIONS) {
    throw new QueryRefusedError('invalid', `exceeded maximum resolution of ${MAX_QUERY_SUBQUERY_EVALUATIONS} evaluation steps of all the query's subqueries together (${w.evaluations} so far). Use fewer subqueries, bigger subquery steps or a shorter time range`);
  }
  w.reachMs += rangeMs;
  const outer = w.spanMs;
  w.spanMs = outer + rangeMs;
  const stepText = step === undefined ? '' : formatPromDuration(stepMs);
  const out = `${wrap(inner, w)}[${formatPromDuration(rangeMs)}:${stepText}]`;
  w.spanMs = outer;
  return out;
}

function print(node: SyntaxNode, w: Walk): string {
  switch (node.name) {
    case 'ParenExpr':
      return `(${print(children(node)[0] as SyntaxNode, w)})`;
    case 'UnaryExpr': {
      const [op, inner] = children(node) as [SyntaxNode, SyntaxNode];
      const sign = w.text.slice(op.from, op.to) === '-' ? '-' : '+';
      return inner.name === 'ParenExpr' ? `${sign}${print(inner, w)}` : `${sign}(${print(inner, w)})`;
    }
    case 'BinaryExpr':
      return binary(node, w);
    case 'NumberDurationLiteral':
      return number(node, w.text);
    case 'StringLiteral':
      return goQuote(stringValue(node, w.text));
    case 'VectorSelector':
      return selector(node, w, {});
    case 'MatrixSelector': {
      const [inner, range] = children(node) as [SyntaxNode, SyntaxNode];
      if (inner.name !== 'VectorSelector') throw new QueryRefusedError('invalid', 'ranges only allowed for vector selectors');
      const rangeMs = readRange(range, w.text);
      checkRange(rangeMs, 'a range');
      w.reachMs += rangeMs;
      return selector(inner, w, { rangeMs });
    }
    case 'SubqueryExpr':
      return subquery(node, w);
    case 'OffsetExpr': {
      const parts = children(node);
      const ms = readOffset(parts[2] as SyntaxNode, w.text);
      w.reachMs += Math.abs(ms);
      return `${wrap(parts[0] as SyntaxNode, w)} offset ${formatPromDuration(ms)}`;
    }
    case 'StepInvariantExpr': {
      const parts = children(node);
      const at = readAt(parts.slice(2), w.text);
      if (typeof at === 'number') w.atMs.push(at);
      return `${wrap(parts[0] as SyntaxNode, w)} @ ${typeof at === 'number' ? formatAt(at) : `${at}()`}`;
    }
    case 'FunctionCall': {
      const [id, body] = children(node) as [SyntaxNode, SyntaxNode];
      const name = word(id, w.text);
      if (name === 'info') refuse('info(), which reads target_info series the query does not name');
      return call(node, w, name, body);
    }
    case 'AggregateExpr':
      return aggregate(node, w);
    case 'AnchoredExpr':
    case 'SmoothedExpr':
      return refuse('the experimental anchored and smoothed modifiers');
    default:
      return refuse(`a ${node.name}`);
  }
}

/**
 * Rewrites `query` for `tenant`: the text to send upstream, verified (see the module
 * comment). Throws only QueryRefusedError (and TypeError for an invalid tenant).
 */
export function scopeQuery(query: string, tenant: string, options: EnforceOptions = {}, bounds: CostBounds = { spanMs: 0 }): ScopedQuery {
  checkTenant(tenant);
  try {
    return scopeTree(query, tenant, options, bounds);
  } catch (err) {
    if (err instanceof QueryRefusedError && err.message.includes(PLAIN_SELECTORS_ONLY)) {
      throw new QueryRefusedError(err.reason, err.message.replace(PLAIN_SELECTORS_ONLY, UPSTREAM_REFUSED));
    }
    throw err;
  }
}

function scopeTree(query: string, tenant: string, options: EnforceOptions, bounds: CostBounds): ScopedQuery {
  const top = topExpression(query, options, `a string literal as the whole query reads no series and is not forwarded (Grafana needs none). ${UPSTREAM_REFUSED}`);
  const w: Walk = { text: query, tenant, spanMs: bounds.spanMs, selectors: new Set(), count: 0, evaluations: 0, reachMs: 0, atMs: [] };
  const out = print(top, w);
  if (out.length > MAX_OUTPUT) throw new QueryRefusedError('too-long', `the tenant-scoped query would be longer than ${MAX_OUTPUT} characters`);
  const found = verifyTenantScoped(out, tenant, options);
  if (found !== w.count) throw new QueryRefusedError('invalid', 'the tenant-scoped query does not read back to the same selectors; it is not forwarded');
  return { query: out, selectors: [...w.selectors], reachMs: w.reachMs, atMs: w.atMs, rangeVector: isRangeVector(top) };
}

/** Whether the expression's value is a range vector (PromQL's type rules: parentheses, `offset` and `@` keep their operand's type). */
function isRangeVector(node: SyntaxNode): boolean {
  switch (node.name) {
    case 'MatrixSelector':
    case 'SubqueryExpr':
      return true;
    case 'ParenExpr':
    case 'OffsetExpr':
    case 'StepInvariantExpr':
      return isRangeVector(children(node)[0] as SyntaxNode);
    default:
      return false;
  }
}

/**
 * Parses `text` again and checks that every vector selector in it has exactly one
 * `tenant_id` matcher, `tenant_id="<tenant>"`. Returns the number of selectors; throws
 * QueryRefusedError (`invalid`) otherwise. Exported for the tests and the property test.
 */
export function verifyTenantScoped(text: string, tenant: string, options: EnforceOptions = {}): number {
  const top = parsePromQL(text, (options.maxDepth ?? 128) * 2);
  let count = 0;
  const visit = (node: SyntaxNode): void => {
    if (node.name === 'VectorSelector') {
      count++;
      const tenants = readVectorSelector(node, text).filter((m) => m.name === TENANT_LABEL);
      const only = tenants[0];
      if (tenants.length !== 1 || only === undefined || only.op !== '=' || only.value !== tenant) {
        throw new QueryRefusedError('invalid', 'the tenant-scoped query failed verification (a selector without exactly one tenant matcher); it is not forwarded');
      }
      return;
    }
    for (let c = node.firstChild; c !== null; c = c.nextSibling) visit(c);
  };
  visit(top);
  return count;
}
