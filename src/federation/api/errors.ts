/**
 * Errors of the Prometheus HTTP API routes in Prometheus's shape
 * (`web/api/v1/api.go` `respondError`): `{"status":"error","errorType":…,"error":…}`
 * with Prometheus's status for each error type — bad_data 400, execution 422,
 * not_found 404, unavailable 503, internal 500, canceled/timeout 503 (`timeout`: a
 * regular expression over its time budget, PROBECTL_ERR_METRICS_QUERY_TIMEOUT).
 */
import { errorBody } from './json.ts';

/** Prometheus's errorType for an HTTP status probectl answers. */
export function errorTypeOf(status: number): string {
  if (status === 422) return 'execution';
  if (status === 404) return 'not_found';
  if (status === 503) return 'unavailable';
  if (status === 406) return 'not_acceptable';
  if (status >= 500) return 'internal';
  return 'bad_data';
}

/** The route's error body for an error the server classified (status, probectl code, message). */
export function prometheusError(err: { status: number; code?: string; message: string }): { body: string; contentType: string } {
  const type = err.code === 'PROBECTL_ERR_METRICS_QUERY_TIMEOUT' || err.code === 'PROBECTL_ERR_METRICS_UPSTREAM_TIMEOUT' ? 'timeout' : errorTypeOf(err.status);
  return { body: errorBody(type, err.message), contentType: 'application/json' };
}
