import type { ConfigProblem, SectionValue } from '../config/section.ts';
import { duration, int } from '../config/vars.ts';
import type { RemoteWriteLimits } from './remote-write/errors.ts';
import { upstreamSettings, upstreamVars, type UpstreamSettings } from './upstream/config.ts';

const MIB = 1_048_576;

/**
 * PROBECTL_METRICS_*: the metrics federation section (docs/federation.md).
 * Unlike the outbound integrations there is no switch: the query API is
 * read-only and tenant-scoped, so it is always served; these variables bound
 * it and tune its background jobs.
 */
export const metricsVars = {
  retention: duration('PROBECTL_METRICS_RETENTION', { default: '15d', minMs: 3_600_000, maxMs: 3650 * 86_400_000, doc: 'How long samples are kept; older samples (and series left without samples) are deleted by a background job, and a remote-write request holding a sample older than now minus this is refused whole with 400 (the variable named). Not used in upstream mode (the engine keeps its own retention).' }),
  selfInterval: duration('PROBECTL_METRICS_SELF_INTERVAL', { default: '15s', minMs: 1000, maxMs: 120_000, doc: 'How often probectl records its own per-tenant `probectl_*` series (open incidents by severity, signals by kind, SIEM export lag/delivered/parked, secret-backend health for the provider tenant) into the metrics store. At most 2m: a sample older than the 5-minute lookback no longer shows in instant queries and federation, and timestamps are aligned on the interval.' }),
  maxSeries: int('PROBECTL_METRICS_MAX_SERIES', { default: 10_000, min: 1, max: 1_000_000, doc: 'Cardinality guard: a query, series, labels, label-values or federate request matching more series than this fails closed with 422 (`execution`) and returns nothing; narrow the selector.' }),
  maxTenantSeries: int('PROBECTL_METRICS_MAX_TENANT_SERIES', { default: 100_000, min: 1, max: 100_000_000, doc: 'Active series a tenant may have (a series is active while it received a sample within the last hour); remote-write refuses new series beyond it with 400, samples of existing series are still stored.' }),
  maxConcurrentQueries: int('PROBECTL_METRICS_MAX_CONCURRENT_QUERIES', { default: 8, min: 1, max: 1000, doc: 'Metrics reads (query, query_range, series, labels, label values, federate) served at once, each from its start until its answer is written (Prometheus\'s --query.max-concurrency); the others wait in line up to PROBECTL_METRICS_QUERY_TIMEOUT, then get 503. One tenant holds at most half of them (rounded up), so another tenant\'s read still gets a slot. Bounds the memory of answers being streamed to slow readers.' }),
  queryTimeout: duration('PROBECTL_METRICS_QUERY_TIMEOUT', { default: '2m', minMs: 1000, maxMs: 3_600_000, doc: 'How long a metrics read may wait for its turn (then 503, retry), and how long its answer may take to be written (then the connection is closed), as Prometheus\'s --query.timeout.' }),
  maxSamples: int('PROBECTL_METRICS_QUERY_MAX_SAMPLES', { default: 5_000_000, min: 1000, max: 100_000_000, doc: 'Most samples one query may load or return (all series together); beyond it the query fails with 422 (`execution`), as Prometheus\'s --query.max-samples.' }),
  writeMaxBodyBytes: int('PROBECTL_METRICS_WRITE_MAX_BODY_BYTES', { default: 4 * MIB, min: 1024, max: 64 * MIB, doc: 'Largest remote-write request body, as sent (snappy-compressed); a larger body is refused with 400 naming this limit.' }),
  writeMaxDecompressedBytes: int('PROBECTL_METRICS_WRITE_MAX_DECOMPRESSED_BYTES', { default: 32 * MIB, min: 1024, max: 512 * MIB, doc: 'Largest decompressed remote-write body, read from the snappy header before anything is inflated (no decompression bombs).' }),
  writeMaxSeries: int('PROBECTL_METRICS_WRITE_MAX_SERIES', { default: 10_000, min: 1, max: 1_000_000, doc: 'Most series in one remote-write request.' }),
  writeMaxSamples: int('PROBECTL_METRICS_WRITE_MAX_SAMPLES', { default: 50_000, min: 1, max: 10_000_000, doc: 'Most samples in one remote-write request, all series together (Prometheus sends at most max_samples_per_send, 2,000 by default).' }),
  writeMaxLabels: int('PROBECTL_METRICS_WRITE_MAX_LABELS', { default: 64, min: 2, max: 1000, doc: 'Most labels on one remote-written series, `__name__` and any `tenant_id` included.' }),
  writeMaxLabelNameBytes: int('PROBECTL_METRICS_WRITE_MAX_LABEL_NAME_BYTES', { default: 256, min: 16, max: 512, doc: 'Longest label name in a remote-write request, in UTF-8 bytes (at most 512: with the value, a label is one database index entry).' }),
  writeMaxLabelValueBytes: int('PROBECTL_METRICS_WRITE_MAX_LABEL_VALUE_BYTES', { default: 2048, min: 16, max: 2048, doc: 'Longest label value (the metric name included) in a remote-write request, in UTF-8 bytes (at most 2048, as Grafana Mimir\'s default: with its name, a label is one database index entry, which PostgreSQL bounds at 2,704 bytes).' }),
  ...upstreamVars,
};

export type MetricsVars = SectionValue<typeof metricsVars>;

/** The remote-write limits by their variable names (errors and docs name the variable). */
export const WRITE_LIMIT_VARIABLES: Readonly<Record<keyof RemoteWriteLimits, string>> = {
  maxCompressedBytes: 'PROBECTL_METRICS_WRITE_MAX_BODY_BYTES',
  maxDecompressedBytes: 'PROBECTL_METRICS_WRITE_MAX_DECOMPRESSED_BYTES',
  maxSeries: 'PROBECTL_METRICS_WRITE_MAX_SERIES',
  maxSamples: 'PROBECTL_METRICS_WRITE_MAX_SAMPLES',
  maxLabelsPerSeries: 'PROBECTL_METRICS_WRITE_MAX_LABELS',
  maxLabelNameBytes: 'PROBECTL_METRICS_WRITE_MAX_LABEL_NAME_BYTES',
  maxLabelValueBytes: 'PROBECTL_METRICS_WRITE_MAX_LABEL_VALUE_BYTES',
};

export interface MetricsSettings {
  readonly retentionMs: number;
  readonly selfIntervalMs: number;
  readonly maxSeries: number;
  readonly maxTenantSeries: number;
  readonly maxSamples: number;
  readonly maxConcurrentQueries: number;
  readonly queryTimeoutMs: number;
  readonly writeLimits: RemoteWriteLimits;
  /** How often the append table is compacted into chunks. */
  readonly compactionIntervalMs: number;
  /** How often samples beyond the retention are deleted. */
  readonly retentionIntervalMs: number;
  /** Instant-selection lookback (Prometheus's default, 5 minutes). */
  readonly lookbackMs: number;
  /** Upstream mode (PROBECTL_METRICS_UPSTREAM_URL): the engine holding the series; undefined: the embedded store. */
  readonly upstream?: UpstreamSettings;
}

/**
 * The section's settings. Always defined when the values are valid: the
 * metrics API is always on (read-only, tenant-scoped).
 */
export function metricsSettings(v: MetricsVars, problems: ConfigProblem[]): MetricsSettings | undefined {
  const before = problems.length;
  if (v.writeMaxDecompressedBytes < v.writeMaxBodyBytes) {
    problems.push({ variable: 'PROBECTL_METRICS_WRITE_MAX_DECOMPRESSED_BYTES', problem: 'smaller than PROBECTL_METRICS_WRITE_MAX_BODY_BYTES', accepts: 'a decompressed limit no smaller than the body limit' });
  }
  if (v.selfInterval * 2 > v.retention) {
    problems.push({ variable: 'PROBECTL_METRICS_SELF_INTERVAL', problem: 'longer than half of PROBECTL_METRICS_RETENTION', accepts: 'an interval well below the retention' });
  }
  const upstream = upstreamSettings(v, problems);
  if (problems.length > before) return undefined;
  return {
    ...(upstream ? { upstream } : {}),
    retentionMs: v.retention,
    selfIntervalMs: v.selfInterval,
    maxSeries: v.maxSeries,
    maxTenantSeries: v.maxTenantSeries,
    maxSamples: v.maxSamples,
    maxConcurrentQueries: v.maxConcurrentQueries,
    queryTimeoutMs: v.queryTimeout,
    writeLimits: {
      maxCompressedBytes: v.writeMaxBodyBytes,
      maxDecompressedBytes: v.writeMaxDecompressedBytes,
      maxSeries: v.writeMaxSeries,
      maxSamples: v.writeMaxSamples,
      maxLabelsPerSeries: v.writeMaxLabels,
      maxLabelNameBytes: v.writeMaxLabelNameBytes,
      maxLabelValueBytes: v.writeMaxLabelValueBytes,
    },
    compactionIntervalMs: 60_000,
    retentionIntervalMs: 600_000,
    lookbackMs: 300_000,
  };
}
