/**
 * Label-matcher regular expressions as Prometheus reads them: RE2 syntax (Go `regexp/syntax`
 * with `Perl|DotNL` flags), fully anchored — `model/labels/regexp.go` compiles
 * `^(?s:<re>)$`.
 *
 * probectl needs two answers from a matcher's regex, both without running a backtracking
 * engine on user input:
 *
 * - is it valid RE2? (`labels.NewMatcher` fails otherwise and Prometheus answers
 *   `bad_data`), with Go's error wording (`regexp/syntax/parse.go`: "missing closing )",
 *   "invalid nested repetition operator", "invalid repeat count", …);
 * - does it match the empty string? (`Matcher.Matches("")`, which decides "vector selector
 *   must contain at least one non-empty matcher" in `promql/parser/parse.go`).
 *
 * The parser below builds only what those answers need: nullability is computed structurally
 * (a literal or class consumes a character; `*`, `?`, `{0,…}` may match nothing; on the empty
 * string every assertion holds except `\b`). Nesting and repeat counts are bounded as in Go
 * (depth 1000, repeat ≤ 1000 and nested repeats multiplying to ≤ 1000), and the expanded size
 * far below Go's (MAX_REGEX_SIZE).
 */

export interface RegexInfo {
  /** True when `^(?s:re)$` matches "" (the matcher is an "empty" matcher). */
  readonly matchesEmpty: boolean;
}

export type RegexCheck = { readonly ok: true; readonly info: RegexInfo } | { readonly ok: false; readonly error: string };

interface Node {
  readonly nullable: boolean;
  /** Instructions the compiled program needs, estimated as Go's regexp/syntax checkSize does (counted repeats expanded). */
  readonly size: number;
  /** For repeat-count validation: the largest repeat max inside (Go's repeatIsValid). */
  readonly reps: readonly Node[];
  readonly max?: number;
}

class RegexSyntaxError extends Error {}

function fail(code: string, expr: string): never {
  throw new RegexSyntaxError(`error parsing regexp: ${code}: \`${expr}\``);
}

const POSIX = new Set(['alnum', 'alpha', 'ascii', 'blank', 'cntrl', 'digit', 'graph', 'lower', 'print', 'punct', 'space', 'upper', 'word', 'xdigit']);
const PERL_CLASSES = new Set(['d', 'D', 's', 'S', 'w', 'W']);
const MAX_DEPTH = 1000;
const unicodeNameCache = new Map<string, boolean>();

function isAlnum(c: string): boolean {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

function unicodeNameKnown(raw: string): boolean {
  const name = raw.startsWith('^') ? raw.slice(1) : raw;
  const cached = unicodeNameCache.get(name);
  if (cached !== undefined) return cached;
  const lower = name.toLowerCase();
  let known = lower === 'any' || lower === 'assigned' || lower === 'ascii' || lower === 'lc';
  if (!known && name !== '' && /* only name characters */ [...name].every((c) => isAlnum(c) || c === '_')) {
    for (const candidate of [name, name[0]?.toUpperCase() + name.slice(1)]) {
      for (const form of [`\\p{General_Category=${candidate}}`, `\\p{Script=${candidate}}`]) {
        try {
          new RegExp(form, 'u');
          known = true;
        } catch {
          // not a name JavaScript knows under this form
        }
      }
    }
  }
  if (unicodeNameCache.size < 512) unicodeNameCache.set(name, known);
  return known;
}

class Parser {
  readonly src: string;
  pos = 0;
  depth = 0;

  constructor(src: string) {
    this.src = src;
  }

  peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  /** Reads one code point (surrogate pairs together). */
  nextRune(): string {
    const cp = this.src.codePointAt(this.pos);
    if (cp === undefined) fail('missing argument', '');
    const ch = String.fromCodePoint(cp);
    this.pos += ch.length;
    return ch;
  }

  parseAlternation(flags: { m: boolean }): Node {
    this.depth++;
    if (this.depth > MAX_DEPTH) fail('expression nests too deeply', this.src);
    const branches: Node[] = [this.parseConcat(flags)];
    while (this.peek() === '|') {
      this.pos++;
      branches.push(this.parseConcat(flags));
    }
    this.depth--;
    return { nullable: branches.some((b) => b.nullable), reps: branches, size: sizeOf(branches) + branches.length - 1 };
  }

  parseConcat(flags: { m: boolean }): Node {
    const items: Node[] = [];
    let lastWasRepeat = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') break;
      const start = this.pos;
      if (c === '*' || c === '+' || c === '?' || (c === '{' && this.repeatAt(this.pos) !== undefined)) {
        const q = this.parseQuantifier();
        if (q === undefined) break;
        const text = this.src.slice(start, this.pos);
        if (lastWasRepeat !== '') fail('invalid nested repetition operator', lastWasRepeat + text);
        const sub = items.pop();
        if (sub === undefined) fail('missing argument to repetition operator', text);
        if (q.min > 1000 || q.max > 1000 || (q.max >= 0 && q.min > q.max)) fail('invalid repeat count', text.replace(/\?$/, ''));
        const copies = q.isCount ? Math.max(1, q.max < 0 ? q.min + 1 : q.max) : 1;
        const node: Node = { nullable: q.min === 0 || sub.nullable, reps: [sub], max: q.isCount ? (q.max < 0 ? q.min : q.max) : undefined, size: sub.size * copies + copies };
        if (q.isCount && (q.min >= 2 || q.max >= 2) && !repeatIsValid(node, 1000)) fail('invalid repeat count', text.replace(/\?$/, ''));
        items.push(node);
        lastWasRepeat = text;
        continue;
      }
      lastWasRepeat = '';
      const atom = this.parseAtom(flags);
      if (atom !== undefined) items.push(atom);
    }
    return { nullable: items.every((i) => i.nullable), reps: items, size: sizeOf(items) };
  }

  /** `{n}`, `{n,}`, `{n,m}` at `at` (Go parseRepeat), or undefined when `{` is a literal. */
  repeatAt(at: number): { min: number; max: number; end: number } | undefined {
    let p = at + 1;
    const int = (): number | undefined => {
      const s = p;
      if (!(this.src[p] !== undefined && (this.src[p] as string) >= '0' && (this.src[p] as string) <= '9')) return undefined;
      if (this.src[p] === '0' && this.src[p + 1] !== undefined && (this.src[p + 1] as string) >= '0' && (this.src[p + 1] as string) <= '9') return undefined;
      while (this.src[p] !== undefined && (this.src[p] as string) >= '0' && (this.src[p] as string) <= '9') p++;
      const digits = this.src.slice(s, p);
      return digits.length > 8 ? 1e9 : Number(digits);
    };
    const min = int();
    if (min === undefined || p >= this.src.length) return undefined;
    let max = min;
    if (this.src[p] === ',') {
      p++;
      if (p >= this.src.length) return undefined;
      if (this.src[p] === '}') max = -1;
      else {
        const m = int();
        if (m === undefined) return undefined;
        max = m;
      }
    }
    if (this.src[p] !== '}') return undefined;
    return { min, max, end: p + 1 };
  }

  parseQuantifier(): { min: number; max: number; isCount: boolean } | undefined {
    const c = this.peek();
    let result: { min: number; max: number; isCount: boolean };
    if (c === '{') {
      const r = this.repeatAt(this.pos);
      if (r === undefined) return undefined;
      this.pos = r.end;
      result = { min: r.min, max: r.max, isCount: true };
    } else {
      this.pos++;
      result = c === '+' ? { min: 1, max: -1, isCount: false } : { min: 0, max: c === '?' ? 1 : -1, isCount: false };
    }
    if (this.peek() === '?') this.pos++;
    return result;
  }

  parseAtom(flags: { m: boolean }): Node | undefined {
    const start = this.pos;
    const c = this.nextRune();
    const char: Node = { nullable: false, reps: [], size: 1 };
    const assertion: Node = { nullable: true, reps: [], size: 1 };
    switch (c) {
      case '(':
        return this.parseGroup(start, flags);
      case '^': case '$':
        return assertion;
      case '.':
        return char;
      case '[':
        this.pos = start;
        this.parseClass();
        return char;
      case '\\':
        return this.parseBackslash(start);
      default:
        return char;
    }
  }

  parseGroup(start: number, flags: { m: boolean }): Node | undefined {
    if (this.peek() === '?') {
      const rest = this.src.slice(this.pos + 1);
      if (rest.startsWith('P<') || rest.startsWith('<')) {
        const open = this.pos + (rest.startsWith('P<') ? 3 : 2);
        const end = this.src.indexOf('>', open);
        if (end < 0) fail('invalid named capture', this.src.slice(start));
        const name = this.src.slice(open, end);
        if (name === '' || ![...name].every((ch) => isAlnum(ch) || ch === '_')) fail('invalid named capture', this.src.slice(start, end + 1));
        this.pos = end + 1;
        return this.finishGroup(start, { ...flags });
      }
      // Flags: (?i) (?-s) (?i:…)
      this.pos++;
      let negated = false;
      let sawFlag = false;
      const next = { ...flags };
      for (;;) {
        const f = this.peek();
        if (f === undefined) fail('missing closing )', this.src);
        this.pos++;
        if (f === 'i' || f === 's' || f === 'U' || f === 'm') {
          if (f === 'm') next.m = !negated;
          sawFlag = true;
          continue;
        }
        if (f === '-' && !negated) {
          negated = true;
          sawFlag = false;
          continue;
        }
        if ((f === ':' || f === ')') && !(negated && !sawFlag)) {
          if (f === ')') {
            flags.m = next.m;
            return undefined;
          }
          return this.finishGroup(start, next);
        }
        fail('invalid or unsupported Perl syntax', this.src.slice(start, this.pos));
      }
    }
    return this.finishGroup(start, { ...flags });
  }

  finishGroup(start: number, flags: { m: boolean }): Node {
    const inner = this.parseAlternation(flags);
    if (this.peek() !== ')') fail('missing closing )', this.src);
    this.pos++;
    void start;
    return { nullable: inner.nullable, reps: [inner], size: inner.size + 2 };
  }

  parseBackslash(start: number): Node {
    const c = this.peek();
    if (c === undefined) fail('trailing backslash at end of expression', '');
    switch (c) {
      case 'A': case 'z': case 'B':
        this.pos++;
        return { nullable: true, reps: [], size: 1 };
      case 'b':
        this.pos++;
        return { nullable: false, reps: [], size: 1 }; // \b never holds on the empty string
      case 'C':
        fail('invalid escape sequence', '\\C');
      case 'Q': {
        const end = this.src.indexOf('\\E', this.pos + 1);
        const literal = end < 0 ? this.src.slice(this.pos + 1) : this.src.slice(this.pos + 1, end);
        this.pos = end < 0 ? this.src.length : end + 2;
        return { nullable: literal.length === 0, reps: [], size: Math.max(1, literal.length) };
      }
      case 'p': case 'P':
        this.pos = start;
        this.parseUnicodeClass();
        return { nullable: false, reps: [], size: 1 };
      default:
        if (PERL_CLASSES.has(c)) {
          this.pos++;
          return { nullable: false, reps: [], size: 1 };
        }
        this.pos = start;
        this.parseEscape();
        return { nullable: false, reps: [], size: 1 };
    }
  }

  /** Go parseEscape: one escaped character; returns its code point. */
  parseEscape(): number {
    const start = this.pos;
    this.pos++; // the backslash
    if (this.pos >= this.src.length) fail('trailing backslash at end of expression', '');
    const c = this.nextRune();
    const bad = (): never => fail('invalid escape sequence', this.src.slice(start, this.pos));
    const isOct = (ch: string | undefined): boolean => ch !== undefined && ch >= '0' && ch <= '7';
    if (c >= '1' && c <= '7' && !isOct(this.peek())) bad();
    if (c >= '0' && c <= '7') {
      let r = c.charCodeAt(0) - 48;
      for (let i = 1; i < 3 && isOct(this.peek()); i++) r = r * 8 + (this.nextRune().charCodeAt(0) - 48);
      return r;
    }
    if (c === 'x') {
      if (this.pos >= this.src.length) bad();
      const d = this.nextRune();
      if (d === '{') {
        let r = 0;
        let n = 0;
        for (;;) {
          if (this.pos >= this.src.length) bad();
          const h = this.nextRune();
          if (h === '}') break;
          const v = hexDigit(h);
          if (v < 0) bad();
          r = r * 16 + v;
          if (r > 0x10ffff) bad();
          n++;
        }
        if (n === 0) bad();
        return r;
      }
      if (this.pos >= this.src.length) bad();
      const e = this.nextRune();
      const x = hexDigit(d);
      const y = hexDigit(e);
      if (x < 0 || y < 0) bad();
      return x * 16 + y;
    }
    const simple: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (simple[c] !== undefined) return simple[c] as number;
    if (c.length === 1 && c.charCodeAt(0) < 0x80 && !isAlnum(c)) return c.charCodeAt(0);
    return bad();
  }

  parseUnicodeClass(): void {
    const start = this.pos;
    this.pos += 2; // \p or \P
    if (this.pos >= this.src.length) fail('invalid character class range', this.src.slice(start));
    let name: string;
    if (this.peek() === '{') {
      const end = this.src.indexOf('}', this.pos);
      if (end < 0) fail('invalid character class range', this.src.slice(start));
      name = this.src.slice(this.pos + 1, end);
      this.pos = end + 1;
    } else {
      name = this.nextRune();
    }
    if (!unicodeNameKnown(name)) fail('invalid character class range', this.src.slice(start, this.pos));
  }

  parseClass(): void {
    const start = this.pos;
    this.pos++; // [
    if (this.peek() === '^') this.pos++;
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) fail('missing closing ]', this.src.slice(start));
      if (c === ']' && !first) break;
      first = false;
      if (c === '[' && this.peek(1) === ':') {
        const end = this.src.indexOf(':]', this.pos + 2);
        if (end >= 0) {
          const raw = this.src.slice(this.pos + 2, end);
          const name = raw.startsWith('^') ? raw.slice(1) : raw;
          if (!POSIX.has(name)) fail('invalid character class range', this.src.slice(this.pos, end + 2));
          this.pos = end + 2;
          continue;
        }
      }
      if (c === '\\' && (this.peek(1) === 'p' || this.peek(1) === 'P')) {
        this.parseUnicodeClass();
        continue;
      }
      if (c === '\\' && PERL_CLASSES.has(this.peek(1) ?? '')) {
        this.pos += 2;
        continue;
      }
      const rangeStart = this.pos;
      const lo = this.classChar(start);
      if (this.peek() === '-' && this.peek(1) !== undefined && this.peek(1) !== ']') {
        this.pos++;
        const hi = this.classChar(start);
        if (hi < lo) fail('invalid character class range', this.src.slice(rangeStart, this.pos));
      }
    }
    this.pos++; // ]
  }

  classChar(classStart: number): number {
    if (this.pos >= this.src.length) fail('missing closing ]', this.src.slice(classStart));
    if (this.peek() === '\\') return this.parseEscape();
    return this.nextRune().codePointAt(0) as number;
  }
}

function hexDigit(ch: string): number {
  if (ch >= '0' && ch <= '9') return ch.charCodeAt(0) - 48;
  if (ch >= 'a' && ch <= 'f') return ch.charCodeAt(0) - 87;
  if (ch >= 'A' && ch <= 'F') return ch.charCodeAt(0) - 55;
  return -1;
}

function sizeOf(nodes: readonly Node[]): number {
  let n = 0;
  for (const x of nodes) n += x.size;
  return n;
}

/**
 * Largest expanded regular expression accepted, in program instructions. Go's regexp/syntax
 * allows about 3.3 million (`expression too large` beyond); probectl compiles and runs the
 * pattern on its event loop against every value of the label, so it accepts far less — still
 * more than the longest query (16,384 characters) can spell without counted repeats, so only
 * heavy repeat expansion is refused: `(a{10}){100}` repeated a thousand times took a second
 * and 360 MB to compile and 140 ms per 4 kB label value to run.
 */
export const MAX_REGEX_SIZE = 20_000;

/** Go regexp/syntax repeatIsValid: nested repeat counts may multiply to at most n. */
function repeatIsValid(node: Node, n: number): boolean {
  let budget = n;
  if (node.max !== undefined) {
    const m = node.max;
    if (m === 0) return true;
    if (m > budget) return false;
    if (m > 0) budget = Math.floor(budget / m);
  }
  return node.reps.every((sub) => repeatIsValid(sub, budget));
}

/**
 * Checks a label-matcher regex (`=~` / `!~` value) as Prometheus does, and reports whether it
 * matches the empty string. Never throws; `error` is worded like Go's regexp/syntax errors.
 */
export function checkPromRegex(source: string): RegexCheck {
  if (!source.isWellFormed()) return { ok: false, error: 'error parsing regexp: invalid UTF-8' };
  const parser = new Parser(source);
  try {
    const root = parser.parseAlternation({ m: false });
    if (parser.pos < source.length) {
      // Only a ')' can stop the top-level alternation early.
      return { ok: false, error: `error parsing regexp: unexpected ): \`${source}\`` };
    }
    if (root.size > MAX_REGEX_SIZE) {
      return { ok: false, error: `error parsing regexp: expression too large: probectl accepts regular expressions of up to ${MAX_REGEX_SIZE} instructions once counted repeats are expanded` };
    }
    return { ok: true, info: { matchesEmpty: root.nullable } };
  } catch (err) {
    if (err instanceof RegexSyntaxError) return { ok: false, error: err.message };
    if (err instanceof RangeError) return { ok: false, error: `error parsing regexp: expression nests too deeply: \`${source}\`` };
    throw err;
  }
}
