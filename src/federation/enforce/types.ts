import { ProbectlError } from '../../core/errors.ts';

/** A label matcher operator, as in PromQL (`model/labels/matcher.go`). */
export type MatchOp = '=' | '!=' | '=~' | '!~';

/** One label matcher: `name op "value"`; `value` is the unquoted string. */
export interface LabelMatcher {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
}

/**
 * A tenant-enforced vector selector, as the store evaluates it.
 *
 * - `metricName`: set when the selector has exactly one `__name__` matcher and it is an
 *   equality; that matcher is then not repeated in `matchers`.
 * - `matchers`: every other matcher, in query order, always ending with exactly one
 *   `tenant_id="<tenant>"` (the only matcher on `tenant_id`).
 * - `rangeMs`: the `[range]` of a range selector, in milliseconds (≥ 1).
 * - `offsetMs`: the `offset`, in milliseconds (may be negative, as in Prometheus 3).
 * - `at`: the `@` modifier: a Unix timestamp in milliseconds, or `'start'` / `'end'` of the
 *   query range.
 */
export interface EnforcedSelector {
  readonly metricName?: string;
  readonly matchers: readonly LabelMatcher[];
  readonly rangeMs?: number;
  readonly offsetMs?: number;
  readonly at?: number | 'start' | 'end';
}

/** A constant number expression (`1+1`, `-Inf`, `5m`), evaluated; it reads no series. */
export interface EnforcedConstant {
  readonly constant: number;
}

/** The enforcer's answer: canonical PromQL text that re-parses, and its structured form. */
export interface EnforcedQuery {
  readonly query: string;
  readonly expr: EnforcedSelector | EnforcedConstant;
}

/** A `match[]` selector (series, labels, label values, federate): no range, offset or `@`. */
export interface EnforcedMatch {
  readonly query: string;
  readonly selector: EnforcedSelector;
}

export function isConstant(expr: EnforcedSelector | EnforcedConstant): expr is EnforcedConstant {
  return 'constant' in expr;
}

/**
 * Why a query was refused:
 * - `not-a-selector`: valid PromQL probectl does not accept (functions, aggregations,
 *   operators on series, subqueries, strings, experimental modifiers);
 * - `syntax`: not valid PromQL;
 * - `invalid`: parses, but Prometheus would refuse it too (bad regex, offset twice, @ out of
 *   range, …);
 * - `empty-selector`: no non-empty matcher besides the tenant;
 * - `too-long`: over the enforcer's length or nesting bound.
 */
export type RefusalReason = 'not-a-selector' | 'syntax' | 'invalid' | 'empty-selector' | 'too-long';

/** The one error the enforcer throws (`PROBECTL_ERR_METRICS_QUERY_REFUSED`, Prometheus `bad_data`). */
export class QueryRefusedError extends ProbectlError {
  readonly reason: RefusalReason;
  /** The Prometheus API `errorType` a route answers with. */
  readonly errorType = 'bad_data';

  constructor(reason: RefusalReason, message: string) {
    super('PROBECTL_ERR_METRICS_QUERY_REFUSED', message, { details: { reason } });
    this.name = 'QueryRefusedError';
    this.reason = reason;
  }
}

export const PLAIN_SELECTORS_ONLY =
  'probectl accepts only plain series selectors — a metric name and label matchers such as up{job="node"}, ' +
  'optionally with a [range], offset and @ — or a constant number; functions, aggregations, operators and subqueries ' +
  'are refused because probectl cannot tenant-scope them. Do the math in Grafana with transformations, ' +
  'or use upstream mode for full PromQL (docs/federation.md, Scaling out).';

/** The tenant label probectl forces on every selector and every written series. */
export const TENANT_LABEL = 'tenant_id';
