import { systemClock, type Clock } from '../../core/clock.ts';
import { ProbectlError } from '../../core/errors.ts';
import { HttpClient, type HttpResponse } from '../../core/http/client.ts';
import type { FetchedSecret } from '../backend.ts';
import { joinUrl, statusFailure, transportFailure } from './http-errors.ts';
import type { CredentialSource } from './vault.ts';
import { parseJson } from '../../core/json.ts';

export interface ConjurOptions {
  /** PROBECTL_SECRETS_CONJUR_URL, e.g. https://conjur.example (a path prefix such as /api is kept). */
  url: string;
  /** PROBECTL_SECRETS_CONJUR_LOGIN: the host or user identity, e.g. host/probectl. */
  login: string;
  /** PROBECTL_SECRETS_CONJUR_API_KEY. */
  apiKey: CredentialSource;
  /** PROBECTL_SECRETS_CONJUR_AUTHENTICATOR; default `authn`. */
  authenticator?: string;
  ca?: readonly string[];
  timeoutMs?: number;
  clock?: Clock;
}

// Conjur access tokens live 8 minutes; use one for at most 5.
const TOKEN_REUSE_MS = 5 * 60_000;
const NAME = 'cyberark (conjur)';

interface AccessToken {
  header: string;
  obtainedAt: number;
}

/**
 * CyberArk Conjur: authenticate with login + API key
 * (`POST /<authn>/<account>/<login>/authenticate`, body = API key) for a
 * short-lived access token, sent as `Authorization: Token token="<base64>"`
 * to `GET /secrets/<account>/variable/<id>`. The value is the raw body.
 */
export class ConjurClient {
  readonly #opts: ConjurOptions;
  readonly #http: HttpClient;
  readonly #clock: Clock;
  readonly #tokens = new Map<string, AccessToken>();
  readonly #authenticating = new Map<string, Promise<AccessToken>>();

  constructor(opts: ConjurOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#http = new HttpClient({ tls: { ca: opts.ca ?? [] }, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}), maxResponseBytes: 1024 * 1024 });
  }

  async fetch(account: string, variable: string, signal: AbortSignal): Promise<FetchedSecret> {
    const url = joinUrl(this.#opts.url, `/secrets/${encodeURIComponent(account)}/variable/${encodeURIComponent(variable)}`);
    let { token, fresh } = await this.#token(account, signal);
    let res = await this.#get(url, token.header, signal);
    if (res.status === 401 && !fresh) {
      res.body.fill(0);
      this.#tokens.delete(account);
      ({ token } = await this.#token(account, signal));
      res = await this.#get(url, token.header, signal);
    }
    if (res.status !== 200) {
      res.body.fill(0);
      throw statusFailure(NAME, res.status, 'read', res.headers);
    }
    // The body is the secret itself; hand over the buffer (the resolver seals and zeroes it).
    return { value: res.body };
  }

  async close(): Promise<void> {
    this.#tokens.clear();
    await this.#http.close();
  }

  async #get(url: string, authorization: string, signal: AbortSignal): Promise<HttpResponse> {
    try {
      return await this.#http.request(url, { method: 'GET', headers: { authorization }, signal });
    } catch (err) {
      throw transportFailure(NAME, err);
    }
  }

  async #token(account: string, signal: AbortSignal): Promise<{ token: AccessToken; fresh: boolean }> {
    const held = this.#tokens.get(account);
    if (held && this.#clock.now() - held.obtainedAt < TOKEN_REUSE_MS) return { token: held, fresh: false };
    let pending = this.#authenticating.get(account);
    if (!pending) {
      pending = this.#authenticate(account, signal).finally(() => this.#authenticating.delete(account));
      this.#authenticating.set(account, pending);
    }
    return { token: await pending, fresh: true };
  }

  async #authenticate(account: string, signal: AbortSignal): Promise<AccessToken> {
    const authenticator = this.#opts.authenticator ?? 'authn';
    const url = joinUrl(this.#opts.url, `/${encodeURIComponent(authenticator)}/${encodeURIComponent(account)}/${encodeURIComponent(this.#opts.login)}/authenticate`);
    const apiKey = Buffer.from(this.#opts.apiKey(), 'utf8');
    let res: HttpResponse;
    try {
      res = await this.#http.request(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: apiKey, signal });
    } catch (err) {
      throw transportFailure(NAME, err);
    } finally {
      apiKey.fill(0);
    }
    try {
      if (res.status === 401 || res.status === 403) throw new ProbectlError('PROBECTL_ERR_SECRET_DENIED', `${NAME} refused the API-key authentication (HTTP ${res.status})`);
      if (res.status !== 200) throw statusFailure(NAME, res.status, 'authentication', res.headers);
      let parsed: unknown;
      try {
        parsed = parseJson(res.body.toString('utf8'));
      } catch {
        parsed = undefined;
      }
      if (typeof parsed !== 'object' || parsed === null || typeof (parsed as Record<string, unknown>).payload !== 'string') {
        throw new ProbectlError('PROBECTL_ERR_SECRET_MALFORMED', `${NAME} answered the authentication with something that is not an access token`);
      }
      const token = { header: `Token token="${res.body.toString('base64')}"`, obtainedAt: this.#clock.now() };
      this.#tokens.set(account, token);
      return token;
    } finally {
      res.body.fill(0);
    }
  }
}
