import { ProbectlError } from '../core/errors.ts';
import type { BackendScheme, SecretRef } from './ref.ts';

/** What a backend hands the resolver: fresh material and, when the backend says so, how long it may be held. */
export interface FetchedSecret {
  /** The plaintext; the resolver seals it and zeroes this buffer. */
  value: Buffer;
  /** A backend-imposed lease (Vault lease_duration); the shorter of this and PROBECTL_SECRETS_LEASE wins. */
  leaseMs?: number | undefined;
}

/**
 * One secret store. A backend only fetches and classifies: no caching, no
 * retries, no logging. Any failure throws a ProbectlError with a
 * PROBECTL_ERR_SECRET_* code whose message never contains secret material,
 * paths or field names; a failure another attempt may not meet is thrown as a
 * TransientSecretError. It never returns an empty, partial or stale value.
 */
export interface SecretBackend {
  readonly scheme: BackendScheme;
  fetch(ref: SecretRef, signal: AbortSignal): Promise<FetchedSecret>;
  close?(): Promise<void>;
}

/**
 * A failure another attempt may not meet: the connection was reset or
 * refused, the backend's own per-request deadline passed, or it answered
 * 408/429/5xx (or the SDK's or gRPC's equivalent: throttling, UNAVAILABLE).
 * Code PROBECTL_ERR_SECRET_UNAVAILABLE. The resolver (the only caller of
 * backends) retries it with backoff within PROBECTL_SECRETS_TIMEOUT; every
 * other failure — denied, not found, malformed, insecure — is final at once.
 */
export class TransientSecretError extends ProbectlError {
  /** The backend's Retry-After, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, retryAfterMs?: number) {
    super('PROBECTL_ERR_SECRET_UNAVAILABLE', message);
    this.retryAfterMs = retryAfterMs;
  }
}

/** 408, 429 and 5xx other than 501 (not implemented) and 505 (HTTP version): worth another attempt. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/**
 * Socket-level failures of one connection attempt that a restart, a failover
 * or a brief network fault explains (Node's and undici's codes; the AWS SDK
 * classifies the same set as transient). ENOTFOUND is left out on purpose: a
 * host name that does not exist is a configuration error and fails at once
 * (EAI_AGAIN, a resolver that could not answer now, is retried).
 */
const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ERR_HTTP2_STREAM_ERROR',
]);

export function isTransientCode(code: string | undefined): boolean {
  return code !== undefined && TRANSIENT_CODES.has(code);
}
