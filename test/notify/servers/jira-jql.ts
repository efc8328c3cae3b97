/**
 * A JQL subset for the Jira stand-in: enough to find issues the way probectl
 * looks them up, strict enough that a malformed query fails like Jira's.
 *
 * Followed (https://support.atlassian.com/jira-software-cloud/docs/jql-fields/,
 * …/jql-operators/, …/jql-keywords/ and "Restricted words and characters"):
 * clauses `field op value` with =, !=, ~, IN (…), NOT IN (…), IS [NOT] EMPTY,
 * combined with AND / OR / NOT and parentheses, then ORDER BY; values quoted
 * with "…" or '…'; an unquoted value may not contain a reserved character
 * (space + . , ; ? | * / % ^ $ # @ [ ]) — Jira answers "The character 'x' is a
 * reserved JQL character. You must enclose it in a string or use the escape
 * '\uXXXX' instead."; an unknown field answers "Field 'x' does not exist or
 * you do not have permission to view it."; functions are not modelled.
 * Fields: project, key/issuekey/id, labels, status, statusCategory,
 * issuetype/type, summary (~), resolution.
 */

export interface JqlIssue {
  id: string;
  key: string;
  project: { id: string; key: string; name: string };
  labels: readonly string[];
  status: { id: string; name: string; category: { id: number; key: string; name: string } };
  issuetype: string;
  summary: string;
  resolution: string | null;
}

export class JqlError extends Error {}

type Pred = (i: JqlIssue) => boolean;
type Tok = { kind: 'word' | 'string' | 'op' | 'punct'; text: string; at: number };

const RESERVED = new Set(['+', '.', ';', '?', '|', '*', '/', '%', '^', '$', '#', '@', '[', ']']);
const FIELDS = new Set(['project', 'key', 'issuekey', 'id', 'labels', 'status', 'statuscategory', 'issuetype', 'type', 'summary', 'resolution']);

function tokenize(q: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < q.length && q[j] !== c) {
        if (q[j] === '\\' && j + 1 < q.length) j++;
        s += q[j];
        j++;
      }
      if (j >= q.length) throw new JqlError(`Error in the JQL Query: The quoted string '${s}' has not been completed. (line 1, character ${i + 1})`);
      out.push({ kind: 'string', text: s, at: i });
      i = j + 1;
      continue;
    }
    const two = q.slice(i, i + 2);
    if (['!=', '!~', '>=', '<='].includes(two)) {
      out.push({ kind: 'op', text: two, at: i });
      i += 2;
      continue;
    }
    if ('=~<>'.includes(c)) {
      out.push({ kind: 'op', text: c, at: i });
      i++;
      continue;
    }
    if ('(),'.includes(c)) {
      out.push({ kind: 'punct', text: c, at: i });
      i++;
      continue;
    }
    let j = i;
    while (j < q.length && !/\s/.test(q[j] as string) && !'()=,!~<>"\''.includes(q[j] as string)) {
      if (RESERVED.has(q[j] as string)) {
        const ch = q[j] as string;
        throw new JqlError(`Error in the JQL Query: The character '${ch}' is a reserved JQL character. You must enclose it in a string or use the escape '\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}' instead. (line 1, character ${j + 1})`);
      }
      j++;
    }
    if (j === i) throw new JqlError(`Error in the JQL Query: The character '${c}' is a reserved JQL character. (line 1, character ${i + 1})`);
    out.push({ kind: 'word', text: q.slice(i, j), at: i });
    i = j;
  }
  return out;
}

/** Compiles a JQL query; `where` is undefined for a query with no restriction. Throws JqlError. */
export function compileJql(q: string): { where: Pred | undefined } {
  const toks = tokenize(q);
  let p = 0;
  const peek = (): Tok | undefined => toks[p];
  const isWord = (t: Tok | undefined, w: string) => t?.kind === 'word' && t.text.toUpperCase() === w;
  const fail = (what: string): never => {
    const t = peek();
    throw new JqlError(`Error in the JQL Query: Expecting ${what} but got ${t ? `'${t.text}'` : 'the end of the query'}. (line 1, character ${(t?.at ?? q.length) + 1})`);
  };
  const value = (): string => {
    const t = peek();
    if (!t || (t.kind !== 'word' && t.kind !== 'string')) return fail('either a value, list or function');
    p++;
    if (t.kind === 'word' && peek()?.text === '(') throw new JqlError(`Error in the JQL Query: Unable to find JQL function '${t.text}()'.`);
    return t.text;
  };
  const clause = (): Pred => {
    const f = peek();
    if (!f || (f.kind !== 'word' && f.kind !== 'string')) return fail('a field name');
    p++;
    const field = f.text.toLowerCase();
    if (!FIELDS.has(field)) throw new JqlError(`Field '${f.text}' does not exist or you do not have permission to view it.`);
    const t = peek();
    if (isWord(t, 'IS')) {
      p++;
      const not = isWord(peek(), 'NOT') ? (p++, true) : false;
      if (!isWord(peek(), 'EMPTY') && !isWord(peek(), 'NULL')) fail("'EMPTY' or 'NULL'");
      p++;
      const empty = (i: JqlIssue) => (field === 'labels' ? i.labels.length === 0 : field === 'resolution' ? i.resolution === null : false);
      return not ? (i) => !empty(i) : empty;
    }
    const notIn = isWord(t, 'NOT') && isWord(toks[p + 1], 'IN');
    if (isWord(t, 'IN') || notIn) {
      p += notIn ? 2 : 1;
      if (peek()?.text !== '(') fail("'('");
      p++;
      const values: string[] = [value()];
      while (peek()?.text === ',') {
        p++;
        values.push(value());
      }
      if (peek()?.text !== ')') fail("')'");
      p++;
      const any = (i: JqlIssue) => values.some((v) => matches(field, i, v));
      return notIn ? (i) => !any(i) : any;
    }
    if (t?.kind !== 'op') return fail('operator');
    p++;
    const v = value();
    switch (t.text) {
      case '=': return (i) => matches(field, i, v);
      case '!=': return (i) => (field === 'labels' ? i.labels.length > 0 : true) && !matches(field, i, v);
      case '~':
        if (field !== 'summary') throw new JqlError(`Error in the JQL Query: The operator '~' is not supported by the '${f.text}' field.`);
        return (i) => v.toLowerCase().split(/\s+/).filter((w) => w !== '').every((w) => i.summary.toLowerCase().includes(w));
      default:
        throw new JqlError(`Error in the JQL Query: The operator '${t.text}' is not supported by the '${f.text}' field.`);
    }
  };
  const unary = (): Pred => {
    if (isWord(peek(), 'NOT')) {
      p++;
      const inner = unary();
      return (i) => !inner(i);
    }
    if (peek()?.text === '(') {
      p++;
      const inner = or();
      if (peek()?.text !== ')') fail("')'");
      p++;
      return inner;
    }
    return clause();
  };
  const and = (): Pred => {
    const parts = [unary()];
    while (isWord(peek(), 'AND')) {
      p++;
      parts.push(unary());
    }
    return (i) => parts.every((x) => x(i));
  };
  const or = (): Pred => {
    const parts = [and()];
    while (isWord(peek(), 'OR')) {
      p++;
      parts.push(and());
    }
    return (i) => parts.some((x) => x(i));
  };
  let where: Pred | undefined;
  if (p < toks.length && !isWord(peek(), 'ORDER')) where = or();
  if (isWord(peek(), 'ORDER')) {
    p++;
    if (!isWord(peek(), 'BY')) fail("'BY'");
    p++;
    value();
    if (isWord(peek(), 'ASC') || isWord(peek(), 'DESC')) p++;
    while (peek()?.text === ',') {
      p++;
      value();
      if (isWord(peek(), 'ASC') || isWord(peek(), 'DESC')) p++;
    }
  }
  if (p < toks.length) fail("'AND', 'OR' or 'ORDER BY'");
  return { where };
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function matches(field: string, i: JqlIssue, v: string): boolean {
  switch (field) {
    case 'project': return same(i.project.key, v) || same(i.project.name, v) || i.project.id === v;
    case 'key': case 'issuekey': case 'id': return same(i.key, v) || i.id === v;
    case 'labels': return i.labels.some((l) => same(l, v));
    case 'status': return same(i.status.name, v) || i.status.id === v;
    case 'statuscategory': return same(i.status.category.name, v) || same(i.status.category.key, v) || String(i.status.category.id) === v;
    case 'issuetype': case 'type': return same(i.issuetype, v);
    case 'resolution': return same(v, 'unresolved') ? i.resolution === null : i.resolution !== null && same(i.resolution, v);
    default: return same(i.summary, v);
  }
}
