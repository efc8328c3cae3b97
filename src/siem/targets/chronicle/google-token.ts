import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { withSystemRoots } from '../../../secrets/backends/cloud-common.ts';
import { CredentialFailure, type BearerSource } from '../shared/bearer.ts';
import { CHRONICLE_SCOPE, GOOGLE_TOKEN_URI } from './settings.ts';
import { parseJson } from '../../../core/json.ts';

export interface GoogleOptions {
  /** PROBECTL_SIEM_GCP_CREDENTIALS_FILE; undefined for application default credentials. */
  credentialsFile: string | undefined;
  /** PEM bundle trusted in addition to the system roots for the key file's token endpoint (PROBECTL_SIEM_CA_FILE). */
  caPem: string | undefined;
  timeoutMs: number;
}

/** The part of google-auth-library's clients used here. */
interface AccessTokenClient {
  getAccessToken(): Promise<{ token?: string | null | undefined }>;
  transporter: { interceptors: { request: { add(i: { resolved?: (c: TokenRequest) => Promise<TokenRequest> }): void } } };
}
interface TokenRequest { url: URL | string; retryConfig?: { retry?: number } }

interface KeyFile { client_email: string; private_key: string; private_key_id?: string; token_uri?: string }

/**
 * Google OAuth access tokens (scope cloud-platform) for the Chronicle API
 * import methods through google-auth-library, imported at first use:
 * - a service-account key file: a JWT bearer grant (RFC 7523) signed with the
 *   key, posted to the file's `token_uri` — the library always posts to
 *   oauth2.googleapis.com, so a request interceptor (the library's seam)
 *   sends it to the file's endpoint and the assertion's `aud` names it;
 * - otherwise application default credentials (GOOGLE_APPLICATION_CREDENTIALS,
 *   workload identity federation, the metadata server).
 * The library caches the token and renews it before it expires; its own
 * retries are off (the delivery engine retries). After a refusal the key file
 * is read again at the next attempt (a rotated key).
 */
export function googleBearer(opts: GoogleOptions): BearerSource {
  let client: Promise<AccessTokenClient> | undefined;
  // One keep-alive pool for every client this source builds (a refused or invalidated token builds another).
  let agent: Agent | undefined;

  async function build(): Promise<AccessTokenClient> {
    const lib = await import('google-auth-library');
    let made: AccessTokenClient;
    if (opts.credentialsFile !== undefined) {
      let key: KeyFile;
      try {
        key = parseJson(readFileSync(opts.credentialsFile, 'utf8')) as KeyFile;
      } catch {
        throw new CredentialFailure('refused', 'the service-account key file (PROBECTL_SIEM_GCP_CREDENTIALS_FILE) could not be read');
      }
      const tokenUri = key.token_uri ?? GOOGLE_TOKEN_URI;
      made = new lib.JWT({
        email: key.client_email,
        key: key.private_key,
        ...(key.private_key_id ? { keyId: key.private_key_id } : {}),
        scopes: [CHRONICLE_SCOPE],
        ...(tokenUri === GOOGLE_TOKEN_URI ? {} : { additionalClaims: { aud: tokenUri } }),
        transporterOptions: { timeout: opts.timeoutMs, ...(opts.caPem === undefined ? {} : { agent: (agent ??= new Agent({ keepAlive: true, ca: withSystemRoots(opts.caPem) })) }) },
      }) as unknown as AccessTokenClient;
      made.transporter.interceptors.request.add({
        resolved: async (config) => {
          if (String(config.url) === GOOGLE_TOKEN_URI) config.url = new URL(tokenUri);
          config.retryConfig = { ...config.retryConfig, retry: 0 };
          return config;
        },
      });
    } else {
      made = (await new lib.GoogleAuth({ scopes: [CHRONICLE_SCOPE], clientOptions: { transporterOptions: { timeout: opts.timeoutMs } } }).getClient()) as unknown as AccessTokenClient;
    }
    return made;
  }

  return {
    async token() {
      try {
        client ??= build();
        const { token } = await (await client).getAccessToken();
        if (!token) throw new CredentialFailure('refused', 'Google issued no access token');
        return token;
      } catch (err) {
        const failure = classify(err, opts.credentialsFile !== undefined);
        if (failure.kind === 'refused') client = undefined;
        throw failure;
      }
    },
    // The Chronicle API refused the token (401): a new client has no cached token and signs in afresh.
    invalidate() {
      client = undefined;
    },
  };
}

/**
 * The token endpoint's answer as an operator-safe failure: the OAuth error
 * code and status only. A GaxiosError carries the request (with the signed
 * assertion) in its config; none of it is kept.
 */
function classify(err: unknown, keyFile: boolean): CredentialFailure {
  if (err instanceof CredentialFailure) return err;
  const e = (err ?? {}) as { name?: unknown; status?: unknown; response?: { status?: unknown; data?: { error?: unknown } }; code?: unknown; message?: unknown };
  const status = typeof e.response?.status === 'number' ? e.response.status : typeof e.status === 'number' ? e.status : undefined;
  const code = typeof e.response?.data?.error === 'string' && /^[a-z_]{1,64}$/.test(e.response.data.error) ? e.response.data.error : undefined;
  const detail = [code, status === undefined ? undefined : `HTTP ${status}`].filter(Boolean).join(', ');
  const who = keyFile ? 'the service-account key (PROBECTL_SIEM_GCP_CREDENTIALS_FILE)' : 'the application default credentials';
  if (status !== undefined && (status === 408 || status === 429 || status >= 500)) return new CredentialFailure('unavailable', `the Google token endpoint is unavailable (${detail})`);
  if (status !== undefined && status >= 400) return new CredentialFailure('refused', `Google refused ${who} (${detail})`);
  if (!keyFile && typeof e.message === 'string' && /Could not load the default credentials/i.test(e.message)) {
    return new CredentialFailure('refused', 'no Google application default credentials are available: set PROBECTL_SIEM_GCP_CREDENTIALS_FILE, GOOGLE_APPLICATION_CREDENTIALS or run with workload identity');
  }
  const transport = typeof e.code === 'string' && /^[A-Z_]{3,40}$/.test(e.code) ? ` (${e.code})` : '';
  return new CredentialFailure('unavailable', `the Google token endpoint could not be reached${transport}`);
}
