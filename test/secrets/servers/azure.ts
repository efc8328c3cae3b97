import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, LookupFunction } from 'node:net';
import { lookup as dnsLookup } from 'node:dns';
import type { Issued } from '../../../src/core/x509.ts';

/**
 * A local Azure Key Vault (data plane, "Get Secret"): GET
 * /secrets/{name}[/{version}]?api-version=…, with the bearer challenge the
 * service uses — an unauthenticated request gets 401 and
 * `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"`,
 * then only the token the test's Entra ID issued for that resource is
 * accepted. Errors use Key Vault's `{error:{code,message,innererror}}` shape.
 */

export const TEST_TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const VAULT_RESOURCE = 'https://vault.azure.net';
const API_VERSIONS = new Set(['7.4', '7.5', '7.6', '2025-07-01', '2026-04-01']);

export type AzureFault = 'malformed-json' | 'no-value' | 'http-500' | undefined;

interface Version { id: string; value: string; enabled: boolean; created: number }

export interface AzureServer {
  readonly port: number;
  /** The vault host this server answers for, e.g. probectl-test.vault.azure.net. */
  readonly host: string;
  /** Resolves the vault host to this server (the backend's lookup seam). */
  readonly lookup: LookupFunction;
  readonly served: number;
  readonly refused: string[];
  /** Token requests the test credential answered: the scopes and tenant the SDK asked for. */
  readonly tokenRequests: { scopes: string[]; tenantId: string | undefined }[];
  /** A TokenCredential as Entra ID would back it: issues the one token this vault accepts. */
  readonly credential: { getToken(scopes: string | string[], options?: { tenantId?: string }): Promise<{ token: string; expiresOnTimestamp: number }> };
  put(name: string, value: string): string;
  disable(name: string, version: string): void;
  /** Access policy / RBAC: deny this secret to the token. */
  deny(name: string, denied: boolean): void;
  fault: AzureFault;
  /**
   * Answers the next n authenticated requests with a transient error as Key
   * Vault sends it: `throttle` = 429 with Retry-After (Key Vault throttling
   * guidance), `http-503` = 503 ServiceUnavailable.
   */
  failNext(n: number, kind: 'throttle' | 'http-503'): void;
  /** Drops faults queued by failNext and not used yet. */
  clearFaults(): void;
  close(): Promise<void>;
}

export async function startAzureServer(opts: { cert: Issued; vaultName: string; wrongCredential?: boolean; challengeResource?: string }): Promise<AzureServer> {
  const host = `${opts.vaultName}.vault.azure.net`;
  const token = `eyJ0eXAiOiJKV1QiLCJ${randomBytes(24).toString('base64url')}`;
  const secrets = new Map<string, Version[]>();
  const denied = new Set<string>();
  const refused: string[] = [];
  const tokenRequests: AzureServer['tokenRequests'] = [];
  const transient: ('throttle' | 'http-503')[] = [];
  let served = 0;

  function kvError(res: ServerResponse, status: number, code: string, message: string, inner?: string, challenge = false): void {
    refused.push(inner ?? code);
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'x-ms-request-id': randomUUID() };
    if (challenge) headers['www-authenticate'] = `Bearer authorization="https://login.microsoftonline.com/${TEST_TENANT_ID}", resource="${opts.challengeResource ?? VAULT_RESOURCE}"`;
    res.writeHead(status, headers);
    res.end(JSON.stringify({ error: { code, message, ...(inner ? { innererror: { code: inner } } : {}) } }));
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', `https://${host}`);
    if (req.method !== 'GET') return kvError(res, 405, 'BadParameter', 'Method not allowed');
    const apiVersion = url.searchParams.get('api-version');
    if (apiVersion === null || !API_VERSIONS.has(apiVersion)) return kvError(res, 400, 'BadParameter', 'The specified version is not supported', 'UnsupportedApiVersion');
    const hostHeader = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (hostHeader !== host) return kvError(res, 400, 'BadParameter', 'Host header does not name this vault', 'HostMismatch');
    const m = /^\/secrets\/([A-Za-z0-9-]{1,127})(?:\/([0-9a-f]{32})?)?$/.exec(url.pathname);
    if (!m) return kvError(res, 400, 'BadParameter', 'Unsupported path', 'BadPath');
    const auth = req.headers.authorization;
    if (auth === undefined) return kvError(res, 401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.', undefined, true);
    if (auth !== `Bearer ${token}`) return kvError(res, 401, 'Unauthorized', 'AKV10032: Invalid issuer.', 'InvalidToken', true);
    if (req.headers.accept !== undefined && !/application\/json/.test(req.headers.accept)) return kvError(res, 406, 'BadParameter', 'Not acceptable');
    const [, name, versionId] = m as unknown as [string, string, string | undefined];
    if (server.fault === 'http-500') return kvError(res, 500, 'InternalServerError', 'Internal error', 'ServiceUnavailable');
    const once = transient.shift();
    if (once === 'throttle') {
      refused.push('Throttled');
      res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1', 'x-ms-request-id': randomUUID() });
      return void res.end(JSON.stringify({ error: { code: 'Throttled', message: 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached' } }));
    }
    if (once === 'http-503') return kvError(res, 503, 'ServiceUnavailable', 'The service is temporarily unavailable.');
    const versions = secrets.get(name);
    if (!versions) return kvError(res, 404, 'SecretNotFound', 'A secret with the requested name was not found in this key vault.');
    if (denied.has(name)) return kvError(res, 403, 'Forbidden', 'Caller is not authorized to perform action on resource.', 'ForbiddenByRbac');
    const version = versionId === undefined ? versions.at(-1) : versions.find((v) => v.id === versionId);
    if (!version) return kvError(res, 404, 'SecretNotFound', 'A secret with the requested version was not found in this key vault.');
    if (!version.enabled) return kvError(res, 403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');
    served += 1;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-ms-request-id': randomUUID(), 'x-ms-keyvault-service-version': '1.9.0.0' });
    if (server.fault === 'malformed-json') return void res.end('{"value": "trunc');
    const body: Record<string, unknown> = {
      id: `https://${host}/secrets/${name}/${version.id}`,
      attributes: { enabled: true, created: Math.floor(version.created / 1000), updated: Math.floor(version.created / 1000), recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
      tags: {},
    };
    if (server.fault !== 'no-value') body.value = version.value;
    res.end(JSON.stringify(body));
  }

  const http = createHttpsServer({ cert: opts.cert.certPem, key: opts.cert.keyPem }, handle);
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;

  const lookup: LookupFunction = (hostname, options, callback) => {
    if (hostname !== host) return dnsLookup(hostname, options, callback as never);
    if (options.all) return (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
    callback(null, '127.0.0.1', 4);
  };

  const server: AzureServer = {
    port,
    host,
    lookup,
    get served() {
      return served;
    },
    refused,
    tokenRequests,
    credential: {
      async getToken(scopes, options) {
        const list = Array.isArray(scopes) ? scopes : [scopes];
        tokenRequests.push({ scopes: list, tenantId: options?.tenantId });
        if (list.length !== 1 || list[0] !== `${VAULT_RESOURCE}/.default`) throw Object.assign(new Error('AADSTS500011: resource principal not found'), { name: 'AuthenticationError' });
        return { token: opts.wrongCredential ? 'eyJ0eXAiOiJKV1QiLCJ-not-for-this-vault' : token, expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    },
    fault: undefined,
    failNext(n, kind) {
      for (let i = 0; i < n; i++) transient.push(kind);
    },
    clearFaults() {
      transient.length = 0;
    },
    put(name, value) {
      const id = randomBytes(16).toString('hex');
      const list = secrets.get(name) ?? [];
      list.push({ id, value, enabled: true, created: Date.now() });
      secrets.set(name, list);
      return id;
    },
    disable(name, version) {
      const v = secrets.get(name)?.find((x) => x.id === version);
      if (v) v.enabled = false;
    },
    deny(name, d) {
      if (d) denied.add(name);
      else denied.delete(name);
    },
    close: () => new Promise((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    }),
  };
  return server;
}
