import type { EmbeddedSeriesStore } from '../../../src/federation/store/embedded.ts';
import { staleMarkers, wordsOf } from '../../../src/federation/store/float-bits.ts';
import type { Labels, SeriesSamples } from '../../../src/federation/store/types.ts';

/** One series' samples from [t, v] pairs; 'stale' is Prometheus's stale marker. */
export function samples(labels: Labels, points: ReadonlyArray<readonly [number, number | 'stale']>): SeriesSamples {
  const values = new Float64Array(points.length);
  const w = wordsOf(values);
  const stale = wordsOf(staleMarkers(1));
  points.forEach(([, v], i) => {
    if (v === 'stale') {
      w[2 * i] = stale[0] as number;
      w[2 * i + 1] = stale[1] as number;
    } else values[i] = v;
  });
  return { labels, timestamps: points.map(([t]) => t), values };
}

/** Value bits as 16 hex digits. */
export function bitsHex(values: Float64Array, i: number): string {
  const w = wordsOf(values);
  return (w[2 * i + 1] as number).toString(16).padStart(8, '0') + (w[2 * i] as number).toString(16).padStart(8, '0');
}

export function valueFromHex(hex: string): Float64Array {
  const out = new Float64Array(1);
  const w = wordsOf(out);
  w[1] = Number.parseInt(hex.slice(0, 8), 16);
  w[0] = Number.parseInt(hex.slice(8), 16);
  return out;
}

/**
 * Expands promqltest's series notation (promql/promqltest): `a+bxn` is a
 * followed by n steps of +b, `axn` repeats a, `_` is a gap, `stale` a stale
 * marker; values at 0, step, 2·step, …
 */
export function expandSeries(spec: string, stepMs: number, startMs = 0): Array<[number, number | 'stale']> {
  const out: Array<[number, number | 'stale']> = [];
  let i = 0;
  for (const tok of spec.trim().split(/\s+/)) {
    const m = /^(-?[\d.]+(?:e[+-]?\d+)?)(?:([+-][\d.]+)?x(\d+))?$/.exec(tok);
    if (tok === '_') i++;
    else if (tok === 'stale') out.push([startMs + stepMs * i++, 'stale']);
    else if (m) {
      const base = Number(m[1]);
      const inc = m[2] === undefined ? 0 : Number(m[2]);
      const n = m[3] === undefined ? 0 : Number(m[3]);
      for (let k = 0; k <= n; k++) out.push([startMs + stepMs * i++, base + inc * k]);
    } else throw new Error(`unsupported token ${tok}`);
  }
  return out;
}

export async function load(store: EmbeddedSeriesStore, tenant: string, stepMs: number, series: Array<[Labels, string]>): Promise<void> {
  const res = await store.append(tenant, series.map(([labels, spec]) => samples(labels, expandSeries(spec, stepMs))));
  if (res.errors.length > 0) throw res.errors[0];
}

/** A result series' points as [ms, value] pairs. */
export function pointsOf(r: { timestamps: Float64Array; values: Float64Array } | undefined): Array<[number, number]> {
  if (!r) return [];
  return Array.from(r.timestamps, (t, i) => [t, r.values[i] as number]);
}
