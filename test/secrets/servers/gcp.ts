import { randomBytes } from 'node:crypto';
import { grpc } from 'google-gax';
import type { Issued } from '../../../src/core/x509.ts';
import { crc32c } from '../../../src/secrets/backends/gcp.ts';

/**
 * A local Google Cloud Secret Manager speaking gRPC over TLS:
 * google.cloud.secretmanager.v1.SecretManagerService/AccessSecretVersion. The
 * protobuf messages are encoded here by hand from the published .proto
 * (AccessSecretVersionRequest{1:name}, AccessSecretVersionResponse{1:name,
 * 2:SecretPayload{1:data, 2:data_crc32c int64}}), so the server does not lean
 * on the SDK's own descriptors. It checks the bearer token in the call
 * metadata, the resource name's shape and the x-goog-request-params routing
 * header the SDK must send; errors are gRPC statuses as the API returns them.
 */

const SERVICE = '/google.cloud.secretmanager.v1.SecretManagerService/';

export const GCP_TEST_TOKEN = `ya29.${randomBytes(24).toString('base64url')}`;

export type GcpFault = 'crc-mismatch' | 'no-crc' | 'no-payload' | 'garbage' | 'unavailable' | undefined;

interface Version { id: number; data: Buffer; state: 'ENABLED' | 'DISABLED' | 'DESTROYED' }

export interface GcpServer {
  readonly endpoint: string;
  readonly port: number;
  readonly served: number;
  readonly refused: string[];
  /** Every request name seen, as the server decoded it. */
  readonly names: string[];
  put(secret: string, value: string | Buffer): number;
  setState(secret: string, version: number, state: Version['state']): void;
  deny(secret: string, denied: boolean): void;
  fault: GcpFault;
  /** Answers the next n authenticated calls with this gRPC status (UNAVAILABLE, RESOURCE_EXHAUSTED: what the API sends while it recovers or throttles). */
  failNext(n: number, code: 'UNAVAILABLE' | 'RESOURCE_EXHAUSTED'): void;
  /** Drops faults queued by failNext and not used yet. */
  clearFaults(): void;
  close(): Promise<void>;
}

export async function startGcpServer(opts: { cert: Issued; project: string }): Promise<GcpServer> {
  const secrets = new Map<string, Version[]>();
  const denied = new Set<string>();
  const refused: string[] = [];
  const names: string[] = [];
  const transient: ('UNAVAILABLE' | 'RESOURCE_EXHAUSTED')[] = [];
  let served = 0;

  const fail = (cb: grpc.sendUnaryData<Buffer>, code: grpc.status, details: string): void => {
    refused.push(grpc.status[code] as string);
    cb({ code, details, metadata: new grpc.Metadata() } as grpc.ServiceError, null);
  };

  const server = new grpc.Server();
  const identity = (b: Buffer): Buffer => b;
  server.addService({
    AccessSecretVersion: {
      path: `${SERVICE}AccessSecretVersion`,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
      originalName: 'accessSecretVersion',
    },
  } as unknown as grpc.ServiceDefinition, {
    AccessSecretVersion: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const auth = call.metadata.get('authorization')[0];
      if (auth === undefined) return fail(cb, grpc.status.UNAUTHENTICATED, 'Request had invalid authentication credentials. Expected OAuth 2 access token.');
      if (auth !== `Bearer ${GCP_TEST_TOKEN}`) return fail(cb, grpc.status.UNAUTHENTICATED, 'Request had invalid authentication credentials.');
      let name: string;
      try {
        name = decodeRequest(call.request);
      } catch {
        return fail(cb, grpc.status.INVALID_ARGUMENT, 'Invalid request message');
      }
      names.push(name);
      const m = /^projects\/([^/]+)\/secrets\/([A-Za-z0-9_-]{1,255})\/versions\/(latest|\d+)$/.exec(name);
      if (!m) return fail(cb, grpc.status.INVALID_ARGUMENT, 'Invalid resource field value in the request.');
      const routing = String(call.metadata.get('x-goog-request-params')[0] ?? '');
      if (routing !== `name=${encodeURIComponent(name)}`) return fail(cb, grpc.status.INVALID_ARGUMENT, 'Missing or wrong x-goog-request-params routing header');
      const [, project, secret, versionText] = m as unknown as [string, string, string, string];
      if (project !== opts.project) return fail(cb, grpc.status.PERMISSION_DENIED, "Permission 'secretmanager.versions.access' denied for resource (or it may not exist).");
      if (server2.fault === 'unavailable') return fail(cb, grpc.status.UNAVAILABLE, 'The service is currently unavailable.');
      const once = transient.shift();
      if (once === 'UNAVAILABLE') return fail(cb, grpc.status.UNAVAILABLE, 'The service is currently unavailable.');
      if (once === 'RESOURCE_EXHAUSTED') return fail(cb, grpc.status.RESOURCE_EXHAUSTED, "Quota exceeded for quota metric 'Access requests' and limit 'Access requests per minute'.");
      const versions = secrets.get(secret);
      if (!versions) return fail(cb, grpc.status.NOT_FOUND, 'Secret not found or has no versions.');
      if (denied.has(secret)) return fail(cb, grpc.status.PERMISSION_DENIED, "Permission 'secretmanager.versions.access' denied for resource (or it may not exist).");
      const version = versionText === 'latest' ? versions.filter((v) => v.state === 'ENABLED').at(-1) : versions.find((v) => v.id === Number(versionText));
      if (!version) return fail(cb, grpc.status.NOT_FOUND, 'Secret Version not found.');
      if (version.state !== 'ENABLED') return fail(cb, grpc.status.FAILED_PRECONDITION, `Secret Version is in ${version.state} state.`);
      served += 1;
      const fullName = `projects/${projectNumber}/secrets/${secret}/versions/${version.id}`;
      const fault = server2.fault;
      if (fault === 'garbage') return cb(null, Buffer.from([0x12, 0xff, 0xff, 0xff, 0x0f, 0x01]));
      const crc = fault === 'crc-mismatch' ? (crc32c(version.data) ^ 1) >>> 0 : fault === 'no-crc' ? undefined : crc32c(version.data);
      cb(null, encodeResponse(fullName, fault === 'no-payload' ? undefined : version.data, crc));
    },
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(opts.cert.certPem), private_key: Buffer.from(opts.cert.keyPem) }], false), (err, p) => (err ? reject(err) : resolve(p)));
  });
  const projectNumber = '123456789012';

  const server2: GcpServer = {
    endpoint: `localhost:${port}`,
    port,
    get served() {
      return served;
    },
    refused,
    names,
    fault: undefined,
    failNext(n, code) {
      for (let i = 0; i < n; i++) transient.push(code);
    },
    clearFaults() {
      transient.length = 0;
    },
    put(secret, value) {
      const list = secrets.get(secret) ?? [];
      const id = list.length + 1;
      list.push({ id, data: Buffer.from(value), state: 'ENABLED' });
      secrets.set(secret, list);
      return id;
    },
    setState(secret, version, state) {
      const v = secrets.get(secret)?.find((x) => x.id === version);
      if (v) v.state = state;
    },
    deny(secret, d) {
      if (d) denied.add(secret);
      else denied.delete(secret);
    },
    close: () => new Promise((resolve) => {
      server.forceShutdown();
      resolve();
    }),
  };
  return server2;
}

// --- protobuf wire format, just enough for these two messages ---

function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return Buffer.from(out);
}

function lengthDelimited(field: number, bytes: Buffer): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);
}

function encodeResponse(name: string, data: Buffer | undefined, crc: number | undefined): Buffer {
  const parts = [lengthDelimited(1, Buffer.from(name, 'utf8'))];
  if (data !== undefined) {
    const payload = [lengthDelimited(1, data)];
    if (crc !== undefined) payload.push(Buffer.concat([varint((2 << 3) | 0), varint(crc)]));
    parts.push(lengthDelimited(2, Buffer.concat(payload)));
  }
  return Buffer.concat(parts);
}

function readVarint(buf: Buffer, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length || shift > 28) throw new Error('bad varint');
    const b = buf[pos++] as number;
    result |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result >>> 0, pos];
    shift += 7;
  }
}

/** AccessSecretVersionRequest: exactly one field, 1 (name, string); anything else is refused. */
function decodeRequest(buf: Buffer): string {
  let pos = 0;
  let name: string | undefined;
  while (pos < buf.length) {
    const [tag, p1] = readVarint(buf, pos);
    if (tag !== ((1 << 3) | 2)) throw new Error('unexpected field');
    const [len, p2] = readVarint(buf, p1);
    if (p2 + len > buf.length) throw new Error('truncated');
    name = buf.subarray(p2, p2 + len).toString('utf8');
    pos = p2 + len;
  }
  if (name === undefined) throw new Error('name is required');
  return name;
}
