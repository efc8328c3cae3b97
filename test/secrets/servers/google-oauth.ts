import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenHttps } from '../../helpers/https-stand-in.ts';
import { verifyJwt } from '../../helpers/jwt.ts';

/**
 * A local Google OAuth 2.0 token endpoint for service accounts: POST /token
 * with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and an
 * `assertion` — an RS256 JWT signed with the service account's private key,
 * `iss` the account's email, `scope` the requested scopes, `aud` this
 * endpoint, lifetime at most one hour (Google Identity, "Using OAuth 2.0 for
 * Server to Server Applications"; RFC 7523). The signature is verified
 * against the account's public key. It answers `{access_token, expires_in,
 * token_type}`, or Google's `{error, error_description}` (invalid_grant for a
 * bad assertion). `keyFile()` writes a service-account key file whose
 * `token_uri` points here.
 */

export type GoogleTokenFault = { status: 429 | 500 | 503 } | { status: 401 };

export interface GoogleOAuthServer {
  readonly tokenUri: string;
  readonly clientEmail: string;
  /** Requests that reached /token, with the scope the assertion asked for, the answer's status and the client's port (its connection). */
  readonly requests: { scope: string | undefined; status: number; port: number | undefined }[];
  /** Access tokens issued (a resource server accepts only these; tests look for leaks). */
  readonly issued: Set<string>;
  readonly faults: GoogleTokenFault[];
  expiresIn: number;
  /** Writes a service-account key file for this account; `privateKeyPem` lets a test plant a wrong key. */
  keyFile(opts?: { privateKeyPem?: string; tokenUri?: string }): string;
  /** The private key as PEM (tests look for leaks). */
  readonly privateKeyPem: string;
  close(): Promise<void>;
}

export async function startGoogleOAuth(opts: { clientEmail?: string } = {}): Promise<GoogleOAuthServer> {
  const clientEmail = opts.clientEmail ?? 'probectl-export@acme-secops.iam.gserviceaccount.com';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 }) as { privateKey: KeyObject; publicKey: KeyObject };
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  let tokenUri = '';

  function oauthError(res: ServerResponse, status: number, error: string, description: string): number {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ error, error_description: description }));
    return status;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || new URL(req.url ?? '/', tokenUri).pathname !== '/token') return oauthError(res, 404, 'invalid_request', 'Not found');
    if (!/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) return oauthError(res, 400, 'invalid_request', 'Invalid content type');
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const fault = server.faults.shift();
    if (fault?.status === 429) return oauthError(res, 429, 'rate_limit_exceeded', 'Rate limit exceeded');
    if (fault?.status === 500 || fault?.status === 503) return oauthError(res, fault.status, 'internal_failure', 'Backend error');
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return oauthError(res, 400, 'unsupported_grant_type', 'Invalid grant_type');
    const assertion = form.get('assertion');
    if (!assertion) return oauthError(res, 400, 'invalid_request', 'Missing required parameter: assertion');
    let claims: Record<string, unknown>;
    try {
      claims = verifyJwt(assertion, publicKey).payload;
    } catch {
      return oauthError(res, 400, 'invalid_grant', 'Invalid JWT Signature.');
    }
    const current = server.requests.at(-1);
    if (current) current.scope = typeof claims.scope === 'string' ? claims.scope : undefined;
    if (claims.iss !== clientEmail) return oauthError(res, 400, 'invalid_grant', 'Invalid issuer: the service account does not exist.');
    if (claims.aud !== tokenUri) return oauthError(res, 400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
    if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number' || claims.exp - claims.iat > 3600) return oauthError(res, 400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
    if (typeof claims.scope !== 'string' || claims.scope.split(' ').length === 0) return oauthError(res, 400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    if (fault?.status === 401) return oauthError(res, 401, 'unauthorized_client', 'Unauthorized client or scope in request.');
    const token = `ya29.c.${randomBytes(32).toString('base64url')}`;
    server.issued.add(token);
    server.scopes.set(token, claims.scope.split(' '));
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache, no-store, max-age=0, must-revalidate' });
    res.end(JSON.stringify({ access_token: token, expires_in: server.expiresIn, token_type: 'Bearer' }));
    return 200;
  }

  const http = await listenHttps<{ scope: string | undefined; status: number; port: number | undefined }>(handle, (req) => {
    if (!req.url?.startsWith('/token')) return undefined;
    const record = { scope: undefined as string | undefined, status: 0, port: req.socket.remotePort };
    server.requests.push(record);
    return record;
  });
  tokenUri = `${http.origin}/token`;

  const server: GoogleOAuthServer & { scopes: Map<string, string[]> } = {
    tokenUri,
    clientEmail,
    requests: [],
    issued: new Set(),
    scopes: new Map(),
    faults: [],
    expiresIn: 3599,
    privateKeyPem,
    keyFile(o = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'gsa-'));
      const file = join(dir, 'key.json');
      writeFileSync(file, JSON.stringify({
        type: 'service_account', project_id: 'acme-secops', private_key_id: randomBytes(20).toString('hex'),
        private_key: o.privateKeyPem ?? privateKeyPem, client_email: clientEmail, client_id: '104729183746501928374',
        auth_uri: 'https://accounts.google.com/o/oauth2/auth', token_uri: o.tokenUri ?? tokenUri,
        auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs', universe_domain: 'googleapis.com',
      }), { mode: 0o600 });
      return file;
    },
    close: () => http.close(),
  };
  return server;
}

/** The scopes a token was issued for (a resource server checks them). */
export function tokenScopes(server: GoogleOAuthServer, token: string): string[] | undefined {
  return (server as GoogleOAuthServer & { scopes: Map<string, string[]> }).scopes.get(token);
}
