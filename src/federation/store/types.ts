/**
 * The metrics store's public shapes and the one interface every backend
 * implements: the embedded store in the project's database (embedded.ts), and
 * later a Prometheus-compatible upstream. Times are milliseconds since the epoch
 * (integers), values float64. The tenant is always an argument coming from the
 * caller's scope, never from a matcher or a label.
 */

/** A label set: name → value. Own enumerable properties only. */
export type Labels = Readonly<Record<string, string>>;

export type MatchOp = '=' | '!=' | '=~' | '!~';

/**
 * A Prometheus label matcher. A missing label matches as the empty string.
 * Regular expressions have Prometheus 3.x semantics: RE2 syntax, fully
 * anchored (`^(?s:re)$`, so `.` also matches a newline).
 */
export interface Matcher {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
}

/**
 * A plain PromQL selector: `matchers`, optional range (`[5m]`), `offset` and
 * `@` (a timestamp in ms, or the query's start/end). As in PromQL, `@` fixes
 * the evaluation time and `offset` is subtracted from it.
 */
export interface Selector {
  readonly matchers: readonly Matcher[];
  readonly rangeMs?: number;
  readonly offsetMs?: number;
  readonly at?: number | 'start' | 'end';
}

/**
 * Samples of one series to append. `values` is a Float64Array so that every
 * NaN payload (the stale marker among them) reaches the database bit for bit:
 * a JavaScript array of numbers may quiet a signalling NaN. Timestamps are
 * integer ms within ±2^51.
 */
export interface SeriesSamples {
  readonly labels: Labels;
  readonly timestamps: ArrayLike<number>;
  readonly values: Float64Array;
}

/** Raw samples of one series, ascending by time, values bit-exact as stored. */
export interface RawSeries {
  readonly labels: Labels;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
}

/**
 * A Prometheus-shaped result series: labels and its points as two columns,
 * timestamps (ms, ascending) and values. The columns of one answer are views
 * of one buffer (no per-point objects: a range query over 10,000 series
 * returns millions of points, which must not live on the JavaScript heap).
 */
export interface ResultSeries {
  readonly labels: Labels;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
}

/** What an append stored and what it refused (each refusal also as a typed error). */
export interface AppendResult {
  /** Samples newly stored. */
  readonly stored: number;
  /** Identical re-sent samples (same series, timestamp and value bits): already stored, counted once. */
  readonly duplicates: number;
  readonly seriesCreated: number;
  readonly refused: {
    /** A different value for a timestamp the series already has: the stored value is kept. */
    readonly conflicts: number;
    /** Samples beyond now + the store's future tolerance. */
    readonly tooNew: number;
    /** New series refused by the tenant's active-series cap, and their samples. */
    readonly limitedSeries: number;
    readonly limitedSamples: number;
  };
  /** One ProbectlError per kind of refusal, naming counts and the limit; empty when all was stored. */
  readonly errors: readonly Error[];
}

export interface ReadOptions {
  /** Fail closed (PROBECTL_ERR_METRICS_TOO_MANY_SERIES) when more series than this match. */
  readonly maxSeries?: number;
  /**
   * Fail (PROBECTL_ERR_METRICS_TOO_MANY_SAMPLES) when a read would load, or a
   * range query return, more samples than this (Prometheus's --query.max-samples).
   */
  readonly maxSamples?: number;
}

export interface QueryOptions extends ReadOptions {
  /** The instant-selection lookback; Prometheus's default is 5 minutes. */
  readonly lookbackMs?: number;
}

/** A time window [startMs, endMs] (inclusive); either end may be omitted. */
export interface TimeBounds {
  readonly startMs?: number;
  readonly endMs?: number;
}

/** The latest sample of a series, with its own timestamp (federation). */
export interface LastSample {
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
}

/**
 * The interface a metrics backend implements. Every method takes the caller's
 * tenant; matchers on `tenant_id` other than `tenant_id="<that tenant>"` are
 * refused (PROBECTL_ERR_METRICS_BAD_MATCHER). Returned label sets include
 * `tenant_id`. Reads that would match more than `maxSeries` series throw
 * PROBECTL_ERR_METRICS_TOO_MANY_SERIES before loading any sample.
 */
export interface SeriesStore {
  append(tenant: string, series: readonly SeriesSamples[]): Promise<AppendResult>;
  /** Raw samples of matching series in [startMs, endMs], stale markers included. */
  select(tenant: string, matchers: readonly Matcher[], startMs: number, endMs: number, options?: ReadOptions): Promise<RawSeries[]>;
  /** Instant vector at `tMs` (Prometheus instant query of a plain selector). */
  instant(tenant: string, selector: Selector, tMs: number, options?: QueryOptions): Promise<ResultSeries[]>;
  /** Range query: instant selection at start + k·step, k = 0… while ≤ end. */
  range(tenant: string, selector: Selector, startMs: number, endMs: number, stepMs: number, options?: QueryOptions): Promise<ResultSeries[]>;
  /** Range vector `sel[range]` at `tMs`: raw samples in (t − range, t], stale markers dropped. */
  rangeVector(tenant: string, selector: Selector, tMs: number, options?: ReadOptions): Promise<ResultSeries[]>;
  /** Label sets of series matching any of `matcherSets` with samples in (about) the window. */
  series(tenant: string, matcherSets: readonly (readonly Matcher[])[], bounds?: TimeBounds, options?: ReadOptions): Promise<Labels[]>;
  labelNames(tenant: string, matcherSets: readonly (readonly Matcher[])[], bounds?: TimeBounds, options?: ReadOptions): Promise<string[]>;
  labelValues(tenant: string, name: string, matcherSets: readonly (readonly Matcher[])[], bounds?: TimeBounds, options?: ReadOptions): Promise<string[]>;
  /** Federation: per matching series the latest sample in [at − lookback, at], unless it is a stale marker; in label-set order. */
  lastSamples(tenant: string, matcherSets: readonly (readonly Matcher[])[], atMs: number, options?: QueryOptions): Promise<LastSample[]>;
}

/** Housekeeping of a backend that owns its storage (the embedded store). */
export interface SeriesStoreMaintenance {
  /** Moves samples older than `beforeMs` from the append table into chunks. */
  compact(tenant: string, beforeMs: number): Promise<CompactionReport>;
  /** Deletes every sample older than `cutoffMs`, and series left without samples. */
  deleteBefore(tenant: string, cutoffMs: number): Promise<RetentionReport>;
  /** Series that received a sample within the active window (the cap's count). */
  activeSeries(tenant: string): Promise<number>;
}

export interface CompactionReport {
  readonly series: number;
  readonly samples: number;
  readonly chunksWritten: number;
  /** Samples that met a different value already compacted for the same timestamp (the compacted one is kept). */
  readonly conflicts: number;
}

export interface RetentionReport {
  /** Rows of the append table (not yet compacted samples) deleted. */
  readonly recentSamplesDeleted: number;
  readonly chunksDeleted: number;
  readonly chunksTrimmed: number;
  readonly seriesDeleted: number;
}
