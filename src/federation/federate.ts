/**
 * GET /v1/prometheus/federate?match[]=…: the latest sample of every series of
 * the caller's tenant matching any `match[]`, in the text exposition format
 * (exposition.ts), as Prometheus's `/federate` (`web/federate.go`): each
 * `match[]` a plain selector (tenant enforced), samples within the lookback
 * before now, stale series left out, `instance=""` added so a scraper with
 * `honor_labels: true` keeps the series' labels. No `match[]`: an empty body,
 * as Prometheus. Over PROBECTL_METRICS_MAX_SERIES matching series: 422, nothing
 * returned.
 */
import { matcherSets } from './api/queries.ts';
import type { PromParams } from './api/params.ts';
import { renderFederationLabelSets } from './exposition.ts';
import type { SeriesStore } from './store/types.ts';

export interface FederateContext {
  readonly store: SeriesStore;
  readonly tenant: string;
  readonly now: number;
  readonly maxSeries: number;
  readonly lookbackMs: number;
}

export async function federate(ctx: FederateContext, params: PromParams): Promise<string> {
  const sets = matcherSets(ctx.tenant, params);
  if (sets.length === 0) return '';
  const last = await ctx.store.lastSamples(ctx.tenant, sets, ctx.now, { maxSeries: ctx.maxSeries, lookbackMs: ctx.lookbackMs });
  return renderFederationLabelSets(last.map((s) => ({ labels: s.labels, timestampMs: s.t, value: s.v })));
}
