import { readFile } from 'node:fs/promises';
import { systemClock, type Clock } from '../../core/clock.ts';
import { ProbectlError } from '../../core/errors.ts';
import { HttpClient, type HttpResponse } from '../../core/http/client.ts';
import type { FetchedSecret, SecretBackend } from '../backend.ts';
import type { SecretRef } from '../ref.ts';
import { fieldBytes, isRecord, joinUrl, jsonBody, malformed, statusFailure, transportFailure } from './http-errors.ts';

/** A backend credential read when needed (a literal, or an environment variable). */
export type CredentialSource = () => string;

export type VaultAuth =
  | { readonly method: 'token'; readonly token: CredentialSource }
  | { readonly method: 'approle'; readonly roleId: string; readonly secretId: CredentialSource; readonly mount: string }
  | { readonly method: 'kubernetes'; readonly role: string; readonly jwtFile: string; readonly mount: string };

export interface VaultBackendOptions {
  /** PROBECTL_SECRETS_VAULT_ADDR, e.g. https://vault.example:8200 */
  addr: string;
  auth: VaultAuth;
  namespace?: string | undefined;
  /** Extra PEM CA bundles (PROBECTL_SECRETS_VAULT_CA_FILE, PROBECTL_SECRETS_CA_FILE). */
  ca?: readonly string[];
  timeoutMs?: number;
  clock?: Clock;
}

interface LoginToken {
  token: string;
  /** When to log in again: 80% into the token's lease, or never for a non-expiring token. */
  renewAt: number;
}

const NAME = 'vault';

/**
 * HashiCorp Vault, KV version 2: `vault:<mount>/<path>#<field>` reads
 * `GET /v1/<mount>/data/<path>` and returns `data.data[field]`. Authenticates
 * with a token, or logs in with AppRole or Kubernetes (service-account JWT,
 * read afresh at each login) and logs in again before the login token's lease
 * runs out, or at once when Vault refuses a token it gave out earlier.
 */
export class VaultBackend implements SecretBackend {
  readonly scheme = 'vault' as const;
  readonly #base: string;
  readonly #auth: VaultAuth;
  readonly #namespace: string | undefined;
  readonly #http: HttpClient;
  readonly #clock: Clock;
  #login: LoginToken | undefined;
  #loggingIn: Promise<LoginToken> | undefined;

  constructor(opts: VaultBackendOptions) {
    this.#base = opts.addr;
    this.#auth = opts.auth;
    this.#namespace = opts.namespace;
    this.#clock = opts.clock ?? systemClock;
    this.#http = new HttpClient({ tls: { ca: opts.ca ?? [] }, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}), maxResponseBytes: 1024 * 1024 });
  }

  async fetch(ref: SecretRef, signal: AbortSignal): Promise<FetchedSecret> {
    if (ref.scheme !== 'vault') throw new ProbectlError('PROBECTL_ERR_SECRET_REF_INVALID', 'the vault backend was handed a reference of another scheme');
    const url = joinUrl(this.#base, `/v1/${encodePath(ref.mount)}/data/${encodePath(ref.path)}`);
    let { token, fresh } = await this.#token(signal);
    let res = await this.#read(url, token, signal);
    if ((res.status === 403 || res.status === 401) && this.#auth.method !== 'token' && !fresh) {
      // A login token revoked or expired early: log in once more before failing.
      res.body.fill(0);
      this.#login = undefined;
      ({ token } = await this.#token(signal));
      res = await this.#read(url, token, signal);
    }
    try {
      if (res.status !== 200) throw statusFailure(NAME, res.status, 'read', res.headers);
      const body = jsonBody(NAME, res);
      if (!isRecord(body) || !isRecord(body.data)) throw malformed(NAME, 'a body without data (is the mount KV version 2?)');
      const data = body.data.data;
      if (data === null) throw new ProbectlError('PROBECTL_ERR_SECRET_NOT_FOUND', `${NAME}: the current version of the secret is deleted or destroyed`);
      if (!isRecord(data)) throw malformed(NAME, 'a body whose data.data is not an object (is the mount KV version 2?)');
      if (!Object.hasOwn(data, ref.field)) throw new ProbectlError('PROBECTL_ERR_SECRET_NOT_FOUND', `${NAME}: the secret has no such field`);
      const value = fieldBytes(NAME, data[ref.field]);
      const lease = body.lease_duration;
      if (lease !== undefined && (typeof lease !== 'number' || !Number.isFinite(lease) || lease < 0)) throw malformed(NAME, 'an invalid lease_duration');
      return { value, leaseMs: typeof lease === 'number' && lease > 0 ? lease * 1000 : undefined };
    } finally {
      res.body.fill(0);
    }
  }

  async close(): Promise<void> {
    this.#login = undefined;
    await this.#http.close();
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return { accept: 'application/json', 'x-vault-request': 'true', ...(this.#namespace ? { 'x-vault-namespace': this.#namespace } : {}), ...extra };
  }

  async #read(url: string, token: string, signal: AbortSignal): Promise<HttpResponse> {
    try {
      return await this.#http.request(url, { method: 'GET', headers: this.#headers({ 'x-vault-token': token }), signal });
    } catch (err) {
      throw transportFailure(NAME, err);
    }
  }

  async #token(signal: AbortSignal): Promise<{ token: string; fresh: boolean }> {
    if (this.#auth.method === 'token') {
      const token = this.#auth.token();
      if (token === '') throw new ProbectlError('PROBECTL_ERR_SECRET_DENIED', `${NAME}: the configured token is empty`);
      return { token, fresh: true };
    }
    if (this.#login && this.#clock.now() < this.#login.renewAt) return { token: this.#login.token, fresh: false };
    this.#loggingIn ??= this.#logIn(this.#auth, signal).finally(() => {
      this.#loggingIn = undefined;
    });
    const login = await this.#loggingIn;
    return { token: login.token, fresh: true };
  }

  async #logIn(auth: Exclude<VaultAuth, { method: 'token' }>, signal: AbortSignal): Promise<LoginToken> {
    let payload: Record<string, string>;
    if (auth.method === 'approle') {
      payload = { role_id: auth.roleId, secret_id: auth.secretId() };
    } else {
      let jwt: string;
      try {
        jwt = (await readFile(auth.jwtFile, 'utf8')).trim();
      } catch {
        throw new ProbectlError('PROBECTL_ERR_SECRET_UNAVAILABLE', `${NAME}: the Kubernetes service-account token file cannot be read`);
      }
      if (jwt === '') throw new ProbectlError('PROBECTL_ERR_SECRET_UNAVAILABLE', `${NAME}: the Kubernetes service-account token file is empty`);
      payload = { role: auth.role, jwt };
    }
    const body = Buffer.from(JSON.stringify(payload), 'utf8');
    let res: HttpResponse;
    try {
      res = await this.#http.request(joinUrl(this.#base, `/v1/auth/${encodePath(auth.mount)}/login`), {
        method: 'POST', headers: this.#headers({ 'content-type': 'application/json' }), body, signal,
      });
    } catch (err) {
      throw transportFailure(NAME, err);
    } finally {
      body.fill(0);
    }
    try {
      // Vault answers a bad AppRole role_id/secret_id with 400, a bad Kubernetes JWT with 403.
      if (res.status === 400 || res.status === 401 || res.status === 403) {
        throw new ProbectlError('PROBECTL_ERR_SECRET_DENIED', `${NAME} refused the ${auth.method} login (HTTP ${res.status})`);
      }
      if (res.status !== 200) throw statusFailure(NAME, res.status, `${auth.method} login`, res.headers);
      const parsed = jsonBody(NAME, res);
      const authBlock = isRecord(parsed) ? parsed.auth : undefined;
      if (!isRecord(authBlock) || typeof authBlock.client_token !== 'string' || authBlock.client_token === '') throw malformed(NAME, 'a login answer without auth.client_token');
      const lease = authBlock.lease_duration;
      if (typeof lease !== 'number' || !Number.isFinite(lease) || lease < 0) throw malformed(NAME, 'a login answer without a valid auth.lease_duration');
      const now = this.#clock.now();
      const login = { token: authBlock.client_token, renewAt: lease === 0 ? Infinity : now + lease * 800 };
      this.#login = login;
      return login;
    } finally {
      res.body.fill(0);
    }
  }
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
