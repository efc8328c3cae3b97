import type { BackendScheme, SecretRef } from './ref.ts';

/** What a backend hands the resolver: fresh material and, when the backend says so, how long it may be held. */
export interface FetchedSecret {
  /** The plaintext; the resolver seals it and zeroes this buffer. */
  value: Buffer;
  /** A backend-imposed lease (Vault lease_duration); the shorter of this and PROBECTL_SECRETS_LEASE wins. */
  leaseMs?: number | undefined;
}

/**
 * One secret store. A backend only fetches: no caching, no retries, no
 * logging. Any failure throws a ProbectlError with a PROBECTL_ERR_SECRET_* code
 * whose message never contains secret material, paths or field names; it
 * never returns an empty, partial or stale value.
 */
export interface SecretBackend {
  readonly scheme: BackendScheme;
  fetch(ref: SecretRef, signal: AbortSignal): Promise<FetchedSecret>;
  close?(): Promise<void>;
}
