import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { issueCertificate, type Issued } from '../../../src/core/x509.ts';

/** A test CA with a server certificate for 127.0.0.1/localhost, and client certificates on demand. */
export interface TestPki {
  ca: Issued;
  server: Issued;
  issueClient(commonName: string): Promise<Issued>;
}

export async function testPki(): Promise<TestPki> {
  const ca = await issueCertificate({ commonName: 'probectl test CA', isCa: true });
  const server = await issueCertificate({ commonName: 'test server', altNames: ['127.0.0.1', 'localhost', '::1'], issuer: ca });
  return { ca, server, issueClient: (commonName) => issueCertificate({ commonName, issuer: ca }) };
}

export interface RecordedRequest {
  method: string;
  /** Path and query exactly as sent. */
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** Subject CN of the verified client certificate, when one was presented. */
  clientCn: string | undefined;
}

export interface TestReply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer | object;
  /** Destroy the socket instead of answering. */
  hangUp?: boolean;
  /** Wait this long before answering. */
  delayMs?: number;
}

export type TestHandler = (req: RecordedRequest) => TestReply | Promise<TestReply>;

export interface TestServer {
  url: string;
  port: number;
  server: Server;
  requests: RecordedRequest[];
  /** Answers the next requests with these replies, in order, before the handler sees any (transient faults). */
  failNext(...replies: TestReply[]): void;
  /** Drops replies queued by failNext and not used yet. */
  clearFaults(): void;
  close(): Promise<void>;
}

/**
 * A real HTTPS server on 127.0.0.1 port 0 with a certificate from the test CA.
 * With `requestClientCert`, a client certificate from the same CA is
 * required (unauthenticated TLS clients are refused at the handshake).
 */
export async function startHttpsServer(pki: TestPki, handler: TestHandler, opts: { requestClientCert?: boolean } = {}): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const faults: TestReply[] = [];
  // Delayed replies are cancelled at close, so a slow or hanging reply never outlives the server.
  const delays = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  const delay = (ms: number) => new Promise<void>((resolve) => {
    const entry = { timer: setTimeout(() => {
      delays.delete(entry);
      resolve();
    }, ms), resolve };
    delays.add(entry);
  });
  const server = createServer({
    cert: pki.server.certPem,
    key: pki.server.keyPem,
    ...(opts.requestClientCert ? { requestCert: true, rejectUnauthorized: true, ca: pki.ca.certPem } : {}),
  }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const peer = (req.socket as TLSSocket).getPeerCertificate?.();
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        clientCn: peer && typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined,
      };
      requests.push(recorded);
      const fault = faults.shift();
      void Promise.resolve(fault ?? handler(recorded)).then(async (reply) => {
        if (reply.delayMs) await delay(reply.delayMs);
        if (req.socket.destroyed) return;
        if (reply.hangUp) {
          req.socket.destroy();
          return;
        }
        const body = reply.body === undefined ? '' : typeof reply.body === 'string' || Buffer.isBuffer(reply.body) ? reply.body : JSON.stringify(reply.body);
        const type = reply.body !== undefined && typeof reply.body === 'object' && !Buffer.isBuffer(reply.body) ? { 'content-type': 'application/json' } : {};
        res.writeHead(reply.status, { ...type, ...(reply.headers ?? {}) });
        res.end(body);
      }, (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`test server handler failed: ${(err as Error).message}`);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    server,
    requests,
    failNext: (...replies) => {
      faults.push(...replies);
    },
    clearFaults: () => {
      faults.length = 0;
    },
    close: () => new Promise<void>((resolve) => {
      for (const d of delays) {
        clearTimeout(d.timer);
        d.resolve();
      }
      delays.clear();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
export async function deadPort(): Promise<number> {
  const { createServer: createNet } = await import('node:net');
  const s = createNet();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const a = s.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
