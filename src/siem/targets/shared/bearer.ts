import type { SinkOutcome } from '../types.ts';

/**
 * Why no token could be had. `refused`: the identity provider turned the
 * credentials down (wrong secret, unknown client, disabled key, no credential
 * in the chain) — the stream pauses with an alarm until the operator fixes
 * it. `unavailable`: the provider could not be reached or failed (5xx, 429,
 * a timeout) — retried like any transient error. The message names the
 * provider and its error code only, never a secret, a token or an assertion.
 */
export class CredentialFailure extends Error {
  readonly kind: 'refused' | 'unavailable';

  constructor(kind: 'refused' | 'unavailable', message: string) {
    super(message);
    this.name = 'CredentialFailure';
    this.kind = kind;
  }
}

/** An OAuth access token for the receiver, cached and refreshed before expiry by the vendor's library. */
export interface BearerSource {
  /** The access token; throws CredentialFailure (and nothing else) when none can be had. */
  token(signal: AbortSignal | undefined): Promise<string>;
}

/**
 * The `Authorization` header for one request, or the outcome the batch comes
 * to when no token could be had (`paused` or `retryable`, never a crash of
 * the drainer).
 */
export async function bearerHeader(source: BearerSource, signal: AbortSignal | undefined): Promise<{ authorization: string } | SinkOutcome> {
  try {
    return { authorization: `Bearer ${await source.token(signal)}` };
  } catch (err) {
    if (err instanceof CredentialFailure) return err.kind === 'refused' ? { kind: 'paused', reason: err.message } : { kind: 'retryable', reason: err.message };
    return { kind: 'retryable', reason: 'no access token could be obtained' };
  }
}
