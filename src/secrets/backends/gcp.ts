import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { ProbectlError } from '../../core/errors.ts';
import type { FetchedSecret, SecretBackend } from '../backend.ts';
import type { SecretRef } from '../ref.ts';
import { TransientSecretError } from '../backend.ts';
import { lazy, nonEmpty, raceAbort, secretError, statusWord, transportFailure, withSystemRoots } from './cloud-common.ts';

type ClientOptions = NonNullable<ConstructorParameters<typeof SecretManagerServiceClient>[0]>;
/** A google-auth-library AuthClient (what GoogleAuthOptions.authClient takes). */
export type GcpAuthClient = NonNullable<ClientOptions['authClient']>;

export interface GcpBackendOptions {
  /** host[:port] of the Secret Manager API, e.g. a Private Service Connect endpoint (secretmanager-<endpoint>.p.googleapis.com). */
  endpoint?: string | undefined;
  /** Extra CA certificates (PEM) trusted for the endpoint, added to Node's roots. */
  caPem?: string | Buffer | undefined;
  /** An explicit auth client; when unset Application Default Credentials apply (GOOGLE_APPLICATION_CREDENTIALS, workload identity, the metadata server). */
  authClient?: GcpAuthClient | undefined;
  /** Deadline of one call; the resolver's AbortSignal bounds it too. */
  requestTimeoutMs?: number | undefined;
}

type Sdk = typeof import('@google-cloud/secret-manager');

// gRPC status codes (grpc/status.proto).
const DENIED = new Map([[7, 'PERMISSION_DENIED'], [16, 'UNAUTHENTICATED']]);
const NOT_FOUND = new Map([[5, 'NOT_FOUND'], [9, 'FAILED_PRECONDITION'], [3, 'INVALID_ARGUMENT']]);
// What the SDK itself retries for AccessSecretVersion (secret_manager_service_client_config.json:
// RESOURCE_EXHAUSTED, UNAVAILABLE), plus DEADLINE_EXCEEDED — one call's own deadline, as the idempotent set has it.
const TRANSIENT = new Map([[14, 'UNAVAILABLE'], [8, 'RESOURCE_EXHAUSTED'], [4, 'DEADLINE_EXCEEDED']]);
const CODE_NAMES: Record<number, string> = { 1: 'CANCELLED', 2: 'UNKNOWN', 4: 'DEADLINE_EXCEEDED', 8: 'RESOURCE_EXHAUSTED', 10: 'ABORTED', 12: 'UNIMPLEMENTED', 13: 'INTERNAL', 14: 'UNAVAILABLE', 15: 'DATA_LOSS' };

/**
 * Google Cloud Secret Manager through the official SDK over gRPC
 * (AccessSecretVersion), its default transport in Node. The payload's
 * CRC32C, which the API returns for integrity, is checked: a mismatch is a
 * malformed answer, never a value. SDK retries are off.
 */
export function createGcpBackend(opts: GcpBackendOptions = {}): SecretBackend {
  const endpoint = opts.endpoint === undefined ? undefined : parseEndpoint(opts.endpoint);
  const sdk = lazy<Sdk>(() => import('@google-cloud/secret-manager'));
  let started = false;
  const client = lazy<SecretManagerServiceClient>(async () => {
    started = true;
    const { SecretManagerServiceClient: Client } = await sdk();
    const options: ClientOptions = {
      ...(endpoint === undefined ? {} : { apiEndpoint: endpoint.host, port: endpoint.port }),
      // After a failed connection grpc-js waits out its own reconnect backoff (1 s growing to 2 min),
      // failing every call fast meanwhile; cap it so a backend that is back is reached by the
      // resolver's next retry, which owns the retry cadence.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    };
    if (opts.caPem !== undefined) {
      // A private CA needs explicit channel credentials; the SDK then sends no
      // call credentials of its own, so the ADC token is combined in here.
      const gax = await import('google-gax');
      const auth = new gax.GoogleAuth({ scopes: [...Client.scopes], ...(opts.authClient === undefined ? {} : { authClient: opts.authClient }) });
      const { credentials } = gax.grpc;
      options.auth = auth;
      options.sslCreds = credentials.combineChannelCredentials(
        credentials.createSsl(Buffer.from(withSystemRoots(opts.caPem).join('\n'))),
        credentials.createFromGoogleCredential({
          getRequestHeaders: async (url?: string) => {
            const headers = await (await auth.getClient()).getRequestHeaders(url);
            const out: Record<string, string> = {};
            headers.forEach((value, key) => {
              out[key] = value;
            });
            return out;
          },
        }),
      );
    } else if (opts.authClient !== undefined) {
      options.authClient = opts.authClient;
    }
    return new Client(options);
  });

  return {
    scheme: 'gcp',
    async fetch(ref: SecretRef, signal: AbortSignal): Promise<FetchedSecret> {
      if (ref.scheme !== 'gcp') throw new ProbectlError('PROBECTL_ERR_INTERNAL', 'gcp: backend was handed a reference of another scheme');
      const name = `projects/${ref.project}/secrets/${ref.secret}/versions/${ref.version}`;
      let response;
      try {
        const c = await client();
        // At run time gax returns a CancellablePromise; the typings say Promise.
        const call = c.accessSecretVersion({ name }, { timeout: opts.requestTimeoutMs ?? 30_000, retry: null });
        const cancellable = call as typeof call & { cancel?: () => void };
        [response] = await raceAbort('gcp', call, signal, () => cancellable.cancel?.());
      } catch (err) {
        throw classify(err, signal);
      }
      const payload = response.payload;
      if (!payload || !(payload.data instanceof Uint8Array)) throw secretError('PROBECTL_ERR_SECRET_MALFORMED', 'gcp', 'the answer holds no payload');
      const value = Buffer.from(payload.data);
      payload.data.fill(0);
      const declared = checksum(payload.dataCrc32c);
      if (declared === 'invalid') throw secretError('PROBECTL_ERR_SECRET_MALFORMED', 'gcp', 'the payload checksum is not a number');
      if (declared !== undefined && declared !== crc32c(value)) {
        value.fill(0);
        throw secretError('PROBECTL_ERR_SECRET_MALFORMED', 'gcp', 'the payload does not match its CRC32C checksum');
      }
      return { value: nonEmpty('gcp', value) };
    },
    async close(): Promise<void> {
      if (!started) return;
      const c = await client().catch(() => undefined);
      await c?.close();
    },
  };
}

function parseEndpoint(text: string): { host: string; port: number } {
  const m = /^(?:https:\/\/)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?\/?$/.exec(text.trim());
  if (!m) throw new ProbectlError('PROBECTL_ERR_CONFIG_INVALID', 'gcp: the endpoint must be host[:port] (gRPC over TLS)');
  const port = m[2] === undefined ? 443 : Number(m[2]);
  if (port < 1 || port > 65535) throw new ProbectlError('PROBECTL_ERR_CONFIG_INVALID', 'gcp: the endpoint port is out of range');
  return { host: m[1] as string, port };
}

/** The declared CRC32C: absent (older versions of the API), a number, or 'invalid'. int64 arrives as string, number or Long. */
function checksum(raw: unknown): number | undefined | 'invalid' {
  if (raw === null || raw === undefined) return undefined;
  const text = typeof raw === 'object' ? String(raw as { toString(): string }) : String(raw);
  if (!/^\d{1,10}$/.test(text)) return 'invalid';
  const n = Number(text);
  return n > 0xffffffff ? 'invalid' : n;
}

let table: Uint32Array | undefined;

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as Secret Manager's data_crc32c. */
export function crc32c(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      table[i] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = (table[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function classify(err: unknown, signal: AbortSignal): ProbectlError {
  if (err instanceof ProbectlError) return err;
  if (signal.aborted) return secretError('PROBECTL_ERR_SECRET_UNAVAILABLE', 'gcp', 'the backend call was cancelled or timed out');
  const code = typeof (err as { code?: unknown } | null)?.code === 'number' ? (err as { code: number }).code : undefined;
  if (code !== undefined && DENIED.has(code)) return secretError('PROBECTL_ERR_SECRET_DENIED', 'gcp', statusWord('the backend refused the credentials', DENIED.get(code), undefined));
  if (code === 5) return secretError('PROBECTL_ERR_SECRET_NOT_FOUND', 'gcp', 'the secret or version does not exist (NOT_FOUND)');
  if (code !== undefined && NOT_FOUND.has(code)) return secretError('PROBECTL_ERR_SECRET_NOT_FOUND', 'gcp', statusWord('the secret version is disabled, destroyed or not addressable', NOT_FOUND.get(code), undefined));
  // grpc-js reports an undecodable response message as INTERNAL with this fixed text.
  if (code === 13 && /^Response message parsing error/.test(String((err as { details?: unknown }).details))) {
    return secretError('PROBECTL_ERR_SECRET_MALFORMED', 'gcp', 'the backend answer could not be decoded');
  }
  if (code !== undefined && TRANSIENT.has(code)) return new TransientSecretError(`gcp: ${statusWord('the backend call failed', TRANSIENT.get(code), undefined)}`);
  if (code !== undefined && CODE_NAMES[code] !== undefined) return secretError('PROBECTL_ERR_SECRET_UNAVAILABLE', 'gcp', statusWord('the backend call failed', CODE_NAMES[code], undefined));
  const transport = transportFailure('gcp', err);
  if (transport !== undefined) return transport;
  return secretError('PROBECTL_ERR_SECRET_UNAVAILABLE', 'gcp', 'the backend call failed (credentials could not be loaded or the channel failed)');
}
