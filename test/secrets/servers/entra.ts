import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenHttps } from '../../helpers/https-stand-in.ts';
import { signJwt, verifyJwt } from '../../helpers/jwt.ts';

/**
 * A local Microsoft Entra ID (v2.0 endpoints) as MSAL talks to it for the
 * client-credentials grant: GET /{tenant}/v2.0/.well-known/openid-configuration
 * (authority metadata) and POST /{tenant}/oauth2/v2.0/token with
 * `grant_type=client_credentials`, `client_id`, `client_secret` and one
 * `scope` ending in `/.default` (Microsoft identity platform, "OAuth 2.0
 * client credentials flow"). It issues RS256 JWT access tokens whose `aud` is
 * the scope's resource, `tid` the tenant and `appid` the client; `verify`
 * lets a resource server (the DCR stand-in) check them. Errors use Entra's
 * shape: `{error, error_description: "AADSTS…", error_codes}`.
 */

export type EntraFault = { status: 429 | 500 | 503; retryAfter?: string } | { status: 401 };

export interface EntraServer {
  /** The authority host to configure (PROBECTL_SIEM_AZURE_AUTHORITY_HOST). */
  readonly authorityHost: string;
  readonly tenantId: string;
  readonly clientId: string;
  /** The client secret the app registration holds (tests plant it and look for leaks). */
  secret: string;
  /** The federated (workload identity) token the app trusts as a client assertion. */
  federatedToken: string;
  /** Token requests that reached the token endpoint, with the answer's status. */
  readonly tokenRequests: { clientId: string | null; scope: string | null; grantType: string | null; status: number }[];
  /** Tokens issued (to look for leaks). */
  readonly issued: string[];
  readonly faults: EntraFault[];
  /** Seconds an issued token lives. */
  expiresIn: number;
  /** Checks a bearer token as a resource server would: signature, expiry, issuer, tenant and audience. */
  verify(token: string, audience: string): { appid: unknown; tid: unknown; aud: unknown };
  close(): Promise<void>;
}

export async function startEntra(opts: { tenantId?: string; clientId?: string; secret?: string } = {}): Promise<EntraServer> {
  const tenantId = opts.tenantId ?? '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const clientId = opts.clientId ?? '9e2f5b1c-3d4a-4b6c-8d7e-0f1a2b3c4d5e';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 }) as { privateKey: KeyObject; publicKey: KeyObject };
  const kid = randomUUID();
  let base = '';

  function oauthError(res: ServerResponse, status: number, error: string, code: number, description: string, headers: Record<string, string> = {}): number {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify({ error, error_description: `AADSTS${code}: ${description}`, error_codes: [code], timestamp: new Date().toISOString(), trace_id: randomUUID(), correlation_id: randomUUID() }));
    return status;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const url = new URL(req.url ?? '/', base);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const m = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token)$/.exec(url.pathname);
    if (!m) return oauthError(res, 404, 'invalid_request', 90002, 'unknown path');
    if (m[1] !== tenantId) return oauthError(res, 400, 'invalid_request', 90002, `Tenant '${m[1]}' not found.`);
    if (m[2]?.startsWith('v2.0')) {
      if (req.method !== 'GET') return oauthError(res, 405, 'invalid_request', 900561, 'method not allowed');
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({
        token_endpoint: `${base}/${tenantId}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: `${base}/${tenantId}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        issuer: `${base}/${tenantId}/v2.0`,
        authorization_endpoint: `${base}/${tenantId}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${base}/${tenantId}/oauth2/v2.0/logout`,
        tenant_region_scope: 'EU',
        cloud_instance_name: 'microsoftonline.com',
      }));
      return 200;
    }
    const form = new URLSearchParams(body);
    const record = { clientId: form.get('client_id'), scope: form.get('scope'), grantType: form.get('grant_type'), status: 0 };
    server.tokenRequests.push(record);
    const fail = (status: number, error: string, code: number, description: string, headers: Record<string, string> = {}): number => {
      record.status = status;
      return oauthError(res, status, error, code, description, headers);
    };
    if (req.method !== 'POST' || !/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) return fail(400, 'invalid_request', 900144, 'The request body must contain the following parameter: grant_type.');
    const fault = server.faults.shift();
    const wait: Record<string, string> = fault && 'retryAfter' in fault && fault.retryAfter ? { 'retry-after': fault.retryAfter } : {};
    if (fault?.status === 429) return fail(429, 'temporarily_unavailable', 50196, 'The server temporarily throttled the request.', wait);
    if (fault?.status === 500 || fault?.status === 503) return fail(fault.status, 'temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.', wait);
    if (record.grantType !== 'client_credentials') return fail(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    if (record.clientId !== clientId) return fail(400, 'unauthorized_client', 700016, `Application with identifier '${record.clientId}' was not found in the directory.`);
    const assertion = form.get('client_assertion');
    if (assertion !== null) {
      // Workload identity federation: a client assertion instead of a secret.
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return fail(400, 'invalid_request', 90014, 'The client_assertion_type is missing or invalid.');
      if (fault?.status === 401 || assertion !== server.federatedToken) return fail(401, 'invalid_client', 700211, 'No matching federated identity record found for presented assertion issuer.');
    } else if (fault?.status === 401 || form.get('client_secret') !== server.secret) return fail(401, 'invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.');
    const scope = record.scope ?? '';
    if (!/^https:\/\/[^ ]+\/\.default$/.test(scope)) return fail(400, 'invalid_scope', 1002012, 'The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).');
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt({
      aud: scope.slice(0, -'/.default'.length), iss: `https://sts.windows.net/${tenantId}/`, iat: now, nbf: now, exp: now + server.expiresIn,
      appid: clientId, appidacr: '1', idtyp: 'app', oid: randomUUID(), sub: randomUUID(), tid: tenantId, ver: '1.0',
    }, privateKey, { kid });
    server.issued.push(token);
    record.status = 200;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store, no-cache' });
    res.end(JSON.stringify({ token_type: 'Bearer', expires_in: server.expiresIn, ext_expires_in: server.expiresIn, access_token: token }));
    return 200;
  }

  const http = await listenHttps(handle, () => undefined);
  base = http.origin;

  const server: EntraServer = {
    authorityHost: base,
    tenantId,
    clientId,
    secret: opts.secret ?? 'entra-client-secret-7Q~planted.NEVER-LOG',
    federatedToken: `eyJhbGciOiJSUzI1NiJ9.${randomUUID()}.federated`,
    tokenRequests: [],
    issued: [],
    faults: [],
    expiresIn: 3599,
    verify(token, audience) {
      const { payload } = verifyJwt(token, publicKey);
      if (payload.iss !== `https://sts.windows.net/${tenantId}/`) throw new Error('wrong issuer');
      if (payload.tid !== tenantId) throw new Error('wrong tenant');
      if (payload.aud !== audience) throw new Error(`audience ${String(payload.aud)} is not ${audience}`);
      return { appid: payload.appid, tid: payload.tid, aud: payload.aud };
    },
    close: () => http.close(),
  };
  return server;
}
