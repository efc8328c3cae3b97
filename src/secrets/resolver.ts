import { systemClock, type Clock } from '../core/clock.ts';
import { isProbectlError, ProbectlError } from '../core/errors.ts';
import { retry, RetryAborted, sleep, type Outcome } from '../core/retry/loop.ts';
import type { RetryPolicy } from '../core/retry/policy.ts';
import { TransientSecretError, type FetchedSecret, type SecretBackend } from './backend.ts';
import { backendVariable } from './config.ts';
import { BackendCounters, isoOrNull, type BackendHealth, type HealthContributor, type SecretsHealth } from './health.ts';
import { REFERENCE_SCHEMES, refKey, type BackendScheme, type SecretRef } from './ref.ts';
import { Sealer } from './seal.ts';
import { Secret } from './secret.ts';

export interface SecretResolverOptions {
  backends: readonly SecretBackend[];
  /** PROBECTL_SECRETS_LEASE: the longest a resolved value is held; a shorter backend lease wins. */
  leaseMs: number;
  clock?: Clock;
  /** PROBECTL_SECRETS_TIMEOUT: deadline for one fetch, retries included; default 10 s. */
  timeoutMs?: number;
  /** How transient failures are retried within the deadline; default SECRET_FETCH_RETRY. */
  retry?: RetryPolicy;
}

/**
 * How a secret fetch retries a transient failure (a reset or refused
 * connection, one attempt timing out, 408/429/5xx): exponential backoff with
 * full jitter from 100 ms up to 2 s, a Retry-After honoured up to 5 s, as
 * many attempts as fit in PROBECTL_SECRETS_TIMEOUT. A backoff that would end
 * past the deadline is not waited for: the fetch fails at once.
 */
export const SECRET_FETCH_RETRY: RetryPolicy = { baseMs: 100, capMs: 2_000, maxAttempts: Number.POSITIVE_INFINITY, maxRetryAfterMs: 5_000 };

/** One attempt may take this share of PROBECTL_SECRETS_TIMEOUT, so an attempt that hangs leaves time for another. */
const ATTEMPT_SHARE = 0.5;

/** Numbers behind the health report, for the metrics collector. */
export interface BackendStats {
  scheme: BackendScheme;
  configured: boolean;
  resolves: number;
  failures: number;
  /** Attempts that failed transiently and were tried again (a fetch that succeeded on its 3rd attempt counts 2). */
  retries: number;
  cacheHits: number;
  cachedLeases: number;
  lastOkAt: number | undefined;
  lastErrorAt: number | undefined;
}

interface Entry {
  readonly sealed: Buffer;
  readonly aad: Buffer;
  readonly expiresAt: number;
  readonly scheme: BackendScheme;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const SWEEP_EVERY = 64;

/**
 * Resolves secret references at use time. A resolved value is held only as
 * AES-256-GCM ciphertext under this resolver's random key (AAD = the
 * reference) until its lease ends; the next use after that fetches again, so
 * an upstream rotation applies without a restart. Concurrent misses for one
 * reference share one backend call. Every failure — unconfigured scheme,
 * unreachable backend, timeout, bad answer, empty value — is an error; an
 * expired value is never served.
 */
export class SecretResolver {
  readonly #sealer = new Sealer();
  readonly #backends = new Map<BackendScheme, SecretBackend>();
  readonly #counters = new Map<BackendScheme, BackendCounters>();
  readonly #cache = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<Entry>>();
  readonly #keys = new WeakMap<SecretRef, string>();
  readonly #contributors: HealthContributor[] = [];
  readonly #closing = new AbortController();
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  #misses = 0;
  #closed = false;

  constructor(opts: SecretResolverOptions) {
    if (!(opts.leaseMs > 0)) throw new RangeError('leaseMs must be positive');
    for (const backend of opts.backends) {
      if (this.#backends.has(backend.scheme)) throw new Error(`two secret backends for scheme ${backend.scheme}`);
      this.#backends.set(backend.scheme, backend);
    }
    for (const scheme of REFERENCE_SCHEMES) this.#counters.set(scheme, new BackendCounters());
    this.#clock = opts.clock ?? systemClock;
    this.#leaseMs = opts.leaseMs;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#retry = opts.retry ?? SECRET_FETCH_RETRY;
  }

  isConfigured(scheme: BackendScheme): boolean {
    return this.#backends.has(scheme);
  }

  /**
   * Calls `fn` with the plaintext in a buffer that is zeroed when `fn`
   * settles. `fn` must not keep the buffer (or a copy) beyond its call.
   */
  async use<T>(ref: SecretRef, fn: (plaintext: Buffer) => T | Promise<T>): Promise<T> {
    const plaintext = await this.#plaintext(ref);
    try {
      return await fn(plaintext);
    } finally {
      plaintext.fill(0);
    }
  }

  /** Resolves now (failing closed) and returns a handle whose `use` stays current across leases. */
  async resolve(ref: SecretRef): Promise<Secret> {
    await this.use(ref, () => undefined);
    return new Secret((fn) => this.use(ref, fn));
  }

  /** Drops the cached value, so the next use fetches again (e.g. after the peer rejected the credential). */
  forget(ref: SecretRef): void {
    if (ref.scheme === 'literal') return;
    const key = this.#keyOf(ref);
    const entry = this.#cache.get(key);
    if (entry) this.#drop(key, entry);
  }

  addHealthContributor(contributor: HealthContributor): void {
    this.#contributors.push(contributor);
  }

  stats(): BackendStats[] {
    const live = this.#liveLeases();
    return REFERENCE_SCHEMES.map((scheme) => {
      const c = this.#counters.get(scheme) as BackendCounters;
      return {
        scheme, configured: this.#backends.has(scheme), resolves: c.resolves, failures: c.failures, retries: c.retries, cacheHits: c.cacheHits,
        cachedLeases: live.get(scheme) ?? 0, lastOkAt: c.lastOkAt, lastErrorAt: c.lastErrorAt,
      };
    });
  }

  health(): SecretsHealth {
    const live = this.#liveLeases();
    const backends: BackendHealth[] = REFERENCE_SCHEMES.map((scheme) => {
      const c = this.#counters.get(scheme) as BackendCounters;
      return {
        scheme,
        configured: this.#backends.has(scheme),
        resolves: c.resolves,
        failures: c.failures,
        retries: c.retries,
        cached_leases: live.get(scheme) ?? 0,
        last_ok: isoOrNull(c.lastOkAt),
        last_error: c.lastError ?? null,
        last_error_at: isoOrNull(c.lastErrorAt),
      };
    });
    return {
      backends,
      tls_identities: this.#contributors.flatMap((c) => c.tlsIdentities?.() ?? []),
      device_credentials: this.#contributors.flatMap((c) => c.deviceCredentials?.() ?? []),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    for (const [key, entry] of this.#cache) this.#drop(key, entry);
    await Promise.all([...this.#backends.values()].map((b) => b.close?.().catch(() => undefined)));
  }

  async #plaintext(ref: SecretRef): Promise<Buffer> {
    if (this.#closed) throw closedError();
    if (ref.scheme === 'literal') return Buffer.from(ref.value, 'utf8');
    const key = this.#keyOf(ref);
    const hit = this.#cache.get(key);
    if (hit !== undefined) {
      if (hit.expiresAt > this.#clock.now()) {
        (this.#counters.get(hit.scheme) as BackendCounters).cacheHits += 1;
        return this.#sealer.open(hit.sealed, hit.aad);
      }
      this.#drop(key, hit);
    }
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = this.#fetch(ref, key).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    const entry = await pending;
    return this.#sealer.open(entry.sealed, entry.aad);
  }

  async #fetch(ref: SecretRef, key: string): Promise<Entry> {
    const scheme = ref.scheme as BackendScheme;
    const counters = this.#counters.get(scheme) as BackendCounters;
    if (++this.#misses % SWEEP_EVERY === 0) this.#sweep();
    const backend = this.#backends.get(scheme);
    if (backend === undefined) {
      const needed = backendVariable(ref);
      const err = new ProbectlError('PROBECTL_ERR_SECRET_BACKEND_UNCONFIGURED', `no ${scheme} secret backend is configured${needed ? ` (${needed} is not set)` : ''}`);
      counters.failed(this.#clock.now(), err);
      throw err;
    }
    const started = performance.now();
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    const signal = AbortSignal.any([this.#closing.signal, deadline]);
    let attempts = 0;
    let final: unknown;
    let transient: TransientSecretError | undefined;
    let fetched: FetchedSecret;
    try {
      const outcome = await retry(this.#retry, async (): Promise<Outcome<FetchedSecret>> => {
        attempts += 1;
        try {
          return { kind: 'ok', value: await this.#attempt(backend, ref, signal) };
        } catch (err) {
          if (err instanceof TransientSecretError && !signal.aborted) {
            transient = err;
            return { kind: 'retryable', reason: err.message, retryAfterMs: err.retryAfterMs };
          }
          final = err;
          return { kind: 'permanent', reason: err instanceof Error ? err.message : 'failed' };
        }
      }, {
        signal,
        onRetry: () => {
          counters.retries += 1;
        },
        // A backoff that would end past the deadline is not waited for.
        sleep: (ms, s) => (performance.now() + ms >= started + this.#timeoutMs ? Promise.reject(new RetryAborted('deadline')) : sleep(ms, s)),
      });
      if (outcome.kind !== 'ok') throw final ?? transient;
      fetched = outcome.value;
    } catch (err) {
      const failure = this.#normalize(err instanceof RetryAborted ? undefined : err, scheme, deadline, attempts, transient);
      counters.failed(this.#clock.now(), failure);
      throw failure;
    }
    const now = this.#clock.now();
    const backendLease = fetched.leaseMs !== undefined && fetched.leaseMs > 0 ? fetched.leaseMs : Infinity;
    const aad = Buffer.from(key, 'utf8');
    const entry: Entry = { sealed: this.#sealer.seal(fetched.value, aad), aad, expiresAt: now + Math.min(this.#leaseMs, backendLease), scheme };
    fetched.value.fill(0);
    this.#cache.set(key, entry);
    counters.ok(now);
    return entry;
  }

  /**
   * One attempt: the backend's fetch under the fetch's signal and this
   * attempt's own deadline. An attempt that times out alone (the fetch's
   * deadline not yet passed) is transient; a value is checked before use.
   */
  async #attempt(backend: SecretBackend, ref: SecretRef, signal: AbortSignal): Promise<FetchedSecret> {
    const attemptMs = Math.max(1, Math.ceil(this.#timeoutMs * ATTEMPT_SHARE));
    const ownDeadline = AbortSignal.timeout(attemptMs);
    const attemptSignal = AbortSignal.any([signal, ownDeadline]);
    let fetched: FetchedSecret;
    try {
      fetched = await settleOrAbort(backend.fetch(ref, attemptSignal), attemptSignal);
    } catch (err) {
      if (ownDeadline.aborted && !signal.aborted) throw new TransientSecretError(`the ${backend.scheme} backend did not answer one attempt within ${attemptMs} ms`);
      throw err;
    }
    if (!Buffer.isBuffer(fetched.value)) throw new ProbectlError('PROBECTL_ERR_SECRET_MALFORMED', `the ${backend.scheme} backend returned no value`);
    if (fetched.value.length === 0) throw new ProbectlError('PROBECTL_ERR_SECRET_MALFORMED', `the ${backend.scheme} backend returned an empty value`);
    if (this.#closed) {
      fetched.value.fill(0);
      throw closedError();
    }
    return fetched;
  }

  /**
   * The one error a failed fetch reports. A fetch that ran out of time names
   * the deadline, the attempts made and the last transient failure; a final
   * failure after retries says how many attempts it took. Library errors keep
   * only their kind.
   */
  #normalize(err: unknown, scheme: BackendScheme, deadline: AbortSignal, attempts: number, transient: TransientSecretError | undefined): ProbectlError {
    if (this.#closed) return closedError();
    const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
    // Out of time (the deadline passed during an attempt, or the next backoff would have ended past it),
    // or a policy with a finite number of attempts ran out of them.
    if (err === undefined || deadline.aborted || err instanceof TransientSecretError) {
      if (transient === undefined) return new ProbectlError('PROBECTL_ERR_SECRET_UNAVAILABLE', `the ${scheme} backend did not answer within ${this.#timeoutMs} ms`);
      return new ProbectlError('PROBECTL_ERR_SECRET_UNAVAILABLE', `the ${scheme} backend is unavailable: ${tries} within ${this.#timeoutMs} ms failed, the last with: ${transient.message}`);
    }
    if (isProbectlError(err)) return attempts > 1 ? new ProbectlError(err.code, `${err.message} (after ${tries})`) : err;
    // Anything else (a library error) may quote a path or a value: keep only its kind.
    return new ProbectlError('PROBECTL_ERR_SECRET_UNAVAILABLE', `the ${scheme} backend failed unexpectedly (${(err as Error | undefined)?.name ?? 'error'})`);
  }

  #keyOf(ref: SecretRef): string {
    let key = this.#keys.get(ref);
    if (key === undefined) {
      key = refKey(ref);
      this.#keys.set(ref, key);
    }
    return key;
  }

  #liveLeases(): Map<BackendScheme, number> {
    this.#sweep();
    const live = new Map<BackendScheme, number>();
    for (const entry of this.#cache.values()) live.set(entry.scheme, (live.get(entry.scheme) ?? 0) + 1);
    return live;
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const [key, entry] of this.#cache) if (entry.expiresAt <= now) this.#drop(key, entry);
  }

  #drop(key: string, entry: Entry): void {
    entry.sealed.fill(0);
    this.#cache.delete(key);
  }
}

function closedError(): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_SECRET_UNAVAILABLE', 'the secret resolver is closed');
}

/** Settles with the fetch, or rejects when the signal fires even if a backend ignores it; a late value is zeroed. */
function settleOrAbort(fetch: Promise<FetchedSecret>, signal: AbortSignal): Promise<FetchedSecret> {
  return new Promise<FetchedSecret>((resolve, reject) => {
    let done = false;
    const onAbort = () => {
      done = true;
      reject(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    fetch.then((value) => {
      if (done) {
        if (Buffer.isBuffer(value?.value)) value.value.fill(0);
        return;
      }
      done = true;
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    }, (err: unknown) => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}
