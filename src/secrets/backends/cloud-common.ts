import { rootCertificates } from 'node:tls';
import { isLoopbackHost } from '../../core/net.ts';
import { type ErrorCode, ProbectlError } from '../../core/errors.ts';
import { isTransientCode, TransientSecretError } from '../backend.ts';
import type { BackendScheme } from '../ref.ts';
import { parseJson } from '../../core/json.ts';

/**
 * Helpers shared by the cloud backends (aws, azure, gcp). Their messages say
 * what kind of failure happened and never carry SDK error text, which can echo
 * secret names, ARNs or resource paths.
 */

export type SecretErrorCode = Extract<ErrorCode, `PROBECTL_ERR_SECRET_${string}`>;

export function secretError(code: SecretErrorCode, scheme: BackendScheme, what: string): ProbectlError {
  return new ProbectlError(code, `${scheme}: ${what}`);
}

/**
 * Parses an endpoint override. https:// always; http:// only to a loopback
 * host (a local emulator or a sidecar proxy), never across a network.
 */
export function secureEndpoint(scheme: BackendScheme, text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ProbectlError('PROBECTL_ERR_CONFIG_INVALID', `${scheme}: the endpoint is not a URL`);
  }
  if (url.username !== '' || url.password !== '') throw new ProbectlError('PROBECTL_ERR_CONFIG_INVALID', `${scheme}: the endpoint must not carry credentials`);
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  if (url.protocol === 'http:') throw new ProbectlError('PROBECTL_ERR_SECRET_INSECURE_TRANSPORT', `${scheme}: the endpoint uses http:// to a non-loopback host; use https://`);
  throw new ProbectlError('PROBECTL_ERR_CONFIG_INVALID', `${scheme}: the endpoint must be an https:// URL`);
}

/** Node's bundled roots plus the operator's extra CAs: a private CA is added, never a replacement for validation. */
export function withSystemRoots(caPem: string | Buffer): string[] {
  return [...rootCertificates, caPem.toString()];
}

/**
 * Memoizes an async factory (an SDK import, a client). A failed attempt is
 * forgotten so the next use tries again instead of caching the failure.
 */
export function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= make().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}

/** Rejects when `signal` aborts, even if the SDK call underneath ignores it. */
export function raceAbort<T>(scheme: BackendScheme, work: Promise<T>, signal: AbortSignal, onAbort?: () => void): Promise<T> {
  if (signal.aborted) {
    onAbort?.();
    work.catch(() => {});
    return Promise.reject(abortedError(scheme));
  }
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      onAbort?.();
      reject(abortedError(scheme));
    };
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(err);
      },
    );
  });
}

export function abortedError(scheme: BackendScheme): ProbectlError {
  return secretError('PROBECTL_ERR_SECRET_UNAVAILABLE', scheme, 'the backend call was cancelled or timed out');
}

/**
 * The value of `field` in a JSON-object secret (the AWS console's key/value
 * form). A non-object secret is malformed; an absent or non-string field is
 * not found / malformed.
 */
export function jsonField(scheme: BackendScheme, text: string, field: string): Buffer {
  let doc: unknown;
  try {
    doc = parseJson(text);
  } catch {
    throw secretError('PROBECTL_ERR_SECRET_MALFORMED', scheme, 'a #field was asked for but the secret is not a JSON object');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw secretError('PROBECTL_ERR_SECRET_MALFORMED', scheme, 'a #field was asked for but the secret is not a JSON object');
  }
  if (!Object.hasOwn(doc, field)) throw secretError('PROBECTL_ERR_SECRET_NOT_FOUND', scheme, 'the secret has no such field');
  const value = (doc as Record<string, unknown>)[field];
  if (typeof value !== 'string') throw secretError('PROBECTL_ERR_SECRET_MALFORMED', scheme, 'the field is not a string');
  return nonEmpty(scheme, Buffer.from(value, 'utf8'));
}

export function nonEmpty(scheme: BackendScheme, value: Buffer): Buffer {
  if (value.length === 0) throw secretError('PROBECTL_ERR_SECRET_MALFORMED', scheme, 'the backend returned an empty value');
  return value;
}

/** Error class names and codes are identifiers chosen by the SDK or service, safe to show; anything else is dropped. */
export function safeName(name: unknown): string | undefined {
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9_.]{0,63}$/.test(name) ? name : undefined;
}

const TLS_CODES = /^(UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|CERT_|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH)/;

/**
 * Describes a transport failure from its error code (ECONNREFUSED,
 * CERT_HAS_EXPIRED, …), looking through `cause` chains; codes are identifiers
 * chosen by Node or the SDK, so they are safe to show. A reset, refused or
 * timed-out connection is a TransientSecretError (the resolver retries it);
 * a TLS failure or an unknown host is final. Undefined when no code is found.
 */
export function transportFailure(scheme: BackendScheme, err: unknown): ProbectlError | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e !== null && typeof e === 'object'; depth++) {
    const code = safeName((e as { code?: unknown }).code);
    if (code !== undefined && TLS_CODES.test(code)) return secretError('PROBECTL_ERR_SECRET_UNAVAILABLE', scheme, `TLS certificate validation failed (${code})`);
    if (code !== undefined && /^E[A-Z_]+$/.test(code)) {
      const what = `the backend could not be reached (${code})`;
      return isTransientCode(code) ? new TransientSecretError(`${scheme}: ${what}`) : secretError('PROBECTL_ERR_SECRET_UNAVAILABLE', scheme, what);
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function statusWord(kind: string, name: string | undefined, status: number | undefined): string {
  const parts = [name, status === undefined ? undefined : `HTTP ${status}`].filter((p) => p !== undefined);
  return parts.length === 0 ? kind : `${kind} (${parts.join(', ')})`;
}
