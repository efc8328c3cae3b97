import { ProbectlError } from './errors.ts';

/**
 * Untrusted JSON, parsed and bounded in one step (ARCHITECTURE.md convention 11).
 *
 * The parser is iterative (an explicit stack, never recursion), so no input can
 * overflow the call stack, and it refuses — naming the JSON path, e.g.
 * `$.attributes.a[3]` — everything that would otherwise fail deeper inside
 * probectl or be stored changed:
 *
 * - strings and keys containing NUL (U+0000) or a lone UTF-16 surrogate, however
 *   written (escaped like `\udfff`, or raw in a string given to parseJsonText);
 * - nesting deeper than `maxDepth`, objects with more than `maxObjectKeys`
 *   members, arrays with more than `maxArrayItems` items, documents with more
 *   than `maxValues` values (every scalar, object and array counts one);
 * - numbers that would not round-trip: the token's exact decimal value must
 *   equal the value of the shortest decimal form of the parsed double (so `0.1`
 *   passes, `1.00000000000000000001`, `1e400` and `1e-400` do not), and a number
 *   written as an integer must lie within ±(2^53−1);
 * - a `__proto__` key anywhere, and a `prototype` key inside a `constructor` object.
 *
 * On everything it accepts, the result equals `JSON.parse` of the same text
 * (plain objects with Object.prototype, last duplicate key wins).
 * Errors are JsonInputError: PROBECTL_ERR_BAD_JSON for text that is not JSON
 * (RFC 8259) or not UTF-8, PROBECTL_ERR_JSON_REFUSED for valid JSON refused by
 * the rules above; `path` names where. The first problem in reading order is
 * the one reported.
 */

export interface JsonLimits {
  /** Containers nested in one another; the top-level object or array is level 1. */
  maxDepth: number;
  /** Members of one object (duplicates counted). */
  maxObjectKeys: number;
  /** Items of one array. */
  maxArrayItems: number;
  /** Values in the whole document: every scalar, object and array. */
  maxValues: number;
}

/** The limits every API request body is held to (documented in docs/api.md). */
export const JSON_LIMITS: Readonly<JsonLimits> = Object.freeze({
  maxDepth: 32,
  maxObjectKeys: 1000,
  maxArrayItems: 10_000,
  maxValues: 100_000,
});

export interface JsonInputOptions {
  limits?: Partial<JsonLimits>;
  /**
   * Text probectl wrote or a peer sent, read by parseJson (json.ts) when
   * `JSON.parse` cannot be trusted with its keys: no limits and none of the
   * refusals, the result exactly `JSON.parse`'s (a `__proto__` key is an own member).
   */
  trusted?: boolean;
  /** How messages name the input, e.g. `request body`. Default `JSON input`. */
  subject?: string;
}

export class JsonInputError extends ProbectlError {
  /** JSON path of the offending value or member, e.g. `$.attributes["a b"][3]`. */
  readonly path: string;

  constructor(code: 'PROBECTL_ERR_BAD_JSON' | 'PROBECTL_ERR_JSON_REFUSED', path: string, message: string) {
    super(code, message, { details: { path } });
    this.name = 'JsonInputError';
    this.path = path;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses UTF-8 bytes (a request or webhook body; the caller keeps the bytes for
 * signatures). Invalid UTF-8 is refused, never replaced by U+FFFD; a leading
 * byte order mark is ignored (RFC 8259 §8.1).
 * @throws JsonInputError
 */
export function parseJsonBytes(bytes: Uint8Array, options: JsonInputOptions = {}): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new JsonInputError('PROBECTL_ERR_BAD_JSON', '$', `${options.subject ?? 'JSON input'} is not valid JSON at $: it is not valid UTF-8`);
  }
  return parseJsonText(text, options);
}

/**
 * Reason a piece of text may not be stored: `nul` (contains U+0000),
 * `surrogate` (contains a lone UTF-16 surrogate), or undefined when clean.
 */
export function textProblem(text: string): 'nul' | 'surrogate' | undefined {
  if (text.includes('\u0000')) return 'nul';
  if (!text.isWellFormed()) return 'surrogate';
  return undefined;
}

/** Human wording of a textProblem, for messages. */
export function describeTextProblem(problem: 'nul' | 'surrogate'): string {
  return problem === 'nul'
    ? 'contains a NUL character (U+0000), which is refused'
    : 'contains a lone UTF-16 surrogate (such as \\udfff), which is not valid Unicode text and is refused';
}

interface Frame {
  /** The container being filled. */
  value: unknown[] | Record<string, unknown>;
  isArray: boolean;
  /** Object: the member being read; array: unused. */
  key: string;
  /** Members or items so far. */
  count: number;
  /** True when this object is the value of a `constructor` member. */
  inConstructor: boolean;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const MAX_SHOWN = 40;

function clip(text: string): string {
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

function keySegment(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(clip(key))}]`;
}

/**
 * Parses JSON text under the rules in the module comment.
 * @throws JsonInputError
 */
export function parseJsonText(text: string, options: JsonInputOptions = {}): unknown {
  const trusted = options.trusted === true;
  const limits: JsonLimits = trusted
    ? { maxDepth: Infinity, maxObjectKeys: Infinity, maxArrayItems: Infinity, maxValues: Infinity }
    : { ...JSON_LIMITS, ...(options.limits ?? {}) };
  const subject = options.subject ?? 'JSON input';
  const stack: Frame[] = [];
  const len = text.length;
  let i = 0;
  let values = 0;

  /** Path through the first n frames' current members: n = stack.length names the value being read, one less its container. */
  const pathTo = (n: number): string => {
    let p = '$';
    for (let k = 0; k < n; k++) {
      const f = stack[k] as Frame;
      p += f.isArray ? `[${f.count}]` : keySegment(f.key);
    }
    return p;
  };
  const path = (): string => pathTo(stack.length);
  const containerPath = (): string => pathTo(stack.length - 1);
  const syntax = (what: string, at = path()): JsonInputError => {
    const where = i >= len ? 'at the end of the input' : `at character ${i}`;
    return new JsonInputError('PROBECTL_ERR_BAD_JSON', at, `${subject} is not valid JSON at ${at} (${where}): ${what}`);
  };
  const refuse = (at: string, what: string): JsonInputError => new JsonInputError('PROBECTL_ERR_JSON_REFUSED', at, `${subject} refused at ${at}: ${what}`);

  const skipWs = () => {
    while (i < len) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      i += 1;
    }
  };

  /** Reads the string starting at the quote at i; returns its value. */
  const readString = (isKey: boolean): string => {
    const start = i;
    let j = i + 1;
    let escapes = false;
    for (;;) {
      if (j >= len) {
        i = j;
        throw syntax(isKey ? 'unterminated key' : 'unterminated string');
      }
      const c = text.charCodeAt(j);
      if (c === 0x22) break;
      if (c === 0x5c) {
        escapes = true;
        j += 2;
        continue;
      }
      if (c < 0x20) {
        i = j;
        const hex = c.toString(16).padStart(4, '0');
        throw syntax(`unescaped control character U+${hex.toUpperCase()} in a ${isKey ? 'key' : 'string'} (escape it as \\u${hex})`, isKey ? containerPath() : path());
      }
      j += 1;
    }
    i = j + 1;
    if (!escapes) return text.slice(start + 1, j);
    try {
      // One string token: JSON.parse decodes its escapes exactly as it would in a document.
      return JSON.parse(text.slice(start, j + 1)) as string;
    } catch {
      i = start;
      throw syntax(`invalid escape sequence in a ${isKey ? 'key' : 'string'}`, isKey ? containerPath() : path());
    }
  };

  const readNumber = (): number => {
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) throw syntax('invalid number');
    const token = m[0];
    i += token.length;
    const value = Number(token);
    if (trusted) return value;
    const problem = numberProblem(token, value);
    if (problem) throw refuse(path(), `the number ${clip(token)} ${problem}; send big or exact numbers as strings`);
    return value;
  };

  const countValue = () => {
    values += 1;
    if (values > limits.maxValues) throw refuse(path(), `more than ${limits.maxValues} values in one document are refused`);
  };

  // Value reading and member/item bookkeeping alternate in one loop.
  let value: unknown;
  for (;;) {
    // --- read one value at i (containers push a frame and continue with their first member) ---
    skipWs();
    if (i >= len) throw syntax(stack.length === 0 && values === 0 ? 'empty input' : 'expected a value');
    countValue();
    const c = text.charCodeAt(i);
    let opened = false;
    if (c === 0x7b || c === 0x5b) {
      const isArray = c === 0x5b;
      if (stack.length + 1 > limits.maxDepth) throw refuse(path(), `nesting deeper than ${limits.maxDepth} levels is refused`);
      const parent = stack[stack.length - 1];
      const inConstructor = !isArray && parent !== undefined && !parent.isArray && parent.key === 'constructor';
      stack.push({ value: isArray ? [] : {}, isArray, key: '', count: 0, inConstructor });
      i += 1;
      skipWs();
      const close = isArray ? 0x5d : 0x7d;
      if (text.charCodeAt(i) === close) {
        i += 1;
        value = (stack.pop() as Frame).value;
      } else {
        opened = true;
        if (!isArray) readKey(stack[stack.length - 1] as Frame);
      }
    } else if (c === 0x22) {
      value = readString(false);
      const problem = trusted ? undefined : textProblem(value as string);
      if (problem) throw refuse(path(), `a string ${describeTextProblem(problem)}`);
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      value = readNumber();
    } else if (text.startsWith('true', i)) {
      value = true;
      i += 4;
    } else if (text.startsWith('false', i)) {
      value = false;
      i += 5;
    } else if (text.startsWith('null', i)) {
      value = null;
      i += 4;
    } else {
      throw syntax(`unexpected character ${JSON.stringify(text[i])}`);
    }
    if (opened) continue;

    // --- a complete value: place it and find what comes next ---
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        skipWs();
        if (i < len) throw syntax('unexpected text after the JSON value', '$');
        return value;
      }
      if (top.isArray) {
        if (top.count >= limits.maxArrayItems) throw refuse(path(), `an array with more than ${limits.maxArrayItems} items is refused`);
        (top.value as unknown[]).push(value);
      } else if (top.key === '__proto__') {
        Object.defineProperty(top.value, '__proto__', { value, writable: true, enumerable: true, configurable: true });
      } else {
        (top.value as Record<string, unknown>)[top.key] = value;
      }
      top.count += 1;
      skipWs();
      const next = text.charCodeAt(i);
      if (next === 0x2c) {
        i += 1;
        if (!top.isArray) readKey(top);
        break;
      }
      if (next === (top.isArray ? 0x5d : 0x7d)) {
        i += 1;
        stack.pop();
        value = top.value;
        continue;
      }
      throw syntax(top.isArray ? "expected ',' or ']' after an array item" : "expected ',' or '}' after an object member");
    }
  }

  /** Reads `"key":` into the frame (i at the key's opening quote, after whitespace). */
  function readKey(frame: Frame): void {
    skipWs();
    if (text.charCodeAt(i) !== 0x22) throw syntax('expected a quoted key', containerPath());
    if (frame.count >= limits.maxObjectKeys) throw refuse(containerPath(), `an object with more than ${limits.maxObjectKeys} members is refused`);
    const key = readString(true);
    frame.key = key;
    if (!trusted) refuseKey(frame, key);
    skipWs();
    if (text.charCodeAt(i) !== 0x3a) throw syntax("expected ':' after a key");
    i += 1;
  }

  function refuseKey(frame: Frame, key: string): void {
    const at = () => containerPath() + keySegment(key);
    const problem = textProblem(key);
    if (problem) throw refuse(at(), `the key ${describeTextProblem(problem)}`);
    if (key === '__proto__') throw refuse(at(), 'a "__proto__" key is refused (it could change object prototypes); rename the key');
    if (key === 'prototype' && frame.inConstructor) throw refuse(at(), 'a "prototype" key inside a "constructor" object is refused (it could change object prototypes); rename the key');
  }
}

interface Decimal { negative: boolean; digits: string; exponent: number }

/** Exact decimal value of a JSON number token or of String(double): digits × 10^exponent, no leading/trailing zeros; digits '' means zero. */
function decimal(text: string): Decimal | undefined {
  const m = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?)0*([0-9]+))?$/.exec(text);
  if (!m) return undefined;
  const frac = m[3] ?? '';
  let digits = (m[2] as string) + frac;
  const expText = m[5] ?? '0';
  // An exponent this long means a value far outside any double: only an all-zero mantissa keeps it finite.
  if (expText.length > 15) return /[1-9]/.test(digits) ? undefined : { negative: false, digits: '', exponent: 0 };
  let exponent = (m[4] === '-' ? -1 : 1) * Number(expText) - frac.length;
  digits = digits.replace(/^0+/, '');
  if (digits === '') return { negative: false, digits: '', exponent: 0 };
  const trimmed = digits.replace(/0+$/, '');
  exponent += digits.length - trimmed.length;
  return { negative: m[1] === '-', digits: trimmed, exponent };
}

/** Why a number token does not survive parsing unchanged, or undefined when it does. */
export function numberProblem(token: string, value: number): string | undefined {
  const hasExponent = token.includes('e') || token.includes('E');
  const hasFraction = token.includes('.');
  // Fast path: up to 15 significant digits without an exponent always survive (DBL_DIG = 15).
  if (!hasExponent && token.length - (token.startsWith('-') ? 1 : 0) - (hasFraction ? 1 : 0) <= 15) return undefined;
  const plainInteger = !hasExponent && !hasFraction;
  if (!Number.isFinite(value)) return 'is beyond the range of a 64-bit float';
  if (plainInteger && !Number.isSafeInteger(value)) return 'is an integer outside ±(2^53−1) (±9007199254740991), where integers are not kept exactly';
  const sent = decimal(token);
  const kept = decimal(String(value));
  if (sent === undefined || kept === undefined) return `cannot be kept exactly (it would become ${String(value)})`;
  const same = sent.digits === kept.digits && sent.exponent === kept.exponent && (sent.digits === '' || sent.negative === kept.negative);
  return same ? undefined : `cannot be kept exactly (it would become ${String(value)})`;
}
