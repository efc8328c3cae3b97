import type { SyntaxNode } from '@lezer/common';
import { goNumberTokenLength, isGoSpace, parseGoNumber, parsePromDuration } from './literals.ts';
import { children } from './tree.ts';
import { PLAIN_SELECTORS_ONLY, QueryRefusedError } from './types.ts';

/**
 * Constant number expressions, evaluated as Prometheus evaluates scalar arithmetic
 * (`promql/engine.go` `scalarBinop`, `promql/parser/generated_parser.y` for precedence):
 * number literals (decimal, hex, octal `010`, `1_000`, `Inf`, `NaN`, durations such as `5m` as
 * seconds — PromQL 3), unary `+`/`-`, parentheses, `+ - * / % ^ atan2`, and comparisons with
 * `bool`. Nothing here reads series, so a constant is tenant-free (Grafana's "Save & test"
 * asks `1+1`).
 *
 * One place where the lezer grammar and Prometheus disagree is handled explicitly: lezer reads
 * `-2^2` as `(-2)^2`, because its number literal may carry a sign; Prometheus's unary minus
 * binds looser than `^`, so `-2^2` is `-(2^2)` = -4. A signed literal on the left of `^` is
 * therefore read as a unary operator applied to the power.
 */

const ARITHMETIC = new Set(['Add', 'Sub', 'Mul', 'Div', 'Mod', 'Pow', 'Atan2']);
const COMPARISON = new Set(['Eql', 'Neq', 'Gtr', 'Gte', 'Lss', 'Lte']);
const SET_OPS = new Set(['And', 'Or', 'Unless']);

/** True when the expression contains only literals, unary/binary operators and parentheses. */
export function isConstantExpression(node: SyntaxNode): boolean {
  switch (node.name) {
    case 'NumberDurationLiteral':
      return true;
    case 'ParenExpr':
    case 'UnaryExpr':
    case 'BinaryExpr':
      return children(node).every((c) => isOperatorPart(c) || isConstantExpression(c));
    default:
      return false;
  }
}

function isOperatorPart(node: SyntaxNode): boolean {
  return node.name === 'UnaryOp' || ARITHMETIC.has(node.name) || COMPARISON.has(node.name) || SET_OPS.has(node.name) ||
    node.name === 'BoolModifier' || node.name === 'MatchingModifierClause' || node.name === 'FillModifier' ||
    node.name === 'TrimUpper' || node.name === 'TrimLower';
}

/** A number literal node's sign and value (`-2` → sign -1, value 2). */
export function readNumberLiteral(node: SyntaxNode, text: string): { sign: 1 | -1 | 0; value: number } {
  let p = node.from;
  let sign: 1 | -1 | 0 = 0;
  if (text[p] === '-' || text[p] === '+') {
    sign = text[p] === '-' ? -1 : 1;
    p++;
  }
  for (let c = node.firstChild; c !== null; c = c.nextSibling) p = Math.max(p, c.to);
  while (p < node.to && isGoSpace(text[p] as string)) p++;
  const token = text.slice(p, node.to);
  return { sign, value: numberToken(token, text, p) };
}

/** The value in seconds of an unsigned number-or-duration token, as `number_duration_literal`. */
export function numberToken(token: string, text: string, at: number): number {
  const lower = token.toLowerCase();
  if (lower === 'inf') return Infinity;
  if (lower === 'nan') return NaN;
  if (goNumberTokenLength(text, at) === token.length) {
    const v = parseGoNumber(token);
    if (v === undefined) throw new QueryRefusedError('invalid', `error parsing number: ${JSON.stringify(token)}`);
    return v;
  }
  const d = parsePromDuration(token);
  if ('error' in d) throw new QueryRefusedError('syntax', `bad number or duration syntax: ${JSON.stringify(token)} (${d.error})`);
  return d.ms / 1000;
}

/** Evaluates a constant expression (see `isConstantExpression`) to a float64. */
export function evaluateConstant(node: SyntaxNode, text: string): number {
  switch (node.name) {
    case 'NumberDurationLiteral': {
      const { sign, value } = readNumberLiteral(node, text);
      return sign === -1 ? -value : value;
    }
    case 'ParenExpr': {
      const [inner] = children(node);
      return evaluateConstant(inner as SyntaxNode, text);
    }
    case 'UnaryExpr': {
      const [op, inner] = children(node);
      const v = evaluateConstant(inner as SyntaxNode, text);
      return text.slice((op as SyntaxNode).from, (op as SyntaxNode).to) === '-' ? -v : v;
    }
    case 'BinaryExpr':
      return evaluateBinary(node, text);
    default:
      throw new QueryRefusedError('not-a-selector', PLAIN_SELECTORS_ONLY);
  }
}

function evaluateBinary(node: SyntaxNode, text: string): number {
  const parts = children(node);
  const lhs = parts[0] as SyntaxNode;
  const rhs = parts[parts.length - 1] as SyntaxNode;
  const op = parts[1] as SyntaxNode;
  const modifiers = parts.slice(2, -1).map((p) => p.name);
  const opText = text.slice(op.from, op.to).toLowerCase();
  if (SET_OPS.has(op.name)) throw new QueryRefusedError('invalid', `set operator "${opText}" not allowed in binary scalar expression`);
  if (op.name === 'TrimUpper' || op.name === 'TrimLower') throw new QueryRefusedError('not-a-selector', PLAIN_SELECTORS_ONLY);
  if (modifiers.includes('MatchingModifierClause') || modifiers.includes('FillModifier')) {
    throw new QueryRefusedError('invalid', 'vector matching only allowed between instant vectors');
  }
  const isBool = modifiers.includes('BoolModifier');
  if (isBool && !COMPARISON.has(op.name)) throw new QueryRefusedError('invalid', 'bool modifier can only be used on comparison operators');
  if (COMPARISON.has(op.name) && !isBool) throw new QueryRefusedError('invalid', 'comparisons between scalars must use BOOL modifier');

  if (op.name === 'Pow' && lhs.name === 'NumberDurationLiteral') {
    const literal = readNumberLiteral(lhs, text);
    if (literal.sign !== 0) {
      const power = goPow(literal.value, evaluateConstant(rhs, text));
      return literal.sign === -1 ? -power : power;
    }
  }
  const a = evaluateConstant(lhs, text);
  const b = evaluateConstant(rhs, text);
  switch (op.name) {
    case 'Add': return a + b;
    case 'Sub': return a - b;
    case 'Mul': return a * b;
    case 'Div': return a / b;
    case 'Mod': return a % b; // Go math.Mod: same special cases as IEEE fmod
    case 'Pow': return goPow(a, b);
    case 'Atan2': return Math.atan2(a, b);
    case 'Eql': return a === b ? 1 : 0;
    case 'Neq': return a !== b ? 1 : 0;
    case 'Gtr': return a > b ? 1 : 0;
    case 'Gte': return a >= b ? 1 : 0;
    case 'Lss': return a < b ? 1 : 0;
    case 'Lte': return a <= b ? 1 : 0;
    default: throw new QueryRefusedError('not-a-selector', PLAIN_SELECTORS_ONLY);
  }
}

/** Go `math.Pow`: like `**` except Pow(1, y) = 1 and Pow(-1, ±Inf) = 1 for every y. */
export function goPow(x: number, y: number): number {
  if (y === 0) return 1;
  if (x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

/** Prints a constant so it re-parses to the same float64 (`NaN`, `+Inf`, `-Inf`, `-0`). */
export function formatConstant(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}
