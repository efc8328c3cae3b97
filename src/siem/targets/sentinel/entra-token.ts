import { createHash } from 'node:crypto';
import { withSystemRoots } from '../../../secrets/backends/cloud-common.ts';
import { CredentialFailure, type BearerSource } from '../shared/bearer.ts';
import type { AzureAuth } from './settings.ts';

/** The part of @azure/identity's TokenCredential used here. */
export interface TokenCredential {
  getToken(scopes: string | string[], options?: { abortSignal?: AbortSignal }): Promise<{ token: string; expiresOnTimestamp: number } | null>;
}

/** Entra authority hosts MSAL knows; any other (Azure Stack, a test) skips instance discovery, which would call out to the public cloud. */
const KNOWN_AUTHORITY_HOSTS = new Set(['login.microsoftonline.com', 'login.microsoftonline.us', 'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn']);

export interface EntraOptions {
  auth: AzureAuth;
  /** The client secret (PROBECTL_SIEM_TOKEN), resolved at use time; undefined for the default credential chain. */
  clientSecret: (() => Promise<string>) | undefined;
  /** PEM bundle trusted in addition to the system roots (PROBECTL_SIEM_CA_FILE). */
  caPem: string | undefined;
  /** A credential to use instead (tests, previews). */
  credential?: TokenCredential;
}

/**
 * Microsoft Entra access tokens for the Logs Ingestion API through
 * @azure/identity (imported at first use): ClientSecretCredential when a
 * tenant, client id and client secret are configured, DefaultAzureCredential
 * (environment, workload identity, managed identity) otherwise; scope
 * `https://monitor.azure.com/.default` (or the sovereign cloud's). MSAL caches
 * the token and renews it before it expires. The library's own retries are
 * off: the delivery engine retries. A secret that changed since the
 * credential was built (rotation) builds a new credential.
 */
export function entraBearer(opts: EntraOptions): BearerSource {
  const { auth } = opts;
  const host = auth.authorityHost.hostname.toLowerCase();
  const common = {
    authorityHost: auth.authorityHost.origin,
    disableInstanceDiscovery: !KNOWN_AUTHORITY_HOSTS.has(host),
    retryOptions: { maxRetries: 0 },
    ...(opts.caPem === undefined ? {} : { tlsOptions: { ca: withSystemRoots(opts.caPem) } }),
  };
  let current: { credential: TokenCredential; fingerprint: string } | undefined;

  async function credential(): Promise<TokenCredential> {
    if (opts.credential) return opts.credential;
    let fingerprint = 'default-chain';
    let secret: string | undefined;
    if (auth.tenantId !== undefined && auth.clientId !== undefined && opts.clientSecret !== undefined) {
      try {
        secret = await opts.clientSecret();
      } catch {
        throw new CredentialFailure('unavailable', 'Microsoft Entra sign-in: the client secret (PROBECTL_SIEM_TOKEN) could not be resolved');
      }
      fingerprint = createHash('sha256').update(secret).digest('hex');
    }
    if (current?.fingerprint === fingerprint) return current.credential;
    const identity = await import('@azure/identity');
    const made = secret !== undefined
      ? new identity.ClientSecretCredential(auth.tenantId as string, auth.clientId as string, secret, common)
      : new identity.DefaultAzureCredential(common);
    current = { credential: made, fingerprint };
    return made;
  }

  return {
    async token(signal) {
      const cred = await credential();
      try {
        const token = await cred.getToken(auth.scope, signal ? { abortSignal: signal } : {});
        if (!token) throw new CredentialFailure('refused', 'Microsoft Entra ID issued no token for the Logs Ingestion API scope');
        return token.token;
      } catch (err) {
        const failure = classify(err, auth.tenantId === undefined);
        // Credentials refused: build the credential afresh next time (a rotated secret, a fixed identity).
        if (failure.kind === 'refused') current = undefined;
        throw failure;
      }
    },
    // The Logs Ingestion API refused the token (401): a new credential has an empty token cache and signs in afresh.
    invalidate() {
      current = undefined;
    },
  };
}

/**
 * Entra's answer as an operator-safe failure: the error code (AADSTS…) and
 * status, never the response text. @azure/identity reports a refusal as an
 * AuthenticationError (statusCode, errorResponse) or wraps MSAL's ServerError
 * (status, errorNo, errorCode) as the cause of AuthenticationRequiredError;
 * an authority it cannot reach is a CredentialUnavailableError.
 */
function classify(err: unknown, defaultChain: boolean): CredentialFailure {
  if (err instanceof CredentialFailure) return err;
  type Shape = { name?: unknown; statusCode?: unknown; status?: unknown; errorNo?: unknown; errorCode?: unknown; errorResponse?: { error?: unknown; errorCodes?: unknown }; cause?: Shape };
  const e = (err ?? {}) as Shape;
  const server = e.cause && typeof e.cause === 'object' ? e.cause : e;
  const status = typeof e.statusCode === 'number' ? e.statusCode : typeof server.status === 'number' ? server.status : undefined;
  const codes = Array.isArray(e.errorResponse?.errorCodes) ? (e.errorResponse.errorCodes as unknown[]) : [server.errorNo, server.errorCode];
  const number = codes.find((c) => typeof c === 'number' || (typeof c === 'string' && /^\d{1,9}$/.test(c)));
  const word = [e.errorResponse?.error, server.errorCode].find((w) => typeof w === 'string' && /^[a-z_]{1,64}$/.test(w));
  const detail = [number === undefined ? word : `AADSTS${String(number)}`, status === undefined ? undefined : `HTTP ${status}`].filter(Boolean).join(', ');
  if (e.name === 'AbortError') return new CredentialFailure('unavailable', 'Microsoft Entra sign-in was cancelled');
  if (e.name === 'CredentialUnavailableError' || e.name === 'AggregateAuthenticationError') {
    if (defaultChain) return new CredentialFailure('refused', 'Microsoft Entra sign-in: no credential of the default chain (environment, workload identity, managed identity) could sign in; set PROBECTL_SIEM_AZURE_TENANT_ID, PROBECTL_SIEM_AZURE_CLIENT_ID and PROBECTL_SIEM_TOKEN, or give the workload an identity');
    return new CredentialFailure('unavailable', 'Microsoft Entra ID could not be reached (check PROBECTL_SIEM_AZURE_AUTHORITY_HOST)');
  }
  if (status !== undefined && (status === 408 || status === 429 || status >= 500)) return new CredentialFailure('unavailable', `Microsoft Entra ID is unavailable (${detail})`);
  // MSAL replays an earlier 429/5xx (without a status) while Entra's Retry-After, or its 60 s default, runs.
  if (status === undefined && server.name === 'ServerError') return new CredentialFailure('unavailable', `Microsoft Entra ID sign-in is held back after an earlier 429 or 5xx, as Entra asked${detail ? ` (${detail})` : ''}`);
  if (status !== undefined && status >= 400) return new CredentialFailure('refused', `Microsoft Entra ID refused the application's credentials (${detail})`);
  return new CredentialFailure('unavailable', `Microsoft Entra ID could not be reached${detail ? ` (${detail})` : ''}`);
}
