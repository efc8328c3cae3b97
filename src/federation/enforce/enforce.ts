/**
 * The tenant enforcer: a pure function `(PromQL text, tenant id) → enforced PromQL`, or a
 * `QueryRefusedError`. It is the only gate between a caller's query and the series store.
 *
 * Follows the Prometheus 3 query language (https://prometheus.io/docs/prometheus/latest/querying/basics/)
 * as implemented in `promql/parser/generated_parser.y`, `parse.go` and `lex.go`, parsed with
 * the project's own grammar `@prometheus-io/lezer-promql`:
 *
 * - accepted: one vector selector (`name`, `name{…}`, `{"utf8.name", …}`, `{__name__=~"…"}`),
 *   optionally with `[range]`, `offset <duration>` (negative allowed) and `@ <timestamp>` /
 *   `@ start()` / `@ end()`, in any order Prometheus allows, possibly in parentheses; or a
 *   constant number expression (see constant.ts);
 * - refused: everything else (functions, aggregations, binary operators with a selector,
 *   subqueries, string literals, experimental modifiers and duration arithmetic).
 *
 * In every selector every matcher on `tenant_id` (any operator, quoted or not, repeated) is
 * removed and `tenant_id="<tenant>"` appended. A selector left with no matcher that fails to
 * match the empty string is refused like Prometheus refuses it ("vector selector must contain
 * at least one non-empty matcher"). The output is canonical PromQL that re-parses — with this
 * grammar and with Prometheus — to the same selector, plus the structured form the store uses.
 */
import type { SyntaxNode } from '@lezer/common';
import { evaluateConstant, formatConstant, isConstantExpression, numberToken, readNumberLiteral } from './constant.ts';
import { formatPromDuration, goQuote, goRound, unquotePromString } from './literals.ts';
import { checkPromRegex } from './regex.ts';
import { children, parsePromQL, position } from './tree.ts';
import { isLegacyLabelName, isLegacyMetricName } from '../names.ts';
import {
  type EnforcedMatch,
  type EnforcedQuery,
  type EnforcedSelector,
  type LabelMatcher,
  type MatchOp,
  PLAIN_SELECTORS_ONLY,
  QueryRefusedError,
  TENANT_LABEL,
} from './types.ts';

export interface EnforceOptions {
  /** Longest query accepted, in UTF-16 code units (default 16384). */
  readonly maxQueryLength?: number;
  /** Deepest syntax tree accepted (default 128). */
  readonly maxDepth?: number;
}

const DEFAULT_MAX_LENGTH = 16_384;
const DEFAULT_MAX_DEPTH = 128;
/** time.Duration's limit (2^63 ns) in seconds (`durationLiteralOutOfRange` in parse.go). */
const MAX_DURATION_SECONDS = 2 ** 63 / 1e9;
/** Latest `@` accepted, in ms: the range of a JavaScript Date (±8.64e15 ms). */
const MAX_AT_MS = 8.64e15;

const OPS: Record<string, MatchOp> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };

/**
 * Enforces the tenant on a query (`/api/v1/query`, `/api/v1/query_range` `query=`).
 * Returns the canonical query and its structured form; throws only `QueryRefusedError`.
 * `tenant` must be a non-empty, well-formed string (a programming error otherwise: TypeError).
 */
export function enforceQuery(query: string, tenant: string, options: EnforceOptions = {}): EnforcedQuery {
  checkTenant(tenant);
  const expr = topExpression(query, options);
  if (isConstantExpression(expr)) {
    const constant = evaluateConstant(expr, query);
    return { query: formatConstant(constant), expr: { constant } };
  }
  const selector = readSelectorExpression(unwrapParens(expr), query);
  const enforced = enforceSelector(selector, tenant);
  return { query: renderSelector(enforced), expr: enforced };
}

/**
 * Enforces the tenant on a `match[]` selector (series, labels, label values, federate):
 * a plain vector selector only, as Prometheus's `ParseMetricSelector` — no range, offset, `@`
 * or parentheses. Throws only `QueryRefusedError`.
 */
export function enforceMatchSelector(selector: string, tenant: string, options: EnforceOptions = {}): EnforcedMatch {
  checkTenant(tenant);
  const expr = topExpression(selector, options);
  if (expr.name !== 'VectorSelector') {
    throw new QueryRefusedError('not-a-selector', 'match[] takes a plain series selector such as up{job="node"}: a metric name and label matchers, without the [range], offset or @ a query may carry, and no functions or operators (probectl cannot tenant-scope them)');
  }
  const enforced = enforceSelector({ matchers: readVectorSelector(expr, selector) }, tenant);
  return { query: renderSelector(enforced), selector: enforced };
}

export function checkTenant(tenant: string): void {
  if (typeof tenant !== 'string' || tenant === '' || !tenant.isWellFormed()) {
    throw new TypeError('enforceQuery: the tenant must be a non-empty, well-formed string');
  }
}

/** The one expression of `query`, parsed within the bounds; a string literal is refused with `stringRefusal` (default: the selectors-only message). */
export function topExpression(query: string, options: EnforceOptions, stringRefusal: string = PLAIN_SELECTORS_ONLY): SyntaxNode {
  if (typeof query !== 'string') throw new QueryRefusedError('syntax', 'the query must be a string');
  const maxLength = options.maxQueryLength ?? DEFAULT_MAX_LENGTH;
  if (query.length > maxLength) throw new QueryRefusedError('too-long', `the query is longer than ${maxLength} characters`);
  if (!query.isWellFormed()) throw new QueryRefusedError('syntax', 'the query is not valid UTF-8');
  if (onlyBlank(query)) throw new QueryRefusedError('syntax', 'no expression found in input');
  const top = parsePromQL(query, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  const exprs = children(top);
  if (exprs.length === 0) throw new QueryRefusedError('syntax', 'no expression found in input');
  if (exprs.length > 1) throw new QueryRefusedError('syntax', `parse error at ${position(query, (exprs[1] as SyntaxNode).from)}: unexpected expression`);
  const expr = exprs[0] as SyntaxNode;
  if (expr.name === 'StringLiteral') {
    throw new QueryRefusedError('not-a-selector', stringRefusal);
  }
  return expr;
}

/** True when the text is only Go whitespace and `#` comments. */
function onlyBlank(text: string): boolean {
  let inComment = false;
  for (const ch of text) {
    if (inComment) {
      if (ch === '\n' || ch === '\r') inComment = false;
      continue;
    }
    if (ch === '#') inComment = true;
    else if (ch !== ' ' && ch !== '\t' && ch !== '\n' && ch !== '\r') return false;
  }
  return true;
}

function unwrapParens(node: SyntaxNode): SyntaxNode {
  let n = node;
  while (n.name === 'ParenExpr') n = children(n)[0] as SyntaxNode;
  return n;
}

export interface RawSelector {
  matchers: LabelMatcher[];
  rangeMs?: number;
  offsetMs?: number;
  at?: number | 'start' | 'end';
}

/** A selector with its modifiers: StepInvariantExpr / OffsetExpr / MatrixSelector around a VectorSelector. */
function readSelectorExpression(node: SyntaxNode, text: string): RawSelector {
  let offsetMs: number | undefined;
  let at: number | 'start' | 'end' | undefined;
  let n = node;
  for (;;) {
    const parts = children(n);
    if (n.name === 'StepInvariantExpr') {
      if (at !== undefined) throw new QueryRefusedError('invalid', '@ <timestamp> may not be set multiple times');
      at = readAt(parts.slice(2), text);
      n = parts[0] as SyntaxNode;
      continue;
    }
    if (n.name === 'OffsetExpr') {
      if (offsetMs !== undefined) throw new QueryRefusedError('invalid', 'offset may not be set multiple times');
      offsetMs = readOffset(parts[2] as SyntaxNode, text);
      n = parts[0] as SyntaxNode;
      continue;
    }
    break;
  }
  let rangeMs: number | undefined;
  if (n.name === 'MatrixSelector') {
    const [inner, duration] = children(n) as [SyntaxNode, SyntaxNode];
    if (inner.name === 'OffsetExpr') throw new QueryRefusedError('invalid', 'no offset modifiers allowed before range');
    if (inner.name === 'StepInvariantExpr') throw new QueryRefusedError('invalid', 'no @ modifiers allowed before range');
    if (inner.name !== 'VectorSelector') {
      throw new QueryRefusedError(isConstantExpression(inner) ? 'invalid' : 'not-a-selector', isConstantExpression(inner) ? 'ranges only allowed for vector selectors' : PLAIN_SELECTORS_ONLY);
    }
    rangeMs = readRange(duration, text);
    n = inner;
  }
  if (n.name !== 'VectorSelector') {
    if (n.name === 'ParenExpr' && (offsetMs !== undefined || at !== undefined)) {
      throw new QueryRefusedError('invalid', 'offset and @ modifiers must be preceded by an instant vector selector or range vector selector');
    }
    if (n.name === 'AnchoredExpr' || n.name === 'SmoothedExpr') {
      throw new QueryRefusedError('not-a-selector', `the ${n.name === 'AnchoredExpr' ? 'anchored' : 'smoothed'} modifier is experimental and not enabled. ${PLAIN_SELECTORS_ONLY}`);
    }
    throw new QueryRefusedError('not-a-selector', PLAIN_SELECTORS_ONLY);
  }
  const raw: RawSelector = { matchers: readVectorSelector(n, text) };
  if (rangeMs !== undefined) raw.rangeMs = rangeMs;
  if (offsetMs !== undefined) raw.offsetMs = offsetMs;
  if (at !== undefined) raw.at = at;
  return raw;
}

/** The single literal of a duration context, or a refusal for duration arithmetic. */
export function durationLiteral(node: SyntaxNode, allowSign: boolean, text: string): number {
  const parts = children(node);
  if (parts.length === 1 && (parts[0] as SyntaxNode).name === 'NumberDurationLiteralInDurationContext') {
    const lit = parts[0] as SyntaxNode;
    return numberToken(text.slice(lit.from, lit.to), text, lit.from);
  }
  if (allowSign && parts.length === 2 && (parts[0] as SyntaxNode).name === 'UnaryOp' && (parts[1] as SyntaxNode).name === node.name) {
    const inner = children(parts[1] as SyntaxNode);
    if (inner.length === 1 && (inner[0] as SyntaxNode).name === 'NumberDurationLiteralInDurationContext') {
      const sign = text.slice((parts[0] as SyntaxNode).from, (parts[0] as SyntaxNode).to) === '-' ? -1 : 1;
      return sign * durationLiteral(parts[1] as SyntaxNode, false, text);
    }
  }
  throw new QueryRefusedError('not-a-selector', `probectl accepts a single duration here, such as 5m or 90 (seconds); duration arithmetic, step() and range() are refused. ${PLAIN_SELECTORS_ONLY}`);
}

function secondsToMs(seconds: number): number {
  // Prometheus keeps a time.Duration (ns, Go math.Round) and evaluates in whole ms (truncated).
  return Math.trunc(goRound(seconds * 1e9) / 1e6) + 0;
}

export function readRange(node: SyntaxNode, text: string): number {
  const seconds = durationLiteral(node, true, text);
  if (!(seconds > 0)) throw new QueryRefusedError('invalid', 'duration must be greater than 0');
  if (seconds > MAX_DURATION_SECONDS) throw new QueryRefusedError('invalid', 'duration out of range');
  const ms = secondsToMs(seconds);
  if (ms < 1) throw new QueryRefusedError('invalid', 'probectl needs a range of at least 1ms');
  return ms;
}

export function readOffset(node: SyntaxNode, text: string): number {
  const seconds = durationLiteral(node, true, text);
  if (Number.isNaN(seconds) || Math.abs(seconds) > MAX_DURATION_SECONDS) throw new QueryRefusedError('invalid', 'duration out of range');
  return secondsToMs(seconds);
}

export function readAt(parts: SyntaxNode[], text: string): number | 'start' | 'end' {
  const [arg] = parts;
  if (arg === undefined) throw new QueryRefusedError('syntax', 'unexpected @: expected a timestamp');
  if (arg.name === 'AtModifierPreprocessors') return (children(arg)[0] as SyntaxNode).name === 'AtStart' ? 'start' : 'end';
  const { sign, value } = readNumberLiteral(arg, text);
  const seconds = sign === -1 ? -value : value;
  const ms = goRound(seconds * 1000);
  if (!Number.isFinite(seconds) || seconds >= 2 ** 63 || seconds <= -(2 ** 63)) {
    throw new QueryRefusedError('invalid', `timestamp out of bounds for @ modifier: ${seconds}`);
  }
  if (Math.abs(ms) > MAX_AT_MS) throw new QueryRefusedError('invalid', `timestamp out of bounds for @ modifier: ${seconds} (probectl accepts ±${MAX_AT_MS / 1000} seconds)`);
  return ms + 0;
}

export function stringValue(node: SyntaxNode, text: string): string {
  const raw = text.slice(node.from, node.to);
  const r = unquotePromString(raw);
  if ('error' in r) throw new QueryRefusedError('syntax', `parse error at ${position(text, node.from)}: ${r.error}`);
  return r.value;
}

/** The matchers of a VectorSelector in Prometheus's order: braces first, the outer name last. */
export function readVectorSelector(node: SyntaxNode, text: string): LabelMatcher[] {
  const matchers: LabelMatcher[] = [];
  let outerName: string | undefined;
  for (const part of children(node)) {
    if (part.name === 'Identifier') {
      outerName = text.slice(part.from, part.to);
      continue;
    }
    if (part.name !== 'LabelMatchers') throw new QueryRefusedError('syntax', `parse error at ${position(text, part.from)}: unexpected ${part.name}`);
    for (const m of children(part)) matchers.push(readMatcher(m, text));
  }
  if (outerName !== undefined) {
    if (matchers.some((m) => m.name === '__name__')) {
      const inner = matchers.find((m) => m.name === '__name__') as LabelMatcher;
      throw new QueryRefusedError('invalid', `metric name must not be set twice: ${goQuote(outerName)} or ${goQuote(inner.value)}`);
    }
    matchers.push({ name: '__name__', op: '=', value: outerName });
  }
  return matchers;
}

function readMatcher(node: SyntaxNode, text: string): LabelMatcher {
  const parts = children(node);
  if (node.name === 'QuotedLabelName') {
    return { name: '__name__', op: '=', value: stringValue(parts[0] as SyntaxNode, text) };
  }
  const [nameNode, opNode, valueNode] = parts as [SyntaxNode, SyntaxNode, SyntaxNode];
  const name = node.name === 'QuotedLabelMatcher'
    ? stringValue(children(nameNode)[0] as SyntaxNode, text)
    : text.slice(nameNode.from, nameNode.to);
  if (name === '') throw new QueryRefusedError('invalid', 'invalid label name: the empty string');
  const op = OPS[(children(opNode)[0] as SyntaxNode).name];
  if (op === undefined) throw new QueryRefusedError('syntax', `parse error at ${position(text, opNode.from)}: unexpected operator`);
  const value = stringValue(valueNode, text);
  if (op === '=~' || op === '!~') {
    const check = checkPromRegex(value);
    if (!check.ok) throw new QueryRefusedError('invalid', check.error);
  }
  return { name, op, value };
}

/** True when Prometheus's `Matcher.Matches("")` holds. */
function matchesEmpty(m: LabelMatcher): boolean {
  switch (m.op) {
    case '=': return m.value === '';
    case '!=': return m.value !== '';
    case '=~': return regexMatchesEmpty(m.value);
    case '!~': return !regexMatchesEmpty(m.value);
  }
}

function regexMatchesEmpty(re: string): boolean {
  const check = checkPromRegex(re);
  if (!check.ok) throw new QueryRefusedError('invalid', check.error);
  return check.info.matchesEmpty;
}

export function enforceSelector(raw: RawSelector, tenant: string): EnforcedSelector {
  const kept = raw.matchers.filter((m) => m.name !== TENANT_LABEL);
  if (!kept.some((m) => !matchesEmpty(m))) {
    throw new QueryRefusedError('empty-selector', 'vector selector must contain at least one non-empty matcher (a tenant_id matcher does not count: probectl replaces it with your tenant)');
  }
  const names = kept.filter((m) => m.name === '__name__');
  const metric = names.length === 1 && (names[0] as LabelMatcher).op === '=' ? (names[0] as LabelMatcher).value : undefined;
  const matchers = metric === undefined ? kept : kept.filter((m) => m.name !== '__name__');
  const out: { -readonly [K in keyof EnforcedSelector]: EnforcedSelector[K] } = {
    matchers: [...matchers, { name: TENANT_LABEL, op: '=', value: tenant }],
  };
  if (metric !== undefined) out.metricName = metric;
  if (raw.rangeMs !== undefined) out.rangeMs = raw.rangeMs;
  if (raw.offsetMs !== undefined && raw.offsetMs !== 0) out.offsetMs = raw.offsetMs;
  if (raw.at !== undefined) out.at = raw.at;
  return out;
}

/** A legacy metric name that is not a word PromQL reads as a keyword or number. */
function isBareMetricName(name: string): boolean {
  return isLegacyMetricName(name) && !RESERVED_WORDS.has(name.toLowerCase());
}

/**
 * Words that are keywords or numbers for the lexer or the lezer grammar; such metric names are
 * printed as a `__name__="sum"` matcher, which every engine reads (the quoted form `{"sum"}` is
 * Prometheus 3 syntax: Prometheus 2 and older engines refuse it, and a tenant's series named
 * `sum` or `count` — names remote-write accepts — could not be queried).
 */
const RESERVED_WORDS = new Set([
  'inf', 'nan', 'bool', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'by', 'without', 'and', 'or', 'unless',
  'atan2', 'start', 'end', 'step', 'range', 'anchored', 'smoothed', 'fill', 'fill_left', 'fill_right', 'max_of', 'min_of',
  'avg', 'bottomk', 'count', 'count_values', 'group', 'max', 'min', 'quantile', 'limitk', 'limit_ratio', 'stddev',
  'stdvar', 'sum', 'topk',
]);

export function renderLabelName(name: string): string {
  return isLegacyLabelName(name) ? name : goQuote(name);
}

function renderMatcher(m: LabelMatcher): string {
  return `${renderLabelName(m.name)}${m.op}${goQuote(m.value)}`;
}

/** Canonical PromQL for an enforced selector (Prometheus's printer layout: `[range]`, `@`, `offset`). */
export function renderSelector(s: EnforcedSelector): string {
  const inner = s.matchers.map(renderMatcher);
  let out: string;
  if (s.metricName !== undefined && isBareMetricName(s.metricName)) out = `${s.metricName}{${inner.join(',')}}`;
  else if (s.metricName !== undefined && isLegacyMetricName(s.metricName)) out = `{${[`__name__=${goQuote(s.metricName)}`, ...inner].join(',')}}`;
  else if (s.metricName !== undefined) out = `{${[goQuote(s.metricName), ...inner].join(',')}}`;
  else out = `{${inner.join(',')}}`;
  if (s.rangeMs !== undefined) out += `[${formatPromDuration(s.rangeMs)}]`;
  if (s.at !== undefined) out += ` @ ${typeof s.at === 'number' ? formatAt(s.at) : `${s.at}()`}`;
  if (s.offsetMs !== undefined && s.offsetMs !== 0) out += ` offset ${formatPromDuration(s.offsetMs)}`;
  return out;
}

/** `@` as Prometheus prints it: seconds with three decimals (`1609746000.000`). */
export function formatAt(ms: number): string {
  const abs = Math.abs(ms);
  return `${ms < 0 ? '-' : ''}${Math.trunc(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}`;
}
