import { ProbectlError } from '../../core/errors.ts';
import { HttpClient, type HttpResponse } from '../../core/http/client.ts';
import type { FetchedSecret, SecretBackend } from '../backend.ts';
import type { SecretRef } from '../ref.ts';
import { ConjurClient, type ConjurOptions } from './conjur.ts';
import { isRecord, joinUrl, jsonBody, malformed, statusFailure, transportFailure } from './http-errors.ts';

export interface CcpOptions {
  /** PROBECTL_SECRETS_CYBERARK_URL: the CCP host, e.g. https://ccp.example (without /AIMWebService). */
  url: string;
  /** PROBECTL_SECRETS_CYBERARK_APP_ID. */
  appId: string;
  /** Client certificate and key (PEM) when the application authenticates by certificate. */
  clientCert?: { cert: string | Buffer; key: string | Buffer } | undefined;
  ca?: readonly string[];
  timeoutMs?: number;
}

export interface CyberArkBackendOptions {
  ccp?: CcpOptions | undefined;
  conjur?: ConjurOptions | undefined;
}

/** Query keys the Central Credential Provider accepts besides AppID (which comes from the configuration). */
const CCP_KEYS = new Map(['Safe', 'Folder', 'Object', 'UserName', 'Address', 'Database', 'PolicyID', 'Query', 'QueryFormat', 'Reason', 'ConnectionTimeout', 'FailRequestOnPasswordChange'].map((k) => [k.toLowerCase(), k]));
const NAME = 'cyberark (ccp)';

/**
 * CyberArk, in two forms behind the one `cyberark:` scheme:
 * - Central Credential Provider: `cyberark:Safe=netops;Object=snmp#Content`
 *   → `GET /AIMWebService/api/Accounts?AppID=…&Safe=…&Object=…`, value =
 *   the named field of the answer (Content is the password). probectl asks
 *   CCP to fail rather than hand out a password that is being changed.
 * - Conjur: `cyberark:conjur/<account>/<variable-id>` (see conjur.ts).
 */
export class CyberArkBackend implements SecretBackend {
  readonly scheme = 'cyberark' as const;
  readonly #ccp: { opts: CcpOptions; http: HttpClient } | undefined;
  readonly #conjur: ConjurClient | undefined;

  constructor(opts: CyberArkBackendOptions) {
    if (opts.ccp) {
      const c = opts.ccp;
      this.#ccp = {
        opts: c,
        http: new HttpClient({ tls: { ca: c.ca ?? [], ...(c.clientCert ? { cert: c.clientCert.cert, key: c.clientCert.key } : {}) }, ...(c.timeoutMs ? { timeoutMs: c.timeoutMs } : {}), maxResponseBytes: 1024 * 1024 }),
      };
    }
    this.#conjur = opts.conjur ? new ConjurClient(opts.conjur) : undefined;
  }

  async fetch(ref: SecretRef, signal: AbortSignal): Promise<FetchedSecret> {
    if (ref.scheme !== 'cyberark') throw new ProbectlError('PROBECTL_ERR_SECRET_REF_INVALID', 'the cyberark backend was handed a reference of another scheme');
    if (ref.form === 'conjur') {
      if (!this.#conjur) throw new ProbectlError('PROBECTL_ERR_SECRET_BACKEND_UNCONFIGURED', 'a cyberark:conjur/ reference needs PROBECTL_SECRETS_CONJUR_URL');
      return this.#conjur.fetch(ref.account, ref.variable, signal);
    }
    if (!this.#ccp) throw new ProbectlError('PROBECTL_ERR_SECRET_BACKEND_UNCONFIGURED', 'a cyberark: Central Credential Provider reference needs PROBECTL_SECRETS_CYBERARK_URL');
    return this.#fetchCcp(this.#ccp.opts, this.#ccp.http, ref.query, ref.field, signal);
  }

  async close(): Promise<void> {
    await Promise.all([this.#ccp?.http.close(), this.#conjur?.close()]);
  }

  async #fetchCcp(opts: CcpOptions, http: HttpClient, query: string, field: string, signal: AbortSignal): Promise<FetchedSecret> {
    const params = new URLSearchParams({ AppID: opts.appId });
    for (const pair of query.split(';')) {
      const eq = pair.indexOf('=');
      const key = CCP_KEYS.get(pair.slice(0, eq).toLowerCase());
      if (key === undefined) throw new ProbectlError('PROBECTL_ERR_SECRET_REF_INVALID', 'cyberark: a query key is not one the Central Credential Provider accepts (AppID comes from PROBECTL_SECRETS_CYBERARK_APP_ID)');
      params.set(key, pair.slice(eq + 1));
    }
    if (!params.has('FailRequestOnPasswordChange')) params.set('FailRequestOnPasswordChange', 'true');
    const base = opts.url.replace(/\/+$/, '').replace(/\/AIMWebService$/i, '');
    let res: HttpResponse;
    try {
      res = await http.request(joinUrl(base, `/AIMWebService/api/Accounts?${params.toString()}`), { method: 'GET', headers: { accept: 'application/json' }, signal });
    } catch (err) {
      throw transportFailure(NAME, err);
    }
    try {
      // CCP error bodies ({ErrorCode, ErrorMsg}) quote the query: never pass them on.
      if (res.status !== 200) throw statusFailure(NAME, res.status, 'read', res.headers);
      const body = jsonBody(NAME, res);
      if (!isRecord(body)) throw malformed(NAME, 'a body that is not an account object');
      const key = Object.hasOwn(body, field) ? field : Object.keys(body).find((k) => k.toLowerCase() === field.toLowerCase());
      if (key === undefined) throw new ProbectlError('PROBECTL_ERR_SECRET_NOT_FOUND', `${NAME}: the account has no such field`);
      const value = body[key];
      if (typeof value !== 'string') throw malformed(NAME, 'a field that is not a string');
      return { value: Buffer.from(value, 'utf8') };
    } finally {
      res.body.fill(0);
    }
  }
}
