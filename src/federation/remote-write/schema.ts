/**
 * The protobuf schema of Prometheus remote-write 1.0, as protobufjs static reflection (no code
 * generation, no .proto file to ship). Field numbers and types follow `prompb/remote.proto`
 * (`WriteRequest`) and `prompb/types.proto` (`TimeSeries`, `Label`, `Sample`, `Exemplar`,
 * `Histogram`, `MetricMetadata`) in github.com/prometheus/prometheus, and the spec at
 * https://prometheus.io/docs/specs/remote_write_spec/.
 *
 * Two deliberate differences from the .proto files, both wire-compatible:
 * - label names and values, and metadata strings, are declared `bytes` so the decoder can
 *   refuse invalid UTF-8 (protobufjs would silently replace it with U+FFFD);
 * - `Exemplar` and `Histogram` are declared without fields: probectl ignores exemplars and
 *   refuses native histograms, so it only needs to see that they are present (protobufjs still
 *   walks their bytes and rejects malformed ones).
 */
import protobuf from 'protobufjs';

const DESCRIPTOR = {
  nested: {
    prometheus: {
      nested: {
        WriteRequest: {
          fields: {
            timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 },
            metadata: { rule: 'repeated', type: 'MetricMetadata', id: 3 },
          },
          reserved: [[2, 2]],
        },
        TimeSeries: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
            exemplars: { rule: 'repeated', type: 'Exemplar', id: 3 },
            histograms: { rule: 'repeated', type: 'Histogram', id: 4 },
          },
        },
        Label: {
          fields: {
            name: { type: 'bytes', id: 1 },
            value: { type: 'bytes', id: 2 },
          },
        },
        Sample: {
          fields: {
            value: { type: 'double', id: 1 },
            timestamp: { type: 'int64', id: 2 },
          },
        },
        Exemplar: { fields: {} },
        Histogram: { fields: {} },
        MetricMetadata: {
          fields: {
            type: { type: 'int32', id: 1 },
            metricFamilyName: { type: 'bytes', id: 2 },
            help: { type: 'bytes', id: 4 },
            unit: { type: 'bytes', id: 5 },
          },
        },
      },
    },
  },
} as const;

const root = protobuf.Root.fromJSON(DESCRIPTOR as unknown as protobuf.INamespace);

/** `prometheus.WriteRequest`, for decoding (and, in tests, encoding). */
export const WriteRequestType: protobuf.Type = root.lookupType('prometheus.WriteRequest');

/** `prometheus.Label`, for decoding the labels of one series (remote-write/columns.ts). */
export const LabelType: protobuf.Type = root.lookupType('prometheus.Label');

/** `MetricMetadata.MetricType` names, by wire value (types.proto). */
export const METRIC_TYPES = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset'] as const;

/** Shapes protobufjs produces with this descriptor. */
export interface WireLabel { name?: Uint8Array; value?: Uint8Array }
export interface WireSample { value?: number; timestamp?: number | { toNumber(): number; low: number; high: number } }
export interface WireSeries { labels?: WireLabel[]; samples?: WireSample[]; exemplars?: unknown[]; histograms?: unknown[] }
export interface WireMetadata { type?: number; metricFamilyName?: Uint8Array; help?: Uint8Array; unit?: Uint8Array }
export interface WireWriteRequest { timeseries?: WireSeries[]; metadata?: WireMetadata[] }
