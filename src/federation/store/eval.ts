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
 * Pure functions: no I/O; the caller loads samples for `window()`.
 */
import type { SampleBuf } from './chunks.ts';
import { isStaleAt } from './float-bits.ts';
import { compareLabels } from './labels.ts';
import type { Labels, ResultSeries, Selector } from './types.ts';

export interface LoadedSeries {
  readonly labels: Labels;
  readonly buf: SampleBuf;
}

/** The reference time of a selector evaluated at `t` in a query spanning [start, end]. */
export function referenceTime(sel: Selector, t: number, start: number, end: number): number {
  const at = sel.at === 'start' ? start : sel.at === 'end' ? end : sel.at;
  return (at ?? t) - (sel.offsetMs ?? 0);
}

/** The inclusive sample window [mint, maxt] an evaluation needs. */
export function instantWindow(ref: number, lookbackMs: number): { mint: number; maxt: number } {
  return { mint: ref - lookbackMs + 1, maxt: ref };
}

export function sortResult<T extends { labels: Labels }>(out: T[]): T[] {
  return out.sort((a, b) => compareLabels(a.labels, b.labels));
}

/** Index of the latest sample at or before `ref`, or -1. Starts from `from` (monotone walks). */
function latestAtOrBefore(ts: Float64Array, ref: number, from: number): number {
  let j = from;
  while (j + 1 < ts.length && (ts[j + 1] as number) <= ref) j++;
  return j >= 0 && (ts[j] as number) <= ref ? j : -1;
}

/** One instant selection: the value at ref, or undefined (none in the lookback, or stale). */
function selectAt(buf: SampleBuf, ref: number, lookbackMs: number, from: number): { j: number; v?: number } {
  const j = latestAtOrBefore(buf.ts, ref, from);
  if (j < 0 || (buf.ts[j] as number) <= ref - lookbackMs || isStaleAt(buf.words, j)) return { j };
  return { j, v: buf.values[j] as number };
}

/** Instant vector at evaluation time `t` with reference time `ref`. */
export function evalInstant(series: readonly LoadedSeries[], ref: number, lookbackMs: number, t: number): ResultSeries[] {
  const out: ResultSeries[] = [];
  for (const s of series) {
    const { v } = selectAt(s.buf, ref, lookbackMs, -1);
    if (v !== undefined) out.push({ labels: s.labels, points: [[t, v]] });
  }
  return sortResult(out);
}

/** Range query steps start + k·step ≤ end; `fixedRef` set when the selector has `@`. */
export function evalRange(series: readonly LoadedSeries[], start: number, end: number, step: number, offsetMs: number, lookbackMs: number, fixedRef?: number): ResultSeries[] {
  const out: ResultSeries[] = [];
  for (const s of series) {
    const points: Array<[number, number]> = [];
    if (fixedRef !== undefined) {
      const { v } = selectAt(s.buf, fixedRef, lookbackMs, -1);
      if (v !== undefined) for (let t = start; t <= end; t += step) points.push([t, v]);
    } else {
      let j = -1;
      for (let t = start; t <= end; t += step) {
        const r = selectAt(s.buf, t - offsetMs, lookbackMs, j);
        j = r.j;
        if (r.v !== undefined) points.push([t, r.v]);
      }
    }
    if (points.length > 0) out.push({ labels: s.labels, points });
  }
  return sortResult(out);
}

/** Range vector: raw samples in (ref − rangeMs, ref] without stale markers. */
export function evalRangeVector(series: readonly LoadedSeries[], ref: number, rangeMs: number): ResultSeries[] {
  const out: ResultSeries[] = [];
  for (const s of series) {
    const points: Array<[number, number]> = [];
    const { ts, values, words } = s.buf;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i] as number;
      if (t <= ref - rangeMs || t > ref || isStaleAt(words, i)) continue;
      points.push([t, values[i] as number]);
    }
    if (points.length > 0) out.push({ labels: s.labels, points });
  }
  return sortResult(out);
}
