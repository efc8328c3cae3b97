/**
 * POST /v1/prometheus/write: Prometheus remote-write 1.0 into the caller's
 * tenant (https://prometheus.io/docs/specs/remote_write_spec/, "Retries &
 * Backoff": 2xx stored, 4xx dropped by the sender, 5xx and 429 retried).
 *
 * - the headers are checked first (remote-write 2.0 or another encoding: 415, a
 *   Prometheus 3 sender falls back to 1.0);
 * - the body is decoded under the configured limits (remote-write/decode.ts):
 *   over a limit 400 naming the variable, malformed 400 — nothing stored;
 * - every series' `tenant_id` is the caller's tenant (forced on decode, checked
 *   again by the store);
 * - a sample older than now − PROBECTL_METRICS_RETENTION refuses the whole request
 *   on decode (400 naming the series index, the sample time and the variable; nothing
 *   stored): the retention job deletes samples before that cut (`now` is read from the
 *   server's clock, as the store's and the retention job's), so a 2xx would be a lie;
 * - the store keeps what is valid; a refusal (new series over the tenant's cap,
 *   a different value for a stored timestamp, a sample too far ahead) answers
 *   400 naming it, so the sender does not retry what would be refused again;
 * - the database unavailable answers 503 (retried).
 *
 * Failures are logged with counts, never label sets or values.
 */
import type { Logger } from 'pino';
import { ProbectlError } from '../core/errors.ts';
import { WRITE_LIMIT_VARIABLES } from './config.ts';
import { checkRemoteWriteHeaders } from './remote-write/content-type.ts';
import { decodeRemoteWriteColumns, RemoteWriteLabelCache, type ColumnarWriteRequest } from './remote-write/columns.ts';
import { RemoteWriteError, type RemoteWriteLimits } from './remote-write/errors.ts';
import type { FederationMetrics } from './runtime.ts';
import type { AppendResult, SeriesStore } from './store/types.ts';

export interface WriteContext {
  readonly store: SeriesStore;
  readonly tenant: string;
  readonly limits: RemoteWriteLimits;
  /** The request's time (the server's clock, as the store's and the retention job's). */
  readonly now: number;
  /** PROBECTL_METRICS_RETENTION: samples before now − retentionMs are refused. */
  readonly retentionMs: number;
  readonly log: Logger;
  readonly metrics: FederationMetrics | undefined;
}

/** Validated label sets of this process's remote-write senders (keyed by tenant and label bytes). */
const labelCache = new RemoteWriteLabelCache();

/** The limit's variable in an over-limit message, so the operator knows what to raise. */
export function namedLimit(err: RemoteWriteError): RemoteWriteError {
  if (err.kind !== 'over-limit' || err.limit === undefined) return err;
  return new RemoteWriteError(err.kind, `${err.message}; the limit is ${WRITE_LIMIT_VARIABLES[err.limit]}`, err.limit);
}

/** The error a body over PROBECTL_METRICS_WRITE_MAX_BODY_BYTES gets (the server stops reading at the limit). */
export function bodyTooLarge(limit: number): RemoteWriteError {
  return namedLimit(new RemoteWriteError('over-limit', `request body exceeds maxCompressedBytes (${limit})`, 'maxCompressedBytes'));
}

/**
 * A refusal's message for the log: every quoted part (the label names, values and header
 * values the sender sent, which the sender itself is told) replaced by "…", so the log
 * carries no payload, not even an invalid one.
 */
function withoutQuoted(message: string): string {
  return message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"');
}

function refusal(result: AppendResult): ProbectlError {
  const first = result.errors[0] as ProbectlError;
  const message = result.errors.map((e) => e.message).join('; ');
  return new ProbectlError(first.code, `${result.stored} sample${result.stored === 1 ? '' : 's'} stored, ${result.duplicates} already stored; ${message}`, {
    details: { stored: result.stored, duplicates: result.duplicates, refused: result.refused },
  });
}

/** Handles one remote-write request; resolves when everything was stored, throws the answer otherwise. */
export async function remoteWrite(ctx: WriteContext, headers: { contentType?: string | undefined; contentEncoding?: string | undefined }, body: Uint8Array): Promise<{ stored: number; duplicates: number }> {
  const log = ctx.log;
  let decoded: ColumnarWriteRequest;
  try {
    checkRemoteWriteHeaders(headers);
    decoded = decodeRemoteWriteColumns(body, { tenant: ctx.tenant, limits: ctx.limits, nowMs: ctx.now, retentionMs: ctx.retentionMs }, labelCache);
  } catch (err) {
    if (!(err instanceof RemoteWriteError)) throw err;
    const named = namedLimit(err);
    ctx.metrics?.writeRequests.inc({ outcome: err.kind === 'unsupported' ? 'unsupported' : 'refused' });
    log.warn({ tenant: ctx.tenant, bytes: body.length, kind: err.kind, limit: err.limit, reason: withoutQuoted(named.message).slice(0, 300) }, 'remote-write refused');
    throw named;
  }
  let result: AppendResult;
  try {
    result = await ctx.store.append(ctx.tenant, decoded.series);
  } catch (err) {
    if (err instanceof ProbectlError && err.status < 500) {
      // The store refused the request (a series it cannot hold, e.g. a label value with NUL): the sender's, not the database's.
      ctx.metrics?.writeRequests.inc({ outcome: 'refused' });
      log.warn({ tenant: ctx.tenant, series: decoded.series.length, samples: decoded.sampleCount, err: err.code }, 'remote-write refused by the store: samples not stored');
      throw err;
    }
    ctx.metrics?.writeRequests.inc({ outcome: 'failed' });
    log.error({ tenant: ctx.tenant, series: decoded.series.length, samples: decoded.sampleCount, err: err instanceof ProbectlError ? err.code : withoutQuoted(String((err as Error)?.message)) }, 'remote-write failed: samples not stored');
    throw new ProbectlError('PROBECTL_ERR_DB_UNAVAILABLE', 'the metrics store is unavailable; nothing of this request was stored (retry)');
  }
  ctx.metrics?.writeSamples.inc({ outcome: 'stored' }, result.stored);
  ctx.metrics?.writeSamples.inc({ outcome: 'duplicate' }, result.duplicates);
  if (result.errors.length > 0) {
    const refused = result.refused.conflicts + result.refused.tooNew + result.refused.limitedSamples;
    ctx.metrics?.writeSamples.inc({ outcome: 'refused' }, refused);
    ctx.metrics?.writeRequests.inc({ outcome: result.stored > 0 ? 'partial' : 'refused' });
    log.warn({ tenant: ctx.tenant, series: decoded.series.length, samples: decoded.sampleCount, stored: result.stored, duplicates: result.duplicates, ...result.refused }, 'remote-write partly refused');
    throw refusal(result);
  }
  ctx.metrics?.writeRequests.inc({ outcome: 'stored' });
  if (decoded.tenantOverridden > 0) log.info({ tenant: ctx.tenant, series: decoded.tenantOverridden }, 'remote-write: tenant_id labels replaced by the caller\'s tenant');
  return { stored: result.stored, duplicates: result.duplicates };
}
