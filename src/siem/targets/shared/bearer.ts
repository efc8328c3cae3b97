import type { TransportResult } from '../../senders/types.ts';
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
  /**
   * Drops the cached token (the receiver answered 401 to it: revoked, or
   * expired before its stated expiry): the next `token` signs in afresh.
   * Absent where nothing can be dropped (a token given from outside).
   */
  invalidate?(): void;
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

/** Per source: a token signed in afresh after a 401 that no request has been accepted with yet. */
const unproven = new WeakMap<BearerSource, string>();

/**
 * Sends one request with the source's bearer token and classifies the answer.
 * A 401 to a token that may have come from the cache drops it (`invalidate`)
 * and sends the request once more with a fresh one, whichever request of a
 * batch it is; a 401 to a token fetched afresh that way and never accepted
 * since stands — the caller pauses — and is not refreshed again at each
 * retry. A token that could not be had ends the request as `bearerHeader` says.
 */
export async function sendWithBearer(
  source: BearerSource,
  signal: AbortSignal | undefined,
  send: (authorization: string) => Promise<TransportResult>,
  classify: (result: TransportResult) => SinkOutcome,
): Promise<SinkOutcome> {
  const auth = await bearerHeader(source, signal);
  if (!('authorization' in auth)) return auth;
  const result = await send(auth.authorization);
  const refused = result.kind === 'answered' && result.status === 401;
  if (!refused) {
    if (result.kind === 'answered' && result.status >= 200 && result.status < 300 && unproven.get(source) === auth.authorization) unproven.delete(source);
    return classify(result);
  }
  if (source.invalidate === undefined || unproven.get(source) === auth.authorization) return classify(result);
  source.invalidate();
  const fresh = await bearerHeader(source, signal);
  if (!('authorization' in fresh)) return fresh;
  unproven.set(source, fresh.authorization);
  const again = await send(fresh.authorization);
  if (again.kind === 'answered' && again.status >= 200 && again.status < 300) unproven.delete(source);
  return classify(again);
}
