/**
 * PromQL evaluation of a plain selector over loaded samples, as Prometheus 3.x
 * does it (promql/engine.go):
 * - instant selection at t: per series the latest sample in (ref − lookback,
 *   ref], where ref = (@ or t) − offset; none if that sample is a stale
 *   marker; the point is stamped with t (vectorSelectorSingle);
 * - range query: the same at start + k·step for k = 0… while ≤ end; with `@`
 *   the selection is made once and repeated at every step (StepInvariantExpr);
 * - range vector sel[r] at t: raw samples in (ref − r, ref], stale markers
 *   dropped (matrixIterSlice).
 * Pure functions over an arena of samples (read.ts); no I/O.
 */
import { isStaleAt, STALE_HI, STALE_LO } from './float-bits.ts';
import { compareLabels } from './labels.ts';
import { tooManySamples, type Latest, type SampleArena } from './read.ts';
import type { Labels, ResultSeries, Selector } from './types.ts';

/** A series and its samples: [start, end) of the arena. */
export interface LoadedSeries {
  readonly labels: Labels;
  readonly start: number;
  readonly end: number;
}

/** The reference time of a selector evaluated at `t` in a query spanning [start, end]. */
export function referenceTime(sel: Selector, t: number, start: number, end: number): number {
  const at = sel.at === 'start' ? start : sel.at === 'end' ? end : sel.at;
  return (at ?? t) - (sel.offsetMs ?? 0);
}

/** The inclusive sample window [mint, maxt] an instant selection at `ref` needs. */
export function instantWindow(ref: number, lookbackMs: number): { mint: number; maxt: number } {
  return { mint: ref - lookbackMs + 1, maxt: ref };
}

export function sortResult<T extends { labels: Labels }>(out: T[]): T[] {
  return out.sort((a, b) => compareLabels(a.labels, b.labels));
}

/** Index of the sample an instant selection at `ref` yields, or -1 (none in the lookback, or a stale marker). */
function selectIndex(a: SampleArena, s: LoadedSeries, ref: number, lookbackMs: number): number {
  let j = s.end - 1;
  while (j >= s.start && (a.ts[j] as number) > ref) j--;
  if (j < s.start || (a.ts[j] as number) <= ref - lookbackMs || isStaleAt(a.words, j)) return -1;
  return j;
}

/** `n` points as columns: one buffer, two views. */
function columns(n: number): { ts: Float64Array; vs: Float64Array } {
  const buf = new Float64Array(2 * n);
  return { ts: buf.subarray(0, n), vs: buf.subarray(n) };
}

/**
 * Instant vector at evaluation time `t` from each series' latest sample in
 * the lookback window (read.ts loadLatest): none when that sample is a stale
 * marker; the point is stamped `t`.
 */
export function evalLatest(picked: ReadonlyArray<{ labels: Labels; latest: Latest }>, t: number): ResultSeries[] {
  const live = picked.filter((p) => !(p.latest.hi === STALE_HI && p.latest.lo === STALE_LO));
  const { ts, vs } = columns(live.length);
  const words = new Uint32Array(vs.buffer, vs.byteOffset, 2 * live.length);
  const out: ResultSeries[] = live.map((p, i) => {
    ts[i] = t;
    words[2 * i] = p.latest.lo;
    words[2 * i + 1] = p.latest.hi;
    return { labels: p.labels, timestamps: ts.subarray(i, i + 1), values: vs.subarray(i, i + 1) };
  });
  return sortResult(out);
}

/**
 * Range query steps start + k·step ≤ end; `fixedRef` set when the selector has
 * `@`. Two passes over the samples: count each series' points (failing with
 * PROBECTL_ERR_METRICS_TOO_MANY_SAMPLES beyond `maxPoints` before anything is
 * allocated), then fill one buffer.
 */
export function evalRange(a: SampleArena, series: readonly LoadedSeries[], start: number, end: number, step: number, offsetMs: number, lookbackMs: number, fixedRef?: number, maxPoints = Number.POSITIVE_INFINITY): ResultSeries[] {
  const { ts, values, words } = a;
  const steps = Math.floor((end - start) / step) + 1;
  const counts = new Int32Array(series.length);
  const fixed = new Int32Array(series.length);
  let total = 0;
  for (let i = 0; i < series.length; i++) {
    const s = series[i] as LoadedSeries;
    let n = 0;
    if (fixedRef !== undefined) {
      const j = selectIndex(a, s, fixedRef, lookbackMs);
      fixed[i] = j;
      if (j >= 0) n = steps;
    } else {
      let j = s.start - 1;
      for (let k = 0; k < steps; k++) {
        const ref = start + k * step - offsetMs;
        while (j + 1 < s.end && (ts[j + 1] as number) <= ref) j++;
        if (j >= s.start && (ts[j] as number) > ref - lookbackMs && !isStaleAt(words, j)) n++;
      }
    }
    counts[i] = n;
    total += n;
    if (total > maxPoints) throw tooManySamples(maxPoints);
  }
  const col = columns(total);
  const out: ResultSeries[] = [];
  let pos = 0;
  for (let i = 0; i < series.length; i++) {
    const n = counts[i] as number;
    if (n === 0) continue;
    const s = series[i] as LoadedSeries;
    const from = pos;
    if (fixedRef !== undefined) {
      const v = values[fixed[i] as number] as number;
      for (let k = 0; k < steps; k++, pos++) {
        col.ts[pos] = start + k * step;
        col.vs[pos] = v;
      }
    } else {
      let j = s.start - 1;
      for (let k = 0; k < steps; k++) {
        const t = start + k * step;
        const ref = t - offsetMs;
        while (j + 1 < s.end && (ts[j + 1] as number) <= ref) j++;
        if (j >= s.start && (ts[j] as number) > ref - lookbackMs && !isStaleAt(words, j)) {
          col.ts[pos] = t;
          col.vs[pos] = values[j] as number;
          pos++;
        }
      }
    }
    out.push({ labels: s.labels, timestamps: col.ts.subarray(from, pos), values: col.vs.subarray(from, pos) });
  }
  return sortResult(out);
}

/** Range vector: raw samples in (ref − rangeMs, ref] without stale markers, as views of the arena where no stale marker intervenes. */
export function evalRangeVector(a: SampleArena, series: readonly LoadedSeries[], ref: number, rangeMs: number): ResultSeries[] {
  const out: ResultSeries[] = [];
  for (const s of series) {
    let from = s.start;
    while (from < s.end && (a.ts[from] as number) <= ref - rangeMs) from++;
    let to = s.end;
    while (to > from && (a.ts[to - 1] as number) > ref) to--;
    if (to <= from) continue;
    let stale = 0;
    for (let i = from; i < to; i++) if (isStaleAt(a.words, i)) stale++;
    if (stale === 0) {
      out.push({ labels: s.labels, timestamps: a.ts.subarray(from, to), values: a.values.subarray(from, to) });
      continue;
    }
    if (stale === to - from) continue;
    const col = columns(to - from - stale);
    let k = 0;
    for (let i = from; i < to; i++) {
      if (isStaleAt(a.words, i)) continue;
      col.ts[k] = a.ts[i] as number;
      col.vs[k] = a.values[i] as number;
      k++;
    }
    out.push({ labels: s.labels, timestamps: col.ts, values: col.vs });
  }
  return sortResult(out);
}
