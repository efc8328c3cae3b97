import { ProbectlError } from '../../core/errors.ts';

/** The decoder's limits, each a bound on untrusted input (see decode.ts for defaults). */
export interface RemoteWriteLimits {
  /** Largest request body accepted, in bytes, as sent (snappy-compressed). */
  readonly maxCompressedBytes: number;
  /** Largest decompressed size accepted, read from the snappy header before inflating. */
  readonly maxDecompressedBytes: number;
  /** Most series (TimeSeries messages) in one request. */
  readonly maxSeries: number;
  /** Most samples in one request, all series together. */
  readonly maxSamples: number;
  /** Most labels on one series, as sent (including `__name__` and any `tenant_id`). */
  readonly maxLabelsPerSeries: number;
  /** Longest label name, in UTF-8 bytes. */
  readonly maxLabelNameBytes: number;
  /** Longest label value, in UTF-8 bytes. */
  readonly maxLabelValueBytes: number;
}

export type RemoteWriteErrorKind = 'malformed' | 'over-limit' | 'unsupported';

/**
 * The only error the remote-write decoder throws. `status` is what the route answers:
 * 400 for `malformed` and `over-limit` (a Prometheus sender drops the batch and does not
 * retry), 415 for `unsupported` (remote-write 2.0 or an unknown encoding: a Prometheus 3 sender
 * falls back to 1.0). `limit` names the limit an `over-limit` error hit.
 */
export class RemoteWriteError extends ProbectlError {
  readonly kind: RemoteWriteErrorKind;
  readonly limit: keyof RemoteWriteLimits | undefined;

  constructor(kind: RemoteWriteErrorKind, message: string, limit?: keyof RemoteWriteLimits) {
    super(
      kind === 'malformed' ? 'PROBECTL_ERR_METRICS_WRITE_MALFORMED' : kind === 'over-limit' ? 'PROBECTL_ERR_METRICS_WRITE_LIMIT' : 'PROBECTL_ERR_METRICS_WRITE_UNSUPPORTED',
      message,
      { details: limit === undefined ? { kind } : { kind, limit } },
    );
    this.name = 'RemoteWriteError';
    this.kind = kind;
    this.limit = limit;
  }
}
