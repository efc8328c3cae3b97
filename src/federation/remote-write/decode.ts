/**
 * Prometheus remote-write 1.0 decoding (https://prometheus.io/docs/specs/remote_write_spec/):
 * a snappy block-format body (not the framed format) holding a protobuf
 * `prometheus.WriteRequest` (`prompb/remote.proto`, `prompb/types.proto`). Pure: bytes and
 * the caller's tenant in, validated series out, or a `RemoteWriteError`.
 *
 * What it guarantees, in order, before any sample reaches the store:
 * 1. the compressed size is within `maxCompressedBytes`;
 * 2. the decompressed length announced by the snappy varint header is read *before*
 *    inflating and must be within `maxDecompressedBytes` (no decompression bombs), and the
 *    body must inflate to exactly that length (the `snappy` library checks it);
 * 3. series, samples, labels per series, exemplars, histograms and metadata entries are
 *    counted on the wire (wire-scan.ts) and within limits before any object is built; the
 *    protobuf is well-formed;
 * 4. every series has `__name__` with a valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`), label
 *    names valid in Prometheus's legacy scheme (`[a-zA-Z_][a-zA-Z0-9_]*`, the scheme of the
 *    1.0 spec and of the text format probectl federates out; UTF-8 names are refused), no
 *    duplicate names, names and values valid UTF-8 and within the length limits;
 * 5. every series' `tenant_id` is the caller's tenant, whatever was sent (the sent one is
 *    dropped and counted in `tenantOverridden`).
 *
 * Choices where the spec leaves room, all documented in docs/federation.md:
 * - the whole request is refused on the first invalid series (400, "changes nothing"), where
 *   Prometheus's own receiver skips invalid series (`storage/remote/write_handler.go`);
 * - native histograms (`TimeSeries.histograms`) are refused with a 400 naming the series —
 *   probectl stores floats only and never drops samples silently; Prometheus sends them only
 *   with `send_native_histograms: true`;
 * - exemplars are ignored (counted in `ignoredExemplars`), metadata is returned as decoded;
 * - labels with an empty value are dropped (Prometheus treats them as absent);
 * - labels are returned sorted by name whether or not the sender sorted them;
 * - two series that become identical once the tenant is forced are merged, samples in
 *   timestamp order;
 * - with `nowMs`, a sample more than `maxAheadMs` (default 10 minutes, Prometheus's
 *   `maxAheadTime`) in the future is refused like Prometheus refuses it (400);
 * - with `nowMs` and `retentionMs` (the embedded store's PROBECTL_METRICS_RETENTION), a sample
 *   before `nowMs − retentionMs` is refused (400): the store's retention job deletes every
 *   sample before that cut, so a 2xx would tell the sender it is stored when it is not
 *   (Prometheus's receiver refuses samples it cannot store, storage.ErrOutOfBounds, with 400).
 */
import { uncompressSync } from 'snappy';
import { RemoteWriteError, type RemoteWriteLimits } from './errors.ts';
import { scanWriteRequest, type WireCounts } from './wire-scan.ts';
import { METRIC_TYPES, type WireMetadata, type WireSample, type WireSeries, type WireWriteRequest, WriteRequestType } from './schema.ts';
import { isLegacyLabelName, isLegacyMetricName } from '../names.ts';
import { formatDuration } from '../../core/duration.ts';

/** Defaults sized for a Prometheus sender's batches (max_samples_per_send 2000 by default). */
export const DEFAULT_REMOTE_WRITE_LIMITS: RemoteWriteLimits = Object.freeze({
  maxCompressedBytes: 4 * 1024 * 1024,
  maxDecompressedBytes: 32 * 1024 * 1024,
  maxSeries: 10_000,
  maxSamples: 50_000,
  maxLabelsPerSeries: 64,
  maxLabelNameBytes: 256,
  maxLabelValueBytes: 2048,
});

export interface Label {
  readonly name: string;
  readonly value: string;
}

export interface Sample {
  /** Milliseconds since the Unix epoch. */
  readonly timestampMs: number;
  /** float64; may be NaN, ±Inf or the stale marker NaN (bits 0x7ff0000000000002). */
  readonly value: number;
}

export interface DecodedSeries {
  /** Sorted by name; includes `__name__` and exactly one `tenant_id` (the caller's tenant). */
  readonly labels: readonly Label[];
  /** In timestamp order. */
  readonly samples: readonly Sample[];
}

export interface DecodedMetadata {
  readonly metricFamilyName: string;
  readonly type: (typeof METRIC_TYPES)[number];
  readonly help: string;
  readonly unit: string;
}

export interface DecodedWriteRequest {
  readonly series: readonly DecodedSeries[];
  readonly sampleCount: number;
  readonly metadata: readonly DecodedMetadata[];
  /** Series that carried a `tenant_id` label of their own (replaced by the caller's tenant). */
  readonly tenantOverridden: number;
  readonly ignoredExemplars: number;
  /** Series sent with no sample (validated, then left out of `series`). */
  readonly emptySeries: number;
}

export interface DecodeOptions {
  /** The caller's tenant, forced as `tenant_id` on every series. */
  readonly tenant: string;
  readonly limits?: Partial<RemoteWriteLimits>;
  /** Current time in ms; when given, samples beyond `nowMs + maxAheadMs` are refused. */
  readonly nowMs?: number;
  readonly maxAheadMs?: number;
  /**
   * With `nowMs`: samples before `nowMs − retentionMs` are refused (the embedded store's
   * PROBECTL_METRICS_RETENTION; its retention job deletes samples before the same cut).
   * Unset (upstream mode: the engine keeps its own retention), no sample is too old.
   */
  readonly retentionMs?: number;
  /** The variable `retentionMs` comes from, named in the refusal (PROBECTL_METRICS_RETENTION when left out). */
  readonly retentionVariable?: string;
}

/** Fatal on invalid UTF-8; a leading U+FEFF is part of the text (Go keeps the bytes as sent), not a byte order mark to strip. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * From this inflated size on, the snappy library copies its output into a Buffer V8 allocates
 * rather than handing V8 its own allocation as an external buffer: measured here (Node 24,
 * snappy 7.4), a 250 KiB body inflated in 0.62 ms as an external buffer and 0.10 ms copied; below
 * ~64 KiB the external buffer is the faster (0.02 vs 0.05 ms at 62 KiB).
 */
const COPY_OUTPUT_FROM_BYTES = 64 * 1024;
const TENANT = 'tenant_id';

/**
 * Reads the uncompressed length from a snappy block header (a little-endian base-128 varint
 * of at most 32 bits). Returns undefined when the header is malformed.
 */
export function snappyDecompressedLength(body: Uint8Array): number | undefined {
  let result = 0;
  for (let i = 0; i < 5 && i < body.length; i++) {
    const b = body[i] as number;
    const part = b & 0x7f;
    if (i === 4 && part > 0x0f) return undefined;
    result += part * 2 ** (7 * i);
    if (b < 0x80) return result;
  }
  return undefined;
}

function limitsOf(partial: Partial<RemoteWriteLimits> | undefined): RemoteWriteLimits {
  const limits = { ...DEFAULT_REMOTE_WRITE_LIMITS, ...(partial ?? {}) };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`remote-write limit ${k} must be a positive integer`);
  }
  return limits;
}

/**
 * Decodes and validates a remote-write 1.0 body. Throws only `RemoteWriteError` (and
 * `TypeError` for a programming error in `options`).
 */
export function decodeRemoteWrite(body: Uint8Array, options: DecodeOptions): DecodedWriteRequest {
  const { raw, limits } = inflateRequest(body, options);
  return decodeInflated(raw, options, limits);
}

/**
 * Steps 1–3 of decodeRemoteWrite up to the wire counts: the tenant and limits checked, the body
 * inflated under the size limits and its counts within the count limits. Returns the inflated
 * protobuf and the effective limits; throws like decodeRemoteWrite.
 */
export function inflateRequest(body: Uint8Array, options: DecodeOptions): { raw: Buffer; limits: RemoteWriteLimits; counts: WireCounts } {
  if (typeof options.tenant !== 'string' || options.tenant === '' || !options.tenant.isWellFormed()) {
    throw new TypeError('decodeRemoteWrite: the tenant must be a non-empty, well-formed string');
  }
  const limits = limitsOf(options.limits);
  if (body.length > limits.maxCompressedBytes) {
    throw new RemoteWriteError('over-limit', `request body of ${body.length} bytes exceeds maxCompressedBytes (${limits.maxCompressedBytes})`, 'maxCompressedBytes');
  }
  const announced = snappyDecompressedLength(body);
  if (announced === undefined) throw new RemoteWriteError('malformed', 'body is not snappy block-format data: bad length header');
  if (announced > limits.maxDecompressedBytes) {
    throw new RemoteWriteError('over-limit', `decompressed size of ${announced} bytes (snappy header) exceeds maxDecompressedBytes (${limits.maxDecompressedBytes})`, 'maxDecompressedBytes');
  }
  let raw: Buffer;
  try {
    raw = uncompressSync(body, { asBuffer: true, copyOutputData: announced >= COPY_OUTPUT_FROM_BYTES }) as Buffer;
  } catch (err) {
    throw new RemoteWriteError('malformed', `body is not valid snappy block-format data (${err instanceof Error ? err.message : 'corrupt input'})`);
  }
  if (raw.length !== announced) throw new RemoteWriteError('malformed', 'snappy body does not inflate to its announced length');
  const counts = scanWriteRequest(raw, limits.maxLabelsPerSeries);
  checkCounts(counts, limits);
  return { raw, limits, counts };
}

/** Step 3 on (protobufjs decoding, then validation) of a body inflateRequest accepted. */
export function decodeInflated(raw: Uint8Array, options: DecodeOptions, limits: RemoteWriteLimits): DecodedWriteRequest {
  let request: WireWriteRequest;
  try {
    request = WriteRequestType.decode(raw) as unknown as WireWriteRequest;
  } catch (err) {
    throw new RemoteWriteError('malformed', `body is not a protobuf prometheus.WriteRequest (${err instanceof Error ? err.message : 'decode error'})`);
  }
  return validate(request, options, limits);
}

/**
 * The count limits, checked on the wire before protobufjs builds one object per series, label,
 * sample, exemplar, histogram or metadata entry (a 1 MiB body of empty messages would be
 * millions of objects). Exemplars and histograms, which probectl does not store, are bounded
 * by maxSamples each (a Prometheus sender batches them under the same max_samples_per_send).
 */
function checkCounts(counts: WireCounts, limits: RemoteWriteLimits): void {
  if (counts.series > limits.maxSeries) {
    throw new RemoteWriteError('over-limit', `request carries ${counts.series} series, more than maxSeries (${limits.maxSeries})`, 'maxSeries');
  }
  if (counts.samples > limits.maxSamples) {
    throw new RemoteWriteError('over-limit', `request carries ${counts.samples} samples, more than maxSamples (${limits.maxSamples})`, 'maxSamples');
  }
  for (const [what, n] of [['exemplars', counts.exemplars], ['native histogram samples', counts.histograms]] as const) {
    if (n > limits.maxSamples) throw new RemoteWriteError('over-limit', `request carries ${n} ${what}, more than maxSamples (${limits.maxSamples})`, 'maxSamples');
  }
  if (counts.metadata > limits.maxSeries) {
    throw new RemoteWriteError('over-limit', `request carries more metadata entries than maxSeries (${limits.maxSeries})`, 'maxSeries');
  }
  if (counts.overLabels) {
    const { index, labels } = counts.overLabels;
    throw new RemoteWriteError('over-limit', `series ${index} has ${labels} labels, more than maxLabelsPerSeries (${limits.maxLabelsPerSeries})`, 'maxLabelsPerSeries');
  }
}

function validate(request: WireWriteRequest, options: DecodeOptions, limits: RemoteWriteLimits): DecodedWriteRequest {
  const wireSeries = request.timeseries ?? [];
  if (wireSeries.length > limits.maxSeries) {
    throw new RemoteWriteError('over-limit', `request carries ${wireSeries.length} series, more than maxSeries (${limits.maxSeries})`, 'maxSeries');
  }
  let sampleTotal = 0;
  for (const s of wireSeries) sampleTotal += s.samples?.length ?? 0;
  if (sampleTotal > limits.maxSamples) {
    throw new RemoteWriteError('over-limit', `request carries ${sampleTotal} samples, more than maxSamples (${limits.maxSamples})`, 'maxSamples');
  }
  const maxTimestamp = maxTimestampOf(options);
  const minTimestamp = minTimestampOf(options);
  const merged = new Map<string, { labels: Label[]; samples: Sample[] }>();
  let tenantOverridden = 0;
  let ignoredExemplars = 0;
  let emptySeries = 0;
  wireSeries.forEach((wire, index) => {
    const { labels, overridden } = seriesLabels(wire, index, options.tenant, limits);
    if (overridden) tenantOverridden++;
    if ((wire.histograms?.length ?? 0) > 0) {
      throw new RemoteWriteError('malformed', `series ${index} (${JSON.stringify(describe(labels))}) carries native histogram samples, which probectl does not store; set send_native_histograms: false in the remote_write config`);
    }
    ignoredExemplars += wire.exemplars?.length ?? 0;
    const samples = (wire.samples ?? []).map((s) => sample(s, index, maxTimestamp, minTimestamp, options));
    if (samples.length === 0) {
      emptySeries++;
      return;
    }
    const key = labelSetKey(labels);
    const existing = merged.get(key);
    if (existing === undefined) merged.set(key, { labels, samples });
    else existing.samples.push(...samples);
  });
  const series: DecodedSeries[] = [];
  for (const s of merged.values()) {
    if (!isSorted(s.samples)) s.samples.sort((a, b) => a.timestampMs - b.timestampMs);
    series.push(s);
  }
  return {
    series,
    sampleCount: sampleTotal,
    metadata: (request.metadata ?? []).slice(0, limits.maxSeries + 1).map((m, i) => metadata(m, i, limits)),
    tenantOverridden,
    ignoredExemplars,
    emptySeries,
  };
}

/**
 * A key telling label sets apart (sorted, validated: names are legacy names, without control
 * characters). A value may hold the separators (NUL, U+0001 are valid UTF-8): such a set is keyed
 * by its JSON instead, so {a="x\u0001b\u0000y"} and {a="x", b="y"} never share a key.
 */
export function labelSetKey(labels: readonly Label[]): string {
  let key = '';
  for (const l of labels) {
    if (/[\u0000-\u0002]/.test(l.value)) return `\u0002${JSON.stringify(labels.map((x) => [x.name, x.value]))}`;
    key += `\u0001${l.name}\u0000${l.value}`;
  }
  return key;
}

function isSorted(samples: readonly Sample[]): boolean {
  for (let i = 1; i < samples.length; i++) if ((samples[i] as Sample).timestampMs < (samples[i - 1] as Sample).timestampMs) return false;
  return true;
}

function text(bytes: Uint8Array | undefined, what: string): string {
  if (bytes === undefined || bytes.length === 0) return '';
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new RemoteWriteError('malformed', `${what} is not valid UTF-8`);
  }
}

/** The validated label set of one series (step 4 and 5 of decodeRemoteWrite): sorted by name, the caller's tenant forced. */
export function seriesLabels(wire: WireSeries, index: number, tenant: string, limits: RemoteWriteLimits): { labels: Label[]; overridden: boolean } {
  const sent = wire.labels ?? [];
  if (sent.length > limits.maxLabelsPerSeries) {
    throw new RemoteWriteError('over-limit', `series ${index} has ${sent.length} labels, more than maxLabelsPerSeries (${limits.maxLabelsPerSeries})`, 'maxLabelsPerSeries');
  }
  const seen = new Set<string>();
  const labels: Label[] = [];
  let overridden = false;
  let name: string | undefined;
  for (const l of sent) {
    const nameBytes = l.name?.length ?? 0;
    const valueBytes = l.value?.length ?? 0;
    if (nameBytes > limits.maxLabelNameBytes) {
      throw new RemoteWriteError('over-limit', `series ${index} has a label name of ${nameBytes} bytes, more than maxLabelNameBytes (${limits.maxLabelNameBytes})`, 'maxLabelNameBytes');
    }
    if (valueBytes > limits.maxLabelValueBytes) {
      throw new RemoteWriteError('over-limit', `series ${index} has a label value of ${valueBytes} bytes, more than maxLabelValueBytes (${limits.maxLabelValueBytes})`, 'maxLabelValueBytes');
    }
    const labelName = text(l.name, `a label name of series ${index}`);
    const value = text(l.value, `the value of label ${JSON.stringify(labelName)} of series ${index}`);
    if (!isLegacyLabelName(labelName)) {
      throw new RemoteWriteError('malformed', `series ${index} has an invalid label name ${JSON.stringify(labelName)} (must match [a-zA-Z_][a-zA-Z0-9_]*)`);
    }
    if (seen.has(labelName)) throw new RemoteWriteError('malformed', `series ${index} has the label name ${JSON.stringify(labelName)} twice`);
    seen.add(labelName);
    if (labelName === TENANT) {
      overridden = true;
      continue;
    }
    if (labelName === '__name__') name = value;
    if (value === '') continue;
    labels.push({ name: labelName, value });
  }
  if (name === undefined || name === '') throw new RemoteWriteError('malformed', `series ${index} has no __name__ label`);
  if (!isLegacyMetricName(name)) {
    throw new RemoteWriteError('malformed', `series ${index} has an invalid metric name ${JSON.stringify(name)} (must match [a-zA-Z_:][a-zA-Z0-9_:]*)`);
  }
  labels.push({ name: TENANT, value: tenant });
  labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { labels, overridden };
}

function sample(s: WireSample, index: number, maxTimestamp: number | undefined, minTimestamp: number | undefined, options: DecodeOptions): Sample {
  const ts = s.timestamp;
  const timestampMs = ts === undefined ? 0 : typeof ts === 'number' ? ts : ts.toNumber();
  if (!Number.isSafeInteger(timestampMs)) {
    throw new RemoteWriteError('malformed', `series ${index} has a sample timestamp beyond ±2^53 ms (not an exact integer here; the embedded store keeps ±2^51 ms, about year 73,000)`);
  }
  if (maxTimestamp !== undefined && timestampMs > maxTimestamp) throw tooFarAhead(index, timestampMs, maxTimestamp, options);
  if (minTimestamp !== undefined && timestampMs < minTimestamp) throw tooOld(index, timestampMs, minTimestamp, options);
  return { timestampMs: timestampMs + 0, value: s.value ?? 0 };
}

/** The refusal of a sample after `maxTimestampMs` (maxTimestampOf: now + `options.maxAheadMs`, by default 10 minutes as Prometheus's maxAheadTime). */
export function tooFarAhead(index: number, timestampMs: number, maxTimestampMs: number, options: DecodeOptions): RemoteWriteError {
  return new RemoteWriteError('malformed', `series ${index} has a sample at ${isoTime(timestampMs)}, too far in the future: samples after ${isoTime(maxTimestampMs)} are refused (more than ${formatDuration(options.maxAheadMs ?? DEFAULT_MAX_AHEAD_MS)} ahead of probectl's clock, as Prometheus refuses them; check the sender's clock)`);
}

/** How far ahead of now a sample may be (Prometheus's maxAheadTime). */
const DEFAULT_MAX_AHEAD_MS = 10 * 60_000;

/** The latest sample time accepted (nowMs + maxAheadMs), or undefined without nowMs. */
export function maxTimestampOf(options: DecodeOptions): number | undefined {
  return options.nowMs === undefined ? undefined : options.nowMs + (options.maxAheadMs ?? DEFAULT_MAX_AHEAD_MS);
}

/** A sample time as ISO 8601 (clamped to the range a Date holds). */
function isoTime(ms: number): string {
  return new Date(Math.max(-8.64e15, Math.min(ms, 8.64e15))).toISOString();
}

/**
 * The refusal of a sample older than the retention: the sample time and the cut, never a label.
 * The cut is the retention job's (it deletes samples with t < now − retention): a sample at the
 * cut itself is kept.
 */
export function tooOld(index: number, timestampMs: number, minTimestampMs: number, options: DecodeOptions): RemoteWriteError {
  return new RemoteWriteError('malformed', `series ${index} has a sample at ${isoTime(timestampMs)}, older than ${options.retentionVariable ?? 'PROBECTL_METRICS_RETENTION'} (${formatDuration(options.retentionMs as number)}) allows: samples before ${isoTime(minTimestampMs)} are not kept (nothing of this request was stored)`);
}

/** The earliest sample time accepted (nowMs − retentionMs), or undefined without both. */
export function minTimestampOf(options: DecodeOptions): number | undefined {
  return options.nowMs === undefined || options.retentionMs === undefined ? undefined : options.nowMs - options.retentionMs;
}

function metadata(m: WireMetadata, index: number, limits: RemoteWriteLimits): DecodedMetadata {
  if (index >= limits.maxSeries) {
    throw new RemoteWriteError('over-limit', `request carries more metadata entries than maxSeries (${limits.maxSeries})`, 'maxSeries');
  }
  for (const [field, bytes] of [['metric_family_name', m.metricFamilyName], ['help', m.help], ['unit', m.unit]] as const) {
    if ((bytes?.length ?? 0) > limits.maxLabelValueBytes) {
      throw new RemoteWriteError('over-limit', `metadata entry ${index} has a ${field} of ${bytes?.length} bytes, more than maxLabelValueBytes (${limits.maxLabelValueBytes})`, 'maxLabelValueBytes');
    }
  }
  return {
    metricFamilyName: text(m.metricFamilyName, `metadata entry ${index} metric_family_name`),
    type: METRIC_TYPES[m.type ?? 0] ?? 'unknown',
    help: text(m.help, `metadata entry ${index} help`),
    unit: text(m.unit, `metadata entry ${index} unit`),
  };
}

function describe(labels: readonly Label[]): string {
  const name = labels.find((l) => l.name === '__name__')?.value ?? '';
  return name.length > 64 ? `${name.slice(0, 64)}…` : name;
}
