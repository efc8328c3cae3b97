import type { SyntaxNode, Tree } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import { isGoSpace } from './literals.ts';
import { QueryRefusedError } from './types.ts';

/**
 * Parses PromQL with the Prometheus project's lezer grammar and refuses anything the grammar
 * only accepted by error recovery, or accepted where Prometheus's Go lexer
 * (`promql/parser/lex.go`) would not:
 *
 * - any error node (lezer recovers from errors instead of failing) → `syntax`;
 * - between tokens, only Go's whitespace (space, tab, CR, LF), comments and the grammar's
 *   punctuation — lezer also skips Unicode spaces such as U+00A0, Go does not;
 * - a `#` comment containing CR (Go ends a comment at CR, lezer only at LF);
 * - nesting deeper than `maxDepth` nodes (bounded walk over untrusted input).
 */
export function parsePromQL(text: string, maxDepth: number): SyntaxNode {
  const tree: Tree = parser.parse(text);
  const cursor = tree.cursor();
  let depth = 0;
  let lastEnd = 0;
  const checkGap = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const ch = text[i] as string;
      if (isGoSpace(ch) || '(){}[],:'.includes(ch)) continue;
      throw new QueryRefusedError('syntax', `parse error at ${position(text, i)}: unexpected character ${JSON.stringify(ch)}`);
    }
  };
  for (;;) {
    const node = cursor.node;
    if (node.type.isError) {
      const fn = unknownFunction(node, text);
      if (fn !== undefined) throw new QueryRefusedError('syntax', `parse error at ${position(text, fn.from)}: ${fn.message}`);
      const what = node.from < text.length ? `unexpected ${JSON.stringify(text.slice(node.from, Math.min(node.to > node.from ? node.to : node.from + 1, node.from + 20)))}` : 'unexpected end of input';
      throw new QueryRefusedError('syntax', `parse error at ${position(text, node.from)}: ${what}`);
    }
    if (node.name === 'LineComment' && text.slice(node.from, node.to).includes('\r')) {
      throw new QueryRefusedError('syntax', `parse error at ${position(text, node.from)}: a comment may not contain a carriage return`);
    }
    if (cursor.firstChild()) {
      depth++;
      if (depth > maxDepth) throw new QueryRefusedError('too-long', `the query nests deeper than ${maxDepth} levels`);
      continue;
    }
    // A leaf: the text before it must be whitespace or punctuation.
    checkGap(lastEnd, node.from);
    lastEnd = Math.max(lastEnd, node.to);
    while (!cursor.nextSibling()) {
      if (!cursor.parent()) {
        checkGap(lastEnd, text.length);
        return tree.topNode;
      }
      depth--;
    }
  }
}

/** Functions of Prometheus 2 that Prometheus 3 (this grammar) knows by another name. */
const RENAMED_FUNCTIONS: Readonly<Record<string, string>> = { holt_winters: 'double_exponential_smoothing' };

/**
 * A name followed by `(` that the grammar does not know as a function parses as a metric name
 * and an error at the parenthesis: say so as Prometheus does (`unknown function with name "x"`),
 * not `unexpected "("`.
 */
function unknownFunction(error: SyntaxNode, text: string): { from: number; message: string } | undefined {
  const prev = error.prevSibling;
  if (text[error.from] !== '(' || prev?.name !== 'Identifier') return undefined;
  const name = text.slice(prev.from, prev.to);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || ![...text.slice(prev.to, error.from)].every(isGoSpace)) return undefined;
  const renamed = RENAMED_FUNCTIONS[name];
  const hint = renamed === undefined ? '' : ` (Prometheus 3 renamed it ${renamed})`;
  return { from: prev.from, message: `unknown function with name ${JSON.stringify(name)}${hint}` };
}

/** `line:column` (1-based, columns in UTF-16 units) as Prometheus prints positions. */
export function position(text: string, offset: number): string {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') { line++; col = 1; } else col++;
  }
  return `${line}:${col}`;
}

/** Named children of a node (lezer skips anonymous punctuation), comments excluded. */
export function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c !== null; c = c.nextSibling) {
    if (c.name !== 'LineComment') out.push(c);
  }
  return out;
}
