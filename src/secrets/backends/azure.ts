import { Agent } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { SecretClient } from '@azure/keyvault-secrets';
import { ProbectlError } from '../../core/errors.ts';
import type { FetchedSecret, SecretBackend } from '../backend.ts';
import type { SecretRef } from '../ref.ts';
import { parseRetryAfter } from '../../core/retry/policy.ts';
import { isTransientStatus, TransientSecretError } from '../backend.ts';
import { lazy, nonEmpty, raceAbort, safeName, secretError, statusWord, transportFailure, withSystemRoots } from './cloud-common.ts';

export type AzureTokenCredential = ConstructorParameters<typeof SecretClient>[1];

export interface AzureBackendOptions {
  /** DNS suffix a bare vault name is completed with: vault.azure.net, or a sovereign cloud's (vault.azure.cn, vault.usgovcloudapi.net). */
  vaultSuffix?: string | undefined;
  /** Extra CA certificates (PEM) trusted for the vault (TLS-inspecting proxies, private endpoints), added to Node's roots. */
  caPem?: string | Buffer | undefined;
  /** An explicit credential; when unset DefaultAzureCredential applies (environment, workload identity, managed identity, Azure CLI). */
  credential?: AzureTokenCredential | undefined;
  /** Name resolution for vault connections; defaults to the system resolver (a seam for split-horizon DNS and tests). */
  lookup?: LookupFunction | undefined;
  requestTimeoutMs?: number | undefined;
}

type Sdk = typeof import('@azure/keyvault-secrets');

/**
 * Azure Key Vault through the official SDK (SecretClient.getSecret), which
 * performs Key Vault's bearer-challenge flow and checks that the challenge's
 * resource belongs to the vault's domain. The SDK and @azure/identity load at
 * the first fetch. SDK retries are off: retrying is the resolver's business.
 */
export function createAzureBackend(opts: AzureBackendOptions = {}): SecretBackend {
  const suffix = (opts.vaultSuffix ?? 'vault.azure.net').replace(/^\.+/, '');
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d{1,5})?$/i.test(suffix)) throw new ProbectlError('PROBECTL_ERR_CONFIG_INVALID', 'azure: the vault DNS suffix is not a host name');
  const agent = new Agent({
    keepAlive: true,
    ...(opts.caPem === undefined ? {} : { ca: withSystemRoots(opts.caPem) }),
    ...(opts.lookup === undefined ? {} : { lookup: opts.lookup }),
  });
  const sdk = lazy<Sdk>(() => import('@azure/keyvault-secrets'));
  const credential = lazy<AzureTokenCredential>(async () => {
    if (opts.credential !== undefined) return opts.credential;
    const { DefaultAzureCredential } = await import('@azure/identity');
    return new DefaultAzureCredential();
  });
  const clients = new Map<string, Promise<SecretClient>>();

  function clientFor(vault: string): Promise<SecretClient> {
    const url = vault.includes('.') ? `https://${vault}` : `https://${vault}.${suffix}`;
    let client = clients.get(url);
    if (!client) {
      // One client per vault: it carries the vault's challenge state and token cache.
      client = Promise.all([sdk(), credential()]).then(([{ SecretClient: Client }, cred]) => new Client(url, cred, { agent, retryOptions: { maxRetries: 0 } }));
      client.catch(() => clients.delete(url));
      clients.set(url, client);
    }
    return client;
  }

  return {
    scheme: 'azure',
    async fetch(ref: SecretRef, signal: AbortSignal): Promise<FetchedSecret> {
      if (ref.scheme !== 'azure') throw new ProbectlError('PROBECTL_ERR_INTERNAL', 'azure: backend was handed a reference of another scheme');
      let secret;
      try {
        const client = await clientFor(ref.vault);
        secret = await raceAbort('azure', client.getSecret(ref.name, {
          ...(ref.version === undefined ? {} : { version: ref.version }),
          abortSignal: signal,
          ...(opts.requestTimeoutMs === undefined ? {} : { requestOptions: { timeout: opts.requestTimeoutMs } }),
        }), signal);
      } catch (err) {
        throw classify(err, signal);
      }
      if (secret.properties.enabled === false) throw secretError('PROBECTL_ERR_SECRET_NOT_FOUND', 'azure', 'the secret version is disabled');
      if (typeof secret.value !== 'string') throw secretError('PROBECTL_ERR_SECRET_MALFORMED', 'azure', 'the answer holds no secret value');
      return { value: nonEmpty('azure', Buffer.from(secret.value, 'utf8')) };
    },
    async close(): Promise<void> {
      clients.clear();
      agent.destroy();
    },
  };
}

function classify(err: unknown, signal: AbortSignal): ProbectlError {
  if (err instanceof ProbectlError) return err;
  if (signal.aborted) return secretError('PROBECTL_ERR_SECRET_UNAVAILABLE', 'azure', 'the backend call was cancelled or timed out');
  const e = (err ?? {}) as { name?: unknown; code?: unknown; statusCode?: unknown; details?: { error?: { code?: unknown; innerError?: { code?: unknown } } }; response?: { headers?: { get?(name: string): string | undefined } } };
  const name = safeName(e.name);
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const serviceCode = safeName(e.details?.error?.innerError?.code) ?? safeName(e.details?.error?.code) ?? safeName(e.code);
  if (name === 'CredentialUnavailableError' || name === 'AggregateAuthenticationError') {
    return secretError('PROBECTL_ERR_SECRET_DENIED', 'azure', 'no Azure credential in the default chain could obtain a token');
  }
  if (name === 'AuthenticationError' || name === 'AuthenticationRequiredError') return secretError('PROBECTL_ERR_SECRET_DENIED', 'azure', 'Microsoft Entra ID refused to issue a token');
  if (status === 401 || status === 403) {
    if (serviceCode === 'SecretDisabled') return secretError('PROBECTL_ERR_SECRET_NOT_FOUND', 'azure', statusWord('the secret version is disabled', serviceCode, status));
    return secretError('PROBECTL_ERR_SECRET_DENIED', 'azure', statusWord('the vault refused the credentials', serviceCode, status));
  }
  if (status === 404) return secretError('PROBECTL_ERR_SECRET_NOT_FOUND', 'azure', statusWord('the secret or version does not exist', serviceCode, status));
  if (status !== undefined && isTransientStatus(status)) {
    // Key Vault throttles with 429 and a Retry-After (its service limits page); 5xx are the service's own faults.
    const retryAfter = parseRetryAfter(e.response?.headers?.get?.('retry-after'), Date.now());
    return new TransientSecretError(`azure: ${statusWord(status === 429 ? 'the vault throttled the request' : 'the vault answered with a server error', serviceCode, status)}`, retryAfter);
  }
  if (status !== undefined && status >= 500) return secretError('PROBECTL_ERR_SECRET_UNAVAILABLE', 'azure', statusWord('the vault answered with a server error', serviceCode, status));
  if (serviceCode === 'PARSE_ERROR' || (status !== undefined && status >= 200 && status < 300) || name === 'SyntaxError' || name === 'TypeError') {
    return secretError('PROBECTL_ERR_SECRET_MALFORMED', 'azure', statusWord('the vault answer could not be parsed', undefined, status));
  }
  // The SDK's own check that the challenge resource belongs to the vault domain.
  if (err instanceof Error && /challenge resource|challenge contains invalid scope/.test(err.message)) {
    return secretError('PROBECTL_ERR_SECRET_DENIED', 'azure', 'the vault\'s authentication challenge names a resource outside the vault domain');
  }
  const transport = status === undefined ? transportFailure('azure', err) : undefined;
  if (transport !== undefined) return transport;
  return secretError('PROBECTL_ERR_SECRET_UNAVAILABLE', 'azure', statusWord('the backend call failed', serviceCode, status));
}
