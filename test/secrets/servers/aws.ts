import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Issued } from '../../../src/core/x509.ts';

/**
 * A local AWS Secrets Manager speaking the JSON 1.1 protocol for
 * GetSecretValue, strict where a wrong client would be caught: POST /, the
 * exact Content-Type and X-Amz-Target, and a SigV4 signature recomputed from
 * the canonical request with the known test key (a mismatch gets AWS's
 * InvalidSignatureException, an unknown key UnrecognizedClientException).
 * Errors use AWS's JSON error shape: HTTP 400 with `__type` and `message`.
 */

export const TEST_ACCESS_KEY_ID = 'AKIDPROBECTLTEST0001';
export const TEST_SECRET_ACCESS_KEY = 'probectl/test/secret/access/key/0000000001';

interface Version { id: string; stages: Set<string>; text?: string; binary?: Buffer; created: number }
interface Secret { name: string; arn: string; versions: Version[]; denied: boolean }

export type AwsFault = 'malformed-json' | 'no-value' | 'http-500' | 'http-403-html' | undefined;

export interface AwsServer {
  readonly url: string;
  readonly port: number;
  /** GetSecretValue requests answered with a secret. */
  readonly served: number;
  /** Requests refused, with the reason the server gave. */
  readonly refused: string[];
  /** Stores a new version (AWSCURRENT; the old current becomes AWSPREVIOUS). */
  put(name: string, value: string | Buffer, opts?: { account?: string }): string;
  /** Makes GetSecretValue of this secret answer AccessDeniedException (a resource policy deny). */
  deny(name: string, denied: boolean): void;
  fault: AwsFault;
  /**
   * Answers the next n requests with a transient error as Secrets Manager
   * sends it: `throttle` = HTTP 400 ThrottlingException ("Rate exceeded"),
   * `http-503` = HTTP 503 ServiceUnavailable.
   */
  failNext(n: number, kind: 'throttle' | 'http-503'): void;
  /** Drops faults queued by failNext and not used yet. */
  clearFaults(): void;
  close(): Promise<void>;
}

export async function startAwsServer(opts: { cert?: Issued; region: string; sessionToken?: string; plaintext?: boolean }): Promise<AwsServer> {
  const secrets = new Map<string, Secret>();
  const refused: string[] = [];
  const transient: ('throttle' | 'http-503')[] = [];
  let served = 0;

  function awsError(res: ServerResponse, status: number, type: string, message: string): void {
    refused.push(type);
    const body = JSON.stringify({ __type: type, message });
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID(), 'x-amzn-errortype': type });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (req.method !== 'POST' || req.url !== '/') return awsError(res, 404, 'UnknownOperationException', 'Not found');
    const once = transient.shift();
    if (once === 'throttle') return awsError(res, 400, 'ThrottlingException', 'Rate exceeded');
    if (once === 'http-503') return awsError(res, 503, 'ServiceUnavailable', 'Service is unavailable. Please try again later.');
    if (server.fault === 'http-403-html') {
      refused.push('http-403');
      res.writeHead(403, { 'content-type': 'text/html' });
      res.end('<html><body>Forbidden by proxy</body></html>');
      return;
    }
    if (server.fault === 'http-500') {
      refused.push('http-500');
      res.writeHead(500, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'InternalServiceError' });
      res.end(JSON.stringify({ __type: 'InternalServiceError', message: 'An error occurred on the server side.' }));
      return;
    }
    if (req.headers['content-type'] !== 'application/x-amz-json-1.1') return awsError(res, 400, 'SerializationException', 'Wrong content type');
    if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') return awsError(res, 400, 'UnknownOperationException', 'Unknown operation');
    const auth = verifySigV4(req, body, opts.region, opts.sessionToken);
    if (auth !== undefined) return awsError(res, 400, auth.type, auth.message);

    let input: Record<string, unknown>;
    try {
      input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      return awsError(res, 400, 'SerializationException', 'Malformed JSON body');
    }
    const allowed = new Set(['SecretId', 'VersionStage', 'VersionId']);
    if (typeof input !== 'object' || input === null || Object.keys(input).some((k) => !allowed.has(k))) return awsError(res, 400, 'SerializationException', 'Unexpected member');
    if (typeof input.SecretId !== 'string' || input.SecretId === '') return awsError(res, 400, 'InvalidParameterException', 'SecretId is required');
    const secret = secrets.get(input.SecretId) ?? [...secrets.values()].find((s) => s.arn === input.SecretId);
    if (!secret) return awsError(res, 400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    if (secret.denied) return awsError(res, 400, 'AccessDeniedException', 'User is not authorized to perform: secretsmanager:GetSecretValue because no resource-based policy allows the action');
    const stage = typeof input.VersionStage === 'string' ? input.VersionStage : 'AWSCURRENT';
    const version = typeof input.VersionId === 'string' ? secret.versions.find((v) => v.id === input.VersionId) : secret.versions.find((v) => v.stages.has(stage));
    if (!version) return awsError(res, 400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label: " + stage);

    served += 1;
    if (server.fault === 'malformed-json') {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end('{"ARN": "arn:aws:secretsmanager:trunc');
      return;
    }
    const out: Record<string, unknown> = { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: [...version.stages], CreatedDate: version.created / 1000 };
    if (server.fault !== 'no-value') {
      if (version.text !== undefined) out.SecretString = version.text;
      if (version.binary !== undefined) out.SecretBinary = version.binary.toString('base64');
    }
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify(out));
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch(() => {
      res.writeHead(500);
      res.end();
    });
  };
  let http: Server;
  if (opts.plaintext) http = createHttpServer(listener);
  else {
    if (!opts.cert) throw new Error('cert required for https');
    http = createHttpsServer({ cert: opts.cert.certPem, key: opts.cert.keyPem }, listener);
  }
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;

  const server: AwsServer = {
    url: `${opts.plaintext ? 'http' : 'https'}://localhost:${port}`,
    port,
    get served() {
      return served;
    },
    refused,
    fault: undefined,
    failNext(n, kind) {
      for (let i = 0; i < n; i++) transient.push(kind);
    },
    clearFaults() {
      transient.length = 0;
    },
    put(name, value, o) {
      let s = secrets.get(name);
      if (!s) {
        s = { name, arn: `arn:aws:secretsmanager:${opts.region}:${o?.account ?? '123456789012'}:secret:${name}-AbCdEf`, versions: [], denied: false };
        secrets.set(name, s);
      }
      for (const v of s.versions) {
        v.stages.delete('AWSPREVIOUS');
        if (v.stages.delete('AWSCURRENT')) v.stages.add('AWSPREVIOUS');
      }
      const id = randomUUID();
      s.versions.push({ id, stages: new Set(['AWSCURRENT']), created: Date.now(), ...(typeof value === 'string' ? { text: value } : { binary: Buffer.from(value) }) });
      return s.arn;
    },
    deny(name, denied) {
      const s = secrets.get(name);
      if (s) s.denied = denied;
    },
    close: () => new Promise((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    }),
  };
  return server;
}

const AUTH_RE = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/** Recomputes the SigV4 signature (AWS docs: "Create a signed AWS API request"); undefined when it verifies. */
function verifySigV4(req: IncomingMessage, body: Buffer, region: string, sessionToken: string | undefined): { type: string; message: string } | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return { type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  const m = AUTH_RE.exec(header);
  if (!m) return { type: 'IncompleteSignatureException', message: 'Authorization header requires Credential, SignedHeaders and Signature' };
  const [, keyId, day, credRegion, service, signedHeaderList, signature] = m as unknown as [string, string, string, string, string, string, string];
  if (keyId !== TEST_ACCESS_KEY_ID) return { type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  const amzDate = req.headers['x-amz-date'];
  if (typeof amzDate !== 'string' || !/^\d{8}T\d{6}Z$/.test(amzDate)) return { type: 'IncompleteSignatureException', message: 'X-Amz-Date is missing or malformed' };
  const when = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(Date.now() - when) > 15 * 60_000) return { type: 'InvalidSignatureException', message: 'Signature expired' };
  if (day !== amzDate.slice(0, 8) || credRegion !== region || service !== 'secretsmanager') {
    return { type: 'InvalidSignatureException', message: 'Credential should be scoped to a valid region and service' };
  }
  const signed = signedHeaderList.split(';');
  for (const required of ['host', 'x-amz-date', 'x-amz-target', 'content-type']) {
    if (!signed.includes(required)) return { type: 'InvalidSignatureException', message: `'${required}' must be a signed header` };
  }
  if (sessionToken !== undefined) {
    if (req.headers['x-amz-security-token'] !== sessionToken) return { type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
    if (!signed.includes('x-amz-security-token')) return { type: 'InvalidSignatureException', message: 'x-amz-security-token must be signed' };
  }
  const payloadHash = createHash('sha256').update(body).digest('hex');
  const declared = req.headers['x-amz-content-sha256'];
  if (declared !== undefined && declared !== payloadHash) return { type: 'InvalidSignatureException', message: 'The provided x-amz-content-sha256 header does not match what was computed.' };
  const canonicalHeaders = signed.map((name) => {
    const raw = req.headers[name];
    if (raw === undefined) return undefined;
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    return `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
  });
  if (canonicalHeaders.includes(undefined)) return { type: 'InvalidSignatureException', message: 'A signed header is missing from the request' };
  const url = new URL(req.url ?? '/', 'https://x');
  const query = [...url.searchParams].map(([k, v]) => [enc(k), enc(v)] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('&');
  const canonicalRequest = [req.method, url.pathname, query, canonicalHeaders.join(''), signedHeaderList, payloadHash].join('\n');
  const scope = `${day}/${region}/secretsmanager/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${TEST_SECRET_ACCESS_KEY}`, day), region), 'secretsmanager'), 'aws4_request');
  const expected = createHmac('sha256', signingKey).update(stringToSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    return { type: 'InvalidSignatureException', message: 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.' };
  }
  return undefined;
}

function enc(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
