import { isProbectlError } from '../core/errors.ts';
import type { BackendScheme } from './ref.ts';

/**
 * What GET /v1/secrets/health and the probectl_secrets_* metrics show. Nothing
 * here may carry secret material, a secret's path or field name, or a backend
 * credential: only schemes, counters, times and error texts that backends
 * build from status codes.
 */
export interface BackendHealth {
  scheme: BackendScheme;
  configured: boolean;
  /** Successful backend fetches. */
  resolves: number;
  /** Failed backend fetches. */
  failures: number;
  /** Attempts that failed transiently (reset, refused, timed out, 429/5xx) and were tried again within the fetch deadline. */
  retries: number;
  /** Unexpired sealed values held for this backend. */
  cached_leases: number;
  last_ok: string | null;
  last_error: string | null;
  last_error_at: string | null;
}

export interface TlsIdentityHealth {
  name: string;
  /** SHA-256 fingerprint of the certificate being served (public information). */
  fingerprint256: string | null;
  not_after: string | null;
  loaded_at: string | null;
  /** False while a renewal was rejected and the previous identity is still served. */
  current: boolean;
  reloads: number;
  failures: number;
  last_error: string | null;
  last_error_at: string | null;
}

export interface DeviceCredentialHealth {
  name: string;
  cycles: number;
  skipped: number;
  last_error: string | null;
  last_error_at: string | null;
}

export interface SecretsHealth {
  backends: BackendHealth[];
  tls_identities: TlsIdentityHealth[];
  device_credentials: DeviceCredentialHealth[];
}

/** Something that adds to the health report (TLS identities, device credentials). */
export interface HealthContributor {
  tlsIdentities?(): TlsIdentityHealth[];
  deviceCredentials?(): DeviceCredentialHealth[];
}

/** Mutable counters of one backend; the resolver owns them. */
export class BackendCounters {
  resolves = 0;
  failures = 0;
  retries = 0;
  cacheHits = 0;
  lastOkAt: number | undefined;
  lastError: string | undefined;
  lastErrorAt: number | undefined;

  ok(now: number): void {
    this.resolves += 1;
    this.lastOkAt = now;
  }

  failed(now: number, err: unknown): void {
    this.failures += 1;
    this.lastError = describeFailure(err);
    this.lastErrorAt = now;
  }
}

/** `CODE: message` for a ProbectlError (whose messages are redacted by contract); a fixed text for anything else. */
export function describeFailure(err: unknown): string {
  if (isProbectlError(err)) return `${err.code}: ${err.message}`;
  return 'PROBECTL_ERR_SECRET_UNAVAILABLE: unexpected failure';
}

export function isoOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
