/**
 * Prometheus HTTP API time and duration parameters, as `web/api/v1/api.go` parses them
 * (https://prometheus.io/docs/prometheus/latest/querying/api/#format-overview):
 *
 * - a time (`start`, `end`, `time`) is a Unix timestamp in seconds with an optional fraction
 *   (Go `strconv.ParseFloat`, rounded to the millisecond) or RFC 3339 (`time.RFC3339Nano`:
 *   `2006-01-02T15:04:05.999999999Z07:00`), or Prometheus's own min/max time strings;
 * - a duration (`step`, `timeout`) is seconds as a float or a Prometheus duration (`5m`,
 *   `1h30m`);
 * - errors carry Prometheus's wording: `invalid parameter "start": cannot parse "x" to a
 *   valid timestamp`, and query_range refuses more than 11,000 points per series.
 *
 * Results are integer milliseconds. NaN and infinite times, which Go turns into arbitrary
 * instants, are refused as unparseable.
 */
import { ProbectlError } from '../core/errors.ts';
import { goRound, parseGoFloat, parsePromDuration } from './enforce/literals.ts';

/** A bad API parameter: `PROBECTL_ERR_METRICS_BAD_PARAM`, Prometheus `bad_data` (HTTP 400). */
export class PromParamError extends ProbectlError {
  readonly errorType = 'bad_data';
  readonly parameter: string;

  constructor(parameter: string, message: string) {
    super('PROBECTL_ERR_METRICS_BAD_PARAM', message, { details: { parameter } });
    this.name = 'PromParamError';
    this.parameter = parameter;
  }
}

/** Prometheus's `MinTime` / `MaxTime` (api.go) in ms, and their RFC 3339 spellings. */
export const PROM_MIN_TIME_MS = -9223309901257974000;
export const PROM_MAX_TIME_MS = 9223309901257974999;
const MIN_TIME_TEXT = '-292273086-05-16T16:47:06Z';
const MAX_TIME_TEXT = '292277025-08-18T07:12:54.999999999Z';
/** Most points a query_range may ask for per series (api.go). */
export const MAX_POINTS_PER_SERIES = 11_000;
const MAX_INT64 = 2 ** 63;

function quote(s: string): string {
  return JSON.stringify(s);
}

function isDigits(s: string): boolean {
  return s.length > 0 && [...s].every((c) => c >= '0' && c <= '9');
}

/** Go `time.Parse(time.RFC3339Nano, s)` in ms (sub-ms truncated as `UnixMilli`), or undefined. */
export function parseRfc3339(s: string): number | undefined {
  // 2006-01-02T15:04:05[.,frac](Z|±hh:mm)
  if (s.length < 20 || s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':') return undefined;
  const parts = [s.slice(0, 4), s.slice(5, 7), s.slice(8, 10), s.slice(11, 13), s.slice(14, 16), s.slice(17, 19)];
  if (!parts.every(isDigits)) return undefined;
  const [year, month, day, hour, minute, second] = parts.map(Number) as [number, number, number, number, number, number];
  let rest = s.slice(19);
  let fracMs = 0;
  if (rest[0] === '.' || rest[0] === ',') {
    let i = 1;
    while (i < rest.length && (rest[i] as string) >= '0' && (rest[i] as string) <= '9') i++;
    if (i === 1) return undefined;
    fracMs = Math.min(Number(rest.slice(1, Math.min(i, 4)).padEnd(3, '0')), 999);
    rest = rest.slice(i);
  }
  let offsetMin = 0;
  if (rest === 'Z') offsetMin = 0;
  else if (rest.length === 6 && (rest[0] === '+' || rest[0] === '-') && rest[3] === ':' && isDigits(rest.slice(1, 3)) && isDigits(rest.slice(4, 6))) {
    const oh = Number(rest.slice(1, 3));
    const om = Number(rest.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (rest[0] === '-' ? -1 : 1) * (oh * 60 + om);
  } else return undefined;
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined; // day out of range
  date.setUTCHours(hour, minute, second, fracMs);
  return date.getTime() - offsetMin * 60_000;
}

/** Go api.go `parseTime`, in ms; the error message is Prometheus's (without the parameter). */
function parseTimeValue(s: string): number | { error: string } {
  const f = parseGoFloat(s);
  if (f !== undefined) {
    if (!Number.isFinite(f) || Math.abs(f) >= MAX_INT64 / 1000) return { error: `cannot parse ${quote(s)} to a valid timestamp` };
    const whole = Math.trunc(f);
    const frac = goRound((f - whole) * 1000);
    return whole * 1000 + frac + 0;
  }
  const t = parseRfc3339(s);
  if (t !== undefined) return t;
  if (s === MIN_TIME_TEXT) return PROM_MIN_TIME_MS;
  if (s === MAX_TIME_TEXT) return PROM_MAX_TIME_MS;
  return { error: `cannot parse ${quote(s)} to a valid timestamp` };
}

/**
 * A required time (query_range `start` / `end`): `invalid parameter "start": cannot parse
 * "x" to a valid timestamp`.
 */
export function parsePromTime(value: string | undefined, parameter: string): number {
  const r = parseTimeValue(value ?? '');
  if (typeof r !== 'number') throw new PromParamError(parameter, `invalid parameter ${quote(parameter)}: ${r.error}`);
  return r;
}

/**
 * An optional time (instant query `time`, series/labels `start` / `end`): `defaultMs` when
 * absent or empty; else as `parseTimeParam`: `invalid parameter "time": invalid time value for
 * 'time': cannot parse "x" to a valid timestamp`.
 */
export function parsePromTimeParam(value: string | undefined, parameter: string, defaultMs: number): number {
  if (value === undefined || value === '') return defaultMs;
  const r = parseTimeValue(value);
  if (typeof r !== 'number') throw new PromParamError(parameter, `invalid parameter ${quote(parameter)}: invalid time value for '${parameter}': ${r.error}`);
  return r;
}

/**
 * A duration parameter (`step`, `timeout`) in ms (truncated, as Prometheus evaluates in whole
 * ms): float seconds or a duration string. `invalid parameter "step": cannot parse "x" to a
 * valid duration`.
 */
export function parsePromDurationParam(value: string | undefined, parameter: string): number {
  const s = value ?? '';
  const f = parseGoFloat(s);
  if (f !== undefined) {
    const ns = f * 1e9;
    if (Number.isNaN(ns)) throw new PromParamError(parameter, `invalid parameter ${quote(parameter)}: cannot parse ${quote(s)} to a valid duration`);
    if (ns > MAX_INT64 || ns < -MAX_INT64) {
      throw new PromParamError(parameter, `invalid parameter ${quote(parameter)}: cannot parse ${quote(s)} to a valid duration. It overflows int64`);
    }
    return Math.trunc(ns / 1e6) + 0;
  }
  const d = parsePromDuration(s);
  if ('ms' in d) return d.ms;
  throw new PromParamError(parameter, `invalid parameter ${quote(parameter)}: cannot parse ${quote(s)} to a valid duration`);
}

/**
 * Latest evaluation time probectl accepts, in ms (±8.64e15: the range of a JavaScript Date, as
 * for `@`). Prometheus parses times up to ±2^63 ns; beyond this bound no sample can exist and
 * the arithmetic of a query (offset, lookback, range) would leave the safe-integer range.
 */
export const MAX_EVAL_TIME_MS = 8.64e15;

/**
 * An evaluation time (`time`, `start`, `end` of a query) checked against MAX_EVAL_TIME_MS:
 * `invalid parameter "time": timestamp out of the range probectl evaluates (…)` (400 bad_data).
 */
export function checkEvalTime(ms: number, parameter: string): number {
  if (!(Math.abs(ms) <= MAX_EVAL_TIME_MS)) {
    throw new PromParamError(parameter, `invalid parameter ${quote(parameter)}: timestamp out of the range probectl evaluates (±${MAX_EVAL_TIME_MS / 1000} seconds, the range of a date)`);
  }
  return ms;
}

export interface RangeQueryParams {
  readonly startMs: number;
  readonly endMs: number;
  readonly stepMs: number;
}

/**
 * query_range's `start`, `end` and `step`, with Prometheus's checks in its order: times
 * parse (and lie within MAX_EVAL_TIME_MS), end not before start, step parses and is positive, at most 11,000 points per series
 * ("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query
 * resolution (?step=XX)").
 */
export function parseRangeQueryParams(params: { start?: string | undefined; end?: string | undefined; step?: string | undefined }): RangeQueryParams {
  const startMs = parsePromTime(params.start, 'start');
  const endMs = parsePromTime(params.end, 'end');
  checkEvalTime(startMs, 'start');
  checkEvalTime(endMs, 'end');
  if (endMs < startMs) throw new PromParamError('end', 'invalid parameter "end": end timestamp must not be before start time');
  const stepMs = parsePromDurationParam(params.step, 'step');
  if (stepMs <= 0) {
    throw new PromParamError('step', 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
  }
  if (Math.floor((endMs - startMs) / stepMs) > MAX_POINTS_PER_SERIES) {
    throw new PromParamError('step', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
  }
  return { startMs, endMs, stepMs };
}
