/**
 * Prometheus HTTP API response bodies, byte for byte as Prometheus writes them
 * (https://prometheus.io/docs/prometheus/latest/querying/api/, `web/api/v1/api.go`,
 * `util/jsonutil/marshal.go`):
 *
 * - envelope `{"status":"success","data":…}` / `{"status":"error","errorType":…,"error":…}`;
 * - a sample timestamp is float seconds written from integer milliseconds: the whole
 *   seconds, then `.` and the milliseconds zero-padded to three digits unless they are 0
 *   (`1435781451`, `1435781451.050`) — `MarshalTimestamp`;
 * - a sample value is a string: `NaN`, `+Inf`, `-Inf`, otherwise Go's
 *   `strconv.FormatFloat(v, 'f', -1, 64)`, or `'e'` when |v| < 1e-6 or ≥ 1e21 — `MarshalValue`;
 * - label sets are JSON objects with keys in byte order (Go `json.Marshal` of a map) and
 *   strings escaped as Go's encoding/json does with HTML escaping on (`<`, `>`, `&`, U+2028,
 *   U+2029 as `\u…`; `\b \f \n \r \t` short; other control characters `\u00XX`).
 *
 * Bodies are assembled as strings (one array join per response), not through
 * JSON.stringify, which cannot write `1435781451.050`.
 */
import { compareUtf8 } from '../store/labels.ts';
import type { Labels } from '../store/types.ts';

const HEX = '0123456789abcdef';

function escapeChar(c: number): string {
  switch (c) {
    case 0x22: return '\\"';
    case 0x5c: return '\\\\';
    case 0x08: return '\\b';
    case 0x0c: return '\\f';
    case 0x0a: return '\\n';
    case 0x0d: return '\\r';
    case 0x09: return '\\t';
    default: return `\\u${HEX[(c >> 12) & 15]}${HEX[(c >> 8) & 15]}${HEX[(c >> 4) & 15]}${HEX[c & 15]}`;
  }
}

function needsEscape(c: number): boolean {
  return c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029;
}

/** A JSON string literal as Go's encoding/json writes it (HTML-escaped). */
export function goJsonString(s: string): string {
  let i = 0;
  const n = s.length;
  while (i < n && !needsEscape(s.charCodeAt(i))) i++;
  if (i === n) return `"${s}"`;
  let out = `"${s.slice(0, i)}`;
  let start = i;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (!needsEscape(c)) continue;
    out += s.slice(start, i) + escapeChar(c);
    start = i + 1;
  }
  return `${out}${s.slice(start)}"`;
}

/** `MarshalTimestamp`: integer ms as float seconds with 0 or 3 decimals. */
export function promTimestamp(ms: number): string {
  const neg = ms < 0;
  const abs = neg ? -ms : ms;
  const whole = Math.floor(abs / 1000);
  const frac = abs - whole * 1000;
  const head = `${neg ? '-' : ''}${whole}`;
  if (frac === 0) return head;
  return `${head}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

/** Go `strconv.FormatFloat(v, 'e', -1, 64)`: shortest digits, exponent of at least two digits. */
function goExp(v: number): string {
  const s = v.toExponential(); // shortest round-trip digits, e.g. "1.5e-7", "1e+21"
  const e = s.indexOf('e');
  const sign = s[e + 1] as string;
  const digits = s.slice(e + 2);
  return `${s.slice(0, e)}e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
}

/** How Go writes NaN, ±Inf and ±0; undefined for every other number. */
function goSpecial(v: number): string | undefined {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  return undefined;
}

/** `MarshalValue` without the quotes. */
export function promValue(v: number): string {
  const special = goSpecial(v);
  if (special !== undefined) return special;
  const abs = v < 0 ? -v : v;
  if (abs < 1e-6 || abs >= 1e21) return goExp(v);
  // Within [1e-6, 1e21) JavaScript prints the shortest round-trip digits in plain decimal
  // notation, exactly as Go's 'f' format with precision -1.
  return String(v);
}

/** `[ts,"value"]`. */
export function promPoint(t: number, v: number): string {
  return `[${promTimestamp(t)},"${promValue(v)}"]`;
}

/** A label set as Go's json.Marshal of map[string]string: keys in byte order. */
export function labelsJson(labels: Labels): string {
  const keys = Object.keys(labels);
  // The store hands out labels already in byte order; sort only when they are not.
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = compareUtf8(keys[i - 1] as string, keys[i] as string) < 0;
  if (!sorted) keys.sort(compareUtf8);
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (i > 0) out += ',';
    out += `${goJsonString(k)}:${goJsonString(labels[k] as string)}`;
  }
  return `${out}}`;
}


/** `{"status":"success","data":<data>}` around an already-encoded data value. */
export function successBody(data: string, warnings?: readonly string[]): string {
  const w = warnings && warnings.length > 0 ? `,"warnings":[${warnings.map(goJsonString).join(',')}]` : '';
  return `{"status":"success","data":${data}${w}}`;
}

/** `{"status":"error","errorType":…,"error":…}`. */
export function errorBody(errorType: string, message: string): string {
  return `{"status":"error","errorType":${goJsonString(errorType)},"error":${goJsonString(message)}}`;
}

/** An array of strings (labels, label values). */
export function stringsJson(values: readonly string[]): string {
  return `[${values.map(goJsonString).join(',')}]`;
}

/** A series with its points as a query result: labels and two columns (ms, values). */
export interface ResultRow {
  readonly labels: Labels;
  readonly timestamps: ArrayLike<number>;
  readonly values: ArrayLike<number>;
}

/** Target size of one chunk of a streamed body. */
const CHUNK = 64 * 1024;

/**
 * Timestamps repeat across the series of one answer (a range query's steps):
 * their text is computed once. Bounded: past `max` entries it starts over.
 */
class TimestampText {
  private readonly map = new Map<number, string>();
  private readonly max: number;
  constructor(max = 20_000) {
    this.max = max;
  }
  get(ms: number): string {
    let s = this.map.get(ms);
    if (s === undefined) {
      if (this.map.size >= this.max) this.map.clear();
      s = promTimestamp(ms);
      this.map.set(ms, s);
    }
    return s;
  }
}

/** `{"status":"success","data":{"resultType":"vector","result":[…]}}` in chunks. */
export function* vectorBody(rows: readonly ResultRow[]): Generator<string> {
  let out = '{"status":"success","data":{"resultType":"vector","result":[';
  const tsText = new TimestampText();
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as ResultRow;
    out += `${i > 0 ? ',' : ''}{"metric":${labelsJson(r.labels)},"value":[${tsText.get(r.timestamps[0] as number)},"${promValue(r.values[0] as number)}"]}`;
    if (out.length >= CHUNK) {
      yield out;
      out = '';
    }
  }
  yield `${out}]}}`;
}

/** `{"status":"success","data":{"resultType":"matrix","result":[…]}}` in chunks (never the whole body as one string). */
export function* matrixBody(rows: readonly ResultRow[]): Generator<string> {
  let out = '{"status":"success","data":{"resultType":"matrix","result":[';
  const tsText = new TimestampText();
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as ResultRow;
    out += `${i > 0 ? ',' : ''}{"metric":${labelsJson(r.labels)},"values":[`;
    const { timestamps, values } = r;
    for (let k = 0; k < timestamps.length; k++) {
      out += `${k > 0 ? ',[' : '['}${tsText.get(timestamps[k] as number)},"${promValue(values[k] as number)}"]`;
      if (out.length >= CHUNK) {
        yield out;
        out = '';
      }
    }
    out += ']}';
  }
  yield `${out}]}}`;
}

/** The whole of a chunked body as one string (small answers, tests). */
export function joined(chunks: Iterable<string>): string {
  let out = '';
  for (const c of chunks) out += c;
  return out;
}

/** Go `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits in plain decimal notation, however large or small. */
export function goFormatF(v: number): string {
  const special = goSpecial(v);
  if (special !== undefined) return special;
  const abs = v < 0 ? -v : v;
  if (abs >= 1e-6 && abs < 1e21) return String(v);
  const [mantissa, expText] = abs.toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const point = Number(expText) + 1; // digits before the decimal point
  const sign = v < 0 ? '-' : '';
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  return `${sign}${digits}${'0'.repeat(Math.max(0, point - digits.length))}`;
}

/**
 * `{"resultType":"scalar","result":[t,"v"]}` as Prometheus's `promql.Scalar.MarshalJSON` writes
 * it — unlike samples of vectors and matrices: the time is Go's JSON of the float64 seconds
 * (`1435781451.5`, not `.500`) and the value `FormatFloat(v, 'f', -1, 64)` (never an exponent).
 */
export function scalarJson(t: number, v: number): string {
  return `{"resultType":"scalar","result":[${String(t / 1000)},"${goFormatF(v)}"]}`;
}
