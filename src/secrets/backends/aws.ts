import { Agent } from 'node:https';
import type { SecretsManagerClient, SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { ProbectlError } from '../../core/errors.ts';
import type { FetchedSecret, SecretBackend } from '../backend.ts';
import type { SecretRef } from '../ref.ts';
import { isTransientStatus, TransientSecretError } from '../backend.ts';
import { jsonField, lazy, nonEmpty, raceAbort, safeName, secretError, secureEndpoint, statusWord, transportFailure, withSystemRoots } from './cloud-common.ts';

export interface AwsBackendOptions {
  /** Signing and endpoint region; when unset the SDK's chain (AWS_REGION, profile) applies, and an ARN's own region wins. */
  region?: string | undefined;
  /** Endpoint override (VPC interface endpoint, FIPS or sovereign partition): https://, or http:// to loopback only. */
  endpoint?: string | undefined;
  /** Extra CA certificates (PEM) trusted for the endpoint, added to Node's roots. */
  caPem?: string | Buffer | undefined;
  /** Explicit credentials; when unset the SDK's default chain (env, web identity/IRSA, ECS, instance role) applies. */
  credentials?: SecretsManagerClientConfig['credentials'] | undefined;
  /** Per-attempt socket timeout; the resolver's AbortSignal bounds the whole call. */
  requestTimeoutMs?: number | undefined;
}

type Sdk = typeof import('@aws-sdk/client-secrets-manager');

const ARN_REGION = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:/;

const DENIED = new Set([
  'AccessDeniedException', 'UnrecognizedClientException', 'InvalidSignatureException', 'SignatureDoesNotMatch',
  'IncompleteSignatureException', 'IncompleteSignature', 'InvalidClientTokenId', 'MissingAuthenticationTokenException',
  'MissingAuthenticationToken', 'ExpiredTokenException', 'ExpiredToken', 'DecryptionFailure',
]);
const NOT_FOUND = new Set(['ResourceNotFoundException', 'InvalidRequestException']);
// The SDK's own transient set (@smithy/core retry/service-error-classification): throttling (AWS answers it
// with HTTP 400) and per-request timeouts. Its retries are off here, so the resolver's loop applies them.
const TRANSIENT = new Set([
  'BandwidthLimitExceeded', 'EC2ThrottledException', 'LimitExceededException', 'PriorRequestNotComplete', 'ProvisionedThroughputExceededException',
  'RequestLimitExceeded', 'RequestThrottled', 'RequestThrottledException', 'SlowDown', 'ThrottledException', 'Throttling', 'ThrottlingException',
  'TooManyRequestsException', 'TransactionInProgressException', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException',
]);

/**
 * AWS Secrets Manager through the official SDK (GetSecretValue). The SDK is
 * imported at the first fetch, so a deployment without aws: references never
 * loads it. The SDK's own retries are off: retrying is the resolver's business.
 */
export function createAwsBackend(opts: AwsBackendOptions = {}): SecretBackend {
  const endpoint = opts.endpoint === undefined ? undefined : secureEndpoint('aws', opts.endpoint).toString();
  const agent = new Agent({ keepAlive: true, ...(opts.caPem === undefined ? {} : { ca: withSystemRoots(opts.caPem) }) });
  const sdk = lazy<Sdk>(() => import('@aws-sdk/client-secrets-manager'));
  const clients = new Map<string, Promise<SecretsManagerClient>>();

  function clientFor(region: string | undefined): Promise<SecretsManagerClient> {
    const key = region ?? '';
    let client = clients.get(key);
    if (!client) {
      client = sdk().then((m) => new m.SecretsManagerClient({
        ...(region === undefined ? {} : { region }),
        ...(endpoint === undefined ? {} : { endpoint }),
        ...(opts.credentials === undefined ? {} : { credentials: opts.credentials }),
        maxAttempts: 1,
        requestHandler: { httpsAgent: agent, requestTimeout: opts.requestTimeoutMs ?? 30_000, connectionTimeout: opts.requestTimeoutMs ?? 30_000 },
      }));
      client.catch(() => clients.delete(key));
      clients.set(key, client);
    }
    return client;
  }

  return {
    scheme: 'aws',
    async fetch(ref: SecretRef, signal: AbortSignal): Promise<FetchedSecret> {
      if (ref.scheme !== 'aws') throw new ProbectlError('PROBECTL_ERR_INTERNAL', 'aws: backend was handed a reference of another scheme');
      const arnRegion = ARN_REGION.exec(ref.secretId)?.[1];
      const region = endpoint === undefined ? (arnRegion ?? opts.region) : (opts.region ?? arnRegion);
      let out;
      try {
        const m = await sdk();
        const client = await clientFor(region);
        const command = new m.GetSecretValueCommand({ SecretId: ref.secretId, ...(ref.versionStage === undefined ? {} : { VersionStage: ref.versionStage }) });
        out = await raceAbort('aws', client.send(command, { abortSignal: signal }), signal);
      } catch (err) {
        throw classify(err, signal);
      }
      return { value: extract(out.SecretString, out.SecretBinary, ref.field) };
    },
    async close(): Promise<void> {
      for (const client of clients.values()) (await client.catch(() => undefined))?.destroy();
      clients.clear();
      agent.destroy();
    },
  };
}

function extract(text: string | undefined, binary: Uint8Array | undefined, field: string | undefined): Buffer {
  if (field !== undefined) {
    if (typeof text !== 'string') throw secretError('PROBECTL_ERR_SECRET_MALFORMED', 'aws', 'a #field was asked for but the secret holds binary data');
    return jsonField('aws', text, field);
  }
  if (typeof text === 'string') return nonEmpty('aws', Buffer.from(text, 'utf8'));
  if (binary instanceof Uint8Array) {
    const copy = Buffer.from(binary);
    binary.fill(0);
    return nonEmpty('aws', copy);
  }
  throw secretError('PROBECTL_ERR_SECRET_MALFORMED', 'aws', 'the answer holds neither SecretString nor SecretBinary');
}

function classify(err: unknown, signal: AbortSignal): ProbectlError {
  if (err instanceof ProbectlError) return err;
  if (signal.aborted) return secretError('PROBECTL_ERR_SECRET_UNAVAILABLE', 'aws', 'the backend call was cancelled or timed out');
  const e = (err ?? {}) as { name?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: unknown }; $response?: unknown; $retryable?: unknown };
  const name = safeName(e.name);
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  if (name !== undefined && DENIED.has(name)) return secretError('PROBECTL_ERR_SECRET_DENIED', 'aws', statusWord('the backend refused the credentials', name, status));
  if (name !== undefined && NOT_FOUND.has(name)) return secretError('PROBECTL_ERR_SECRET_NOT_FOUND', 'aws', statusWord('the secret or version does not exist or is not usable', name, status));
  if ((name !== undefined && TRANSIENT.has(name)) || e.$retryable !== undefined || (status !== undefined && isTransientStatus(status))) {
    return new TransientSecretError(`aws: ${statusWord(status !== undefined && status >= 500 ? 'the backend answered with a server error' : 'the backend throttled or timed out the request', name, status)}`);
  }
  if (status !== undefined && status >= 500) return secretError('PROBECTL_ERR_SECRET_UNAVAILABLE', 'aws', statusWord('the backend answered with a server error', name, status));
  if (name === 'CredentialsProviderError') return secretError('PROBECTL_ERR_SECRET_DENIED', 'aws', 'no AWS credentials could be loaded from the default chain');
  if (status === 401 || status === 403) return secretError('PROBECTL_ERR_SECRET_DENIED', 'aws', statusWord('the backend refused the credentials', undefined, status));
  if (status === 404) return secretError('PROBECTL_ERR_SECRET_NOT_FOUND', 'aws', statusWord('the secret does not exist', undefined, status));
  if (status !== undefined && status >= 400) return secretError('PROBECTL_ERR_SECRET_UNAVAILABLE', 'aws', statusWord('the backend rejected the request', name, status));
  // A 2xx the SDK could not deserialize, or a body that is not the JSON protocol.
  if ((status !== undefined && status >= 200 && status < 300) || e.$response !== undefined || name === 'SyntaxError') {
    return secretError('PROBECTL_ERR_SECRET_MALFORMED', 'aws', statusWord('the backend answer could not be parsed', undefined, status));
  }
  // The SDK's fixed text when neither the settings, AWS_REGION, the profile nor an ARN gives a region.
  if (err instanceof Error && err.message === 'Region is missing') {
    return secretError('PROBECTL_ERR_SECRET_BACKEND_UNCONFIGURED', 'aws', 'no region is configured: set PROBECTL_SECRETS_AWS_REGION or AWS_REGION, or reference the secret by ARN');
  }
  const transport = status === undefined ? transportFailure('aws', err) : undefined;
  if (transport !== undefined) return transport;
  return secretError('PROBECTL_ERR_SECRET_UNAVAILABLE', 'aws', statusWord('the backend call failed', name === 'Error' ? undefined : name, status));
}
