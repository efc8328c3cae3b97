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
import { isStaleAt } from './float-bits.ts';
import { compareLabels } from './labels.ts';
import { tooManySamples, type SampleArena } from './read.ts';
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

/** Instant vector at evaluation time `t` with reference time `ref`. */
export function evalInstant(a: SampleArena, series: readonly LoadedSeries[], ref: number, lookbackMs: number, t: number): ResultSeries[] {
  const out: ResultSeries[] = [];
  for (const s of series) {
    const j = selectIndex(a, s, ref, lookbackMs);
    if (j >= 0) out.push({ labels: s.labels, points: [[t, a.values[j] as number]] });
  }
  return sortResult(out);
}

/** Range query steps start + k·step ≤ end; `fixedRef` set when the selector has `@`. */
export function evalRange(a: SampleArena, series: readonly LoadedSeries[], start: number, end: number, step: number, offsetMs: number, lookbackMs: number, fixedRef?: number, maxPoints = Number.POSITIVE_INFINITY): ResultSeries[] {
  const out: ResultSeries[] = [];
  let total = 0;
  const { ts, values, words } = a;
  for (const s of series) {
    const points: Array<[number, number]> = [];
    if (fixedRef !== undefined) {
      const j = selectIndex(a, s, fixedRef, lookbackMs);
      if (j >= 0) for (let t = start; t <= end; t += step) points.push([t, values[j] as number]);
    } else {
      let j = s.start - 1;
      for (let t = start; t <= end; t += step) {
        const ref = t - offsetMs;
        while (j + 1 < s.end && (ts[j + 1] as number) <= ref) j++;
        if (j >= s.start && (ts[j] as number) > ref - lookbackMs && !isStaleAt(words, j)) points.push([t, values[j] as number]);
      }
    }
    total += points.length;
    if (total > maxPoints) throw tooManySamples(maxPoints);
    if (points.length > 0) out.push({ labels: s.labels, points });
  }
  return sortResult(out);
}

/** Range vector: raw samples in (ref − rangeMs, ref] without stale markers. */
export function evalRangeVector(a: SampleArena, series: readonly LoadedSeries[], ref: number, rangeMs: number): ResultSeries[] {
  const out: ResultSeries[] = [];
  for (const s of series) {
    const points: Array<[number, number]> = [];
    for (let i = s.start; i < s.end; i++) {
      const t = a.ts[i] as number;
      if (t <= ref - rangeMs || t > ref || isStaleAt(a.words, i)) continue;
      points.push([t, a.values[i] as number]);
    }
    if (points.length > 0) out.push({ labels: s.labels, points });
  }
  return sortResult(out);
}
