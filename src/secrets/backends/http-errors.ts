import { HttpClientError, type HttpResponse } from '../../core/http/client.ts';
import { ProbectlError } from '../../core/errors.ts';
import { parseRetryAfter } from '../../core/retry/policy.ts';
import { isTransientCode, isTransientStatus, TransientSecretError } from '../backend.ts';

/**
 * Maps what went wrong talking to a secret backend onto the secret error
 * codes. Messages carry the backend's name, scheme+host and the HTTP status —
 * never a path, a field, a header or a response body (which may echo them).
 * A timeout of the request, or a reset, refused or otherwise broken
 * connection, is a TransientSecretError (the resolver retries it); a TLS
 * failure, an insecure address or a name that does not resolve is not.
 */
export function transportFailure(backend: string, err: unknown): ProbectlError {
  if (err instanceof ProbectlError) return err;
  if (err instanceof HttpClientError) {
    switch (err.kind) {
      case 'insecure':
        return new ProbectlError('PROBECTL_ERR_SECRET_INSECURE_TRANSPORT', `${backend}: ${err.message}`);
      case 'malformed':
      case 'too-large':
        return new ProbectlError('PROBECTL_ERR_SECRET_MALFORMED', `${backend}: ${err.message}`);
      case 'timeout':
        return new TransientSecretError(`${backend}: ${err.message}`);
      case 'aborted':
        // Aborted by a signal other than the caller's own: a login shared with an attempt that timed
        // out. The resolver retries only while the retrying attempt's own signal is live.
        return new TransientSecretError(`${backend}: ${err.message}`);
      case 'network':
        // No code at all: the connection failed in a way undici did not name; worth another attempt.
        if (err.causeCode === undefined || isTransientCode(err.causeCode)) return new TransientSecretError(`${backend}: ${err.message}`);
        return new ProbectlError('PROBECTL_ERR_SECRET_UNAVAILABLE', `${backend}: ${err.message}`);
      default:
        return new ProbectlError('PROBECTL_ERR_SECRET_UNAVAILABLE', `${backend}: ${err.message}`);
    }
  }
  return new ProbectlError('PROBECTL_ERR_SECRET_UNAVAILABLE', `${backend}: request failed (${(err as Error | undefined)?.name ?? 'error'})`);
}

/**
 * Classifies a non-success HTTP status: 401/403 denied, 404 not found,
 * 408/429/5xx (but 501/505) transient — with the answer's Retry-After when
 * `headers` carry one — and anything else final.
 */
export function statusFailure(backend: string, status: number, action = 'read', headers?: HttpResponse['headers']): ProbectlError {
  if (status === 401 || status === 403) return new ProbectlError('PROBECTL_ERR_SECRET_DENIED', `${backend} refused probectl's credentials for the ${action} (HTTP ${status})`);
  if (status === 404) return new ProbectlError('PROBECTL_ERR_SECRET_NOT_FOUND', `${backend}: the secret does not exist or is not visible to probectl (HTTP 404)`);
  if (isTransientStatus(status)) return new TransientSecretError(`${backend} is unavailable (HTTP ${status})`, parseRetryAfter(headers?.['retry-after'], Date.now()));
  if (status >= 500) return new ProbectlError('PROBECTL_ERR_SECRET_UNAVAILABLE', `${backend} is unavailable (HTTP ${status})`);
  if (status >= 300 && status < 400) return new ProbectlError('PROBECTL_ERR_SECRET_UNAVAILABLE', `${backend} answered with a redirect (HTTP ${status}), which probectl does not follow; configure the final address`);
  return new ProbectlError('PROBECTL_ERR_SECRET_UNAVAILABLE', `${backend} rejected the ${action} (HTTP ${status})`);
}

export function malformed(backend: string, what: string): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_SECRET_MALFORMED', `${backend} answered with ${what}`);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A credential field as bytes: strings as UTF-8, numbers and booleans as text; anything else is malformed. */
export function fieldBytes(backend: string, value: unknown): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (typeof value === 'number' || typeof value === 'boolean') return Buffer.from(String(value), 'utf8');
  throw malformed(backend, 'a field that is not a string');
}

/** Joins a base URL (which may carry a path prefix) with an API path. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

/** The body as JSON; anything else is a malformed answer. */
export function jsonBody(backend: string, res: HttpResponse): unknown {
  try {
    return res.json();
  } catch {
    throw malformed(backend, 'a body that is not JSON');
  }
}
