/**
 * Request parameters of the Prometheus HTTP API as Go's `http.Request.Form`
 * holds them: the `application/x-www-form-urlencoded` body's values first, then
 * the URL query's (Prometheus reads `r.FormValue(name)` — the first — and
 * `r.Form["match[]"]` — all of them, body then URL). Untrusted and bounded:
 * invalid percent-encoding or UTF-8, NUL or a lone surrogate, and more than
 * MAX_VALUES values are refused with `bad_data` (400).
 */
import { describeTextProblem, textProblem } from '../../core/json-input.ts';
import { PromParamError } from '../prom-time.ts';

/** Most parameter values one request may carry (all names together). */
export const MAX_VALUES = 1000;
/** Most characters all `match[]` values of one request may hold together (each selector is parsed and enforced). */
export const MAX_MATCH_CHARS = 65_536;
/** The largest form body accepted, in bytes. */
export const MAX_FORM_BYTES = 1_048_576;

export type PromParams = ReadonlyMap<string, readonly string[]>;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function refuse(message: string): PromParamError {
  return new PromParamError('form', message);
}

function decodePart(part: string, what: string): string {
  let text: string;
  try {
    text = decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    throw refuse(`invalid form body: ${what} is not valid percent-encoded UTF-8`);
  }
  const problem = textProblem(text);
  if (problem) throw refuse(`invalid form body: ${what} ${describeTextProblem(problem)}`);
  return text;
}

function add(out: Map<string, string[]>, name: string, value: string, count: { n: number }): void {
  count.n++;
  if (count.n > MAX_VALUES) throw refuse(`too many parameters: more than ${MAX_VALUES} values`);
  const list = out.get(name);
  if (list) list.push(value);
  else out.set(name, [value]);
}

/**
 * Merges a form body (a Buffer, or undefined for GET) and the parsed URL query
 * (Fastify's: a string or an array of strings per name; already checked for
 * percent-encoding, NUL and surrogates by the server's URL boundary).
 */
export function promParams(body: Buffer | undefined, query: unknown): PromParams {
  const out = new Map<string, string[]>();
  const count = { n: 0 };
  if (body !== undefined && body.length > 0) {
    let text: string;
    try {
      text = UTF8.decode(body);
    } catch {
      throw refuse('invalid form body: not valid UTF-8');
    }
    for (const pair of text.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const name = decodePart(eq >= 0 ? pair.slice(0, eq) : pair, 'a parameter name');
      add(out, name, decodePart(eq >= 0 ? pair.slice(eq + 1) : '', `parameter ${JSON.stringify(name.slice(0, 40))}`), count);
    }
  }
  if (query !== null && typeof query === 'object') {
    for (const [name, value] of Object.entries(query as Record<string, unknown>)) {
      const values = Array.isArray(value) ? value : [value];
      for (const v of values) if (typeof v === 'string') add(out, name, v, count);
    }
  }
  return out;
}

/** `r.FormValue(name)`: the first value, or undefined. */
export function first(params: PromParams, name: string): string | undefined {
  return params.get(name)?.[0];
}

/** `r.Form[name]`: every value (body first), possibly none. */
export function all(params: PromParams, name: string): readonly string[] {
  return params.get(name) ?? [];
}

/**
 * Every `match[]` value (body first), refused with `bad_data` naming
 * `match[]` when together they hold more than MAX_MATCH_CHARS characters:
 * each is parsed and tenant-enforced before anything is read, and a request
 * of many long selectors would otherwise hold the event loop for its parse.
 */
export function matchParams(params: PromParams): readonly string[] {
  const values = all(params, 'match[]');
  let chars = 0;
  for (const v of values) chars += v.length;
  if (chars > MAX_MATCH_CHARS) throw new PromParamError('match[]', `the match[] selectors together are longer than ${MAX_MATCH_CHARS} characters; send fewer or shorter selectors`);
  return values;
}
