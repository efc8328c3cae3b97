/**
 * PromQL literals exactly as the Prometheus Go parser reads them.
 *
 * The lezer grammar (`@prometheus-io/lezer-promql`) gives the structure of a query; the
 * *value* of a string, number or duration token is decided here, following the Go code that
 * Prometheus runs, so probectl never reads a token differently from Prometheus:
 *
 * - strings: `util/strutil/quote.go` (`Unquote`, Go's `strconv.Unquote` that also accepts
 *   single quotes) and the escape checks of `promql/parser/lex.go` (`lexEscape`, `lexString`);
 * - numbers: `promql/parser/lex.go` (`scanNumber`) and `parse.go` (`number`: Go
 *   `strconv.ParseInt(s, 0, 64)`, then `strconv.ParseFloat`);
 * - durations: `model.ParseDuration` of github.com/prometheus/common (`model/time.go`),
 *   printed back with `model.Duration.String()`.
 *
 * Everything is pure and total: a malformed token yields `undefined` (or an error message),
 * never an exception.
 */

// ignoreBOM: a leading U+FEFF is part of the value (Go keeps it), never a byte order mark to strip.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const ENCODER = new TextEncoder();

/** Go's `isSpace` in promql/parser/lex.go: the only characters PromQL skips between tokens. */
export function isGoSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  return -1;
}

function pushRune(out: number[], rune: number): void {
  for (const b of ENCODER.encode(String.fromCodePoint(rune))) out.push(b);
}

/**
 * Unquotes a PromQL string token (`"…"`, `'…'` or `` `…` ``) to its value, or returns an
 * error message. Byte escapes (`\xNN`, octal) are assembled as bytes and the result must be
 * valid UTF-8 (Prometheus would accept a non-UTF-8 label value; probectl refuses it, since its
 * series only ever carry UTF-8). A literal U+FFFD inside quotes is refused, as Go's lexer
 * refuses `utf8.RuneError`; so are surrogate escapes (`lexEscape`).
 */
export function unquotePromString(token: string): { value: string } | { error: string } {
  const bad = { error: `error unquoting string ${goQuote(token)}: invalid syntax` };
  if (token.length < 2) return bad;
  const quote = token[0];
  if (quote !== token[token.length - 1]) return bad;
  const body = token.slice(1, -1);
  if (body.includes('\uFFFD')) return { error: 'invalid UTF-8 rune' };
  if (quote === '`') return body.includes('`') ? bad : checkWellFormed(body);
  if (quote !== '"' && quote !== "'") return bad;
  if (body.includes('\n')) return bad;
  const bytes: number[] = [];
  let i = 0;
  while (i < body.length) {
    const ch = body[i] as string;
    if (ch === quote) return bad;
    if (ch !== '\\') {
      const cp = body.codePointAt(i) as number;
      if (cp >= 0xd800 && cp <= 0xdfff) return { error: 'invalid UTF-8 rune' };
      pushRune(bytes, cp);
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const c = body[i + 1];
    if (c === undefined) return bad;
    i += 2;
    switch (c) {
      case 'a': bytes.push(7); break;
      case 'b': bytes.push(8); break;
      case 'f': bytes.push(12); break;
      case 'n': bytes.push(10); break;
      case 'r': bytes.push(13); break;
      case 't': bytes.push(9); break;
      case 'v': bytes.push(11); break;
      case '\\': bytes.push(0x5c); break;
      case '"': case "'":
        if (c !== quote) return bad;
        bytes.push(c.charCodeAt(0));
        break;
      case 'x': case 'u': case 'U': {
        const n = c === 'x' ? 2 : c === 'u' ? 4 : 8;
        if (i + n > body.length) return bad;
        let v = 0;
        for (let j = 0; j < n; j++) {
          const d = hexValue(body.charCodeAt(i + j));
          if (d < 0) return bad;
          v = v * 16 + d;
        }
        i += n;
        if (c === 'x') { bytes.push(v); break; }
        if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) return { error: 'escape sequence is an invalid Unicode code point' };
        pushRune(bytes, v);
        break;
      }
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
        let v = c.charCodeAt(0) - 0x30;
        for (let j = 0; j < 2; j++) {
          const d = body.charCodeAt(i + j) - 0x30;
          if (!(d >= 0 && d <= 7)) return bad;
          v = v * 8 + d;
        }
        i += 2;
        if (v > 255) return bad;
        bytes.push(v);
        break;
      }
      default:
        return { error: `unknown escape sequence ${goRuneName(c)}` };
    }
  }
  try {
    return { value: UTF8.decode(Uint8Array.from(bytes)) };
  } catch {
    return { error: 'string literal is not valid UTF-8 after unescaping' };
  }
}

function checkWellFormed(s: string): { value: string } | { error: string } {
  return s.isWellFormed() ? { value: s } : { error: 'invalid UTF-8 rune' };
}

function goRuneName(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${ch}'`;
}

/**
 * Quotes a string the way probectl prints PromQL: double quotes, with `\\`, `\"`, `\n`, `\r`,
 * `\t`, other control characters as `\xNN`, and U+FFFD / U+2028 / U+2029 as `\uNNNN`. The
 * result is read back to the same value by Go's `strconv.Unquote`, Prometheus's lexer and the
 * lezer grammar. `s` must be well-formed UTF-16 (no lone surrogates).
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp === 0xfffd || cp === 0x2028 || cp === 0x2029) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return `${out}"`;
}

const DIGITS = '0123456789';
const HEX_DIGITS = '0123456789abcdefABCDEF';

/**
 * Length of the number token Go's `scanNumber` (promql/parser/lex.go) reads at `start`, or -1
 * when Go's lexer would not produce a NUMBER there. Used to refuse a token the lezer grammar
 * cuts differently from Prometheus (for example `0x1e+5`, one bad token for Go, `0x1e + 5` for
 * lezer).
 */
export function goNumberTokenLength(text: string, start: number): number {
  let pos = start;
  const is = (set: string): boolean => pos < text.length && set.includes(text[pos] as string);
  const accept = (set: string): boolean => {
    if (is(set)) { pos++; return true; }
    return false;
  };
  let digits = DIGITS;
  if (text[pos] === '0' && (text[pos + 1] === 'x' || text[pos + 1] === 'X')) {
    pos += 2;
    accept('_');
    digits = HEX_DIGITS;
  }
  accept('.');
  accept(digits);
  let dot = false;
  let exp = false;
  while (is(`${digits}._eE`)) {
    if (is('.')) {
      if (dot) return -1;
      pos++;
      dot = true;
      if (accept('_.')) return -1;
      if (digits.length > 10) return -1;
      continue;
    }
    if (is('eE')) {
      if (exp) return -1;
      pos++;
      exp = true;
      accept('+-');
      if (accept('._eE') || pos >= text.length) return -1;
      continue;
    }
    if (accept('_')) {
      if (accept('._eE') || pos >= text.length) return -1;
      continue;
    }
    while (accept(digits)) { /* acceptRun */ }
  }
  if (pos === start) return -1;
  const next = text[pos];
  if (next !== undefined && (next === '_' || /* isAlphaNumeric */ (next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') || (next >= '0' && next <= '9'))) return -1;
  return pos - start;
}

function underscoresOk(s: string, hex: boolean): boolean {
  // Go's strconv underscoreOK: an underscore only between digits (or after a base prefix).
  let saw = '^';
  let i = 0;
  if (hex) { i = 2; saw = '0'; }
  for (; i < s.length; i++) {
    const c = s[i] as string;
    const isDigit = (c >= '0' && c <= '9') || (hex && HEX_DIGITS.includes(c));
    if (isDigit) { saw = '0'; continue; }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/**
 * The value of a PromQL NUMBER token as Prometheus computes it (`parser.number`): Go
 * `strconv.ParseInt(s, 0, 64)` (so `010` is octal 8, `0x1F` is 31, `1_000` is 1000), else
 * `strconv.ParseFloat(s, 64)` (decimal floats, `Inf`, `NaN`, any case). `undefined` when Go
 * would report "error parsing number".
 */
export function parseGoNumber(token: string): number | undefined {
  const lower = token.toLowerCase();
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity' || lower === '+infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  if (lower === 'nan') return NaN;
  let sign = 1;
  let body = token;
  if (body[0] === '+' || body[0] === '-') {
    if (body[0] === '-') sign = -1;
    body = body.slice(1);
  }
  if (body === '') return undefined;
  const hex = body.length > 2 && body[0] === '0' && (body[1] === 'x' || body[1] === 'X');
  if (!underscoresOk(body, hex)) return undefined;
  const asInt = parseGoInt(body, hex);
  if (asInt !== undefined) return sign * asInt;
  if (hex) return undefined; // Go's ParseFloat wants a p exponent in a hex float
  return parseDecimalFloat(body.replaceAll('_', ''), sign);
}

/** Go `strconv.ParseInt(s, 0, 64)` without the sign: hex `0x`, octal leading `0`, else decimal. */
function parseGoInt(body: string, hex: boolean): number | undefined {
  let digits: string;
  let prefix: string;
  let valid: string;
  if (hex) { digits = body.slice(2); prefix = '0x'; valid = HEX_DIGITS; }
  else if (body.length > 1 && body[0] === '0') { digits = body.slice(1); prefix = '0o'; valid = '01234567'; }
  else { digits = body; prefix = ''; valid = DIGITS; }
  digits = digits.replaceAll('_', '');
  if (digits === '' || ![...digits].every((c) => valid.includes(c))) return undefined;
  const v = BigInt(`${prefix}${digits}`);
  return v > 0x7fffffffffffffffn ? undefined : Number(v);
}

/**
 * Go `strconv.ParseFloat(s, 64)` for decimal input: optional sign, digits with `_` separators,
 * fraction, exponent, and `inf` / `infinity` / `nan` in any case. Hex floats are not accepted.
 * `undefined` where Go returns an error (including out-of-range values).
 */
export function parseGoFloat(s: string): number | undefined {
  const lower = s.toLowerCase();
  const unsigned = lower[0] === '+' || lower[0] === '-' ? lower.slice(1) : lower;
  const sign = lower[0] === '-' ? -1 : 1;
  if (unsigned === 'inf' || unsigned === 'infinity') return sign * Infinity;
  if (unsigned === 'nan') return NaN;
  if (unsigned === '' || !underscoresOk(unsigned, false)) return undefined;
  return parseDecimalFloat(unsigned.replaceAll('_', ''), sign);
}

function parseDecimalFloat(s: string, sign: number): number | undefined {
  // ParseFloat grammar for decimal: digits [. digits] [e[+-]digits] | . digits [...]
  let i = 0;
  let mantissaDigits = 0;
  while (i < s.length && DIGITS.includes(s[i] as string)) { i++; mantissaDigits++; }
  if (s[i] === '.') {
    i++;
    while (i < s.length && DIGITS.includes(s[i] as string)) { i++; mantissaDigits++; }
  }
  if (mantissaDigits === 0) return undefined;
  if (s[i] === 'e' || s[i] === 'E') {
    i++;
    if (s[i] === '+' || s[i] === '-') i++;
    let expDigits = 0;
    while (i < s.length && DIGITS.includes(s[i] as string)) { i++; expDigits++; }
    if (expDigits === 0) return undefined;
  }
  if (i !== s.length) return undefined;
  const v = Number(s);
  if (!Number.isFinite(v)) return undefined; // Go: "value out of range"
  return sign * v;
}

const DURATION_UNITS: ReadonlyArray<readonly [string, number]> = [
  ['y', 365 * 24 * 3_600_000],
  ['w', 7 * 24 * 3_600_000],
  ['d', 24 * 3_600_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];
/** time.Duration's limit, 2^63-1 ns, in milliseconds. */
const MAX_DURATION_MS = 9_223_372_036_854;

/**
 * Parses a Prometheus duration (`model.ParseDuration`): `0`, or one or more `<digits><unit>`
 * with units y, w, d, h, m, s, ms in that order, each at most once. Returns milliseconds, or an
 * error message worded as Prometheus words it.
 */
export function parsePromDuration(s: string): { ms: number } | { error: string } {
  if (s === '0') return { ms: 0 };
  if (s === '') return { error: 'empty duration string' };
  const invalid = { error: `not a valid duration string: ${goQuote(s)}` };
  let rest = s;
  let total = 0n;
  let lastUnit = -1;
  while (rest !== '') {
    let i = 0;
    while (i < rest.length && DIGITS.includes(rest[i] as string)) i++;
    if (i === 0) return invalid;
    const value = BigInt(rest.slice(0, i));
    rest = rest.slice(i);
    let j = 0;
    while (j < rest.length && !DIGITS.includes(rest[j] as string)) j++;
    if (j === 0) return invalid;
    const unit = rest.slice(0, j);
    rest = rest.slice(j);
    const index = DURATION_UNITS.findIndex(([u]) => u === unit);
    if (index < 0) return { error: `unknown unit ${goQuote(unit)} in duration ${goQuote(s)}` };
    if (index <= lastUnit) return invalid;
    lastUnit = index;
    total += value * BigInt((DURATION_UNITS[index] as readonly [string, number])[1]);
    if (total > BigInt(MAX_DURATION_MS)) return { error: 'duration out of range' };
  }
  return { ms: Number(total) };
}

/**
 * Prints milliseconds as Prometheus prints a duration (`model.Duration.String()`): years and
 * weeks only when exact, then d, h, m, s, ms; `0s` for zero; a leading `-` when negative.
 */
export function formatPromDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.abs(ms);
  let out = ms < 0 ? '-' : '';
  for (const [unit, size] of DURATION_UNITS) {
    if ((unit === 'y' || unit === 'w') && rest % size !== 0) continue;
    const v = Math.floor(rest / size);
    if (v > 0) {
      out += `${v}${unit}`;
      rest -= v * size;
    }
  }
  return out;
}

/** Go's `math.Round`: half away from zero. */
export function goRound(x: number): number {
  if (!Number.isFinite(x)) return x;
  return x < 0 ? -Math.round(-x) : Math.round(x);
}
