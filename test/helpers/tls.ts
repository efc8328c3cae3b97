import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { createServer, type TlsOptions } from 'node:tls';
import { issueCertificate, type Issued } from '../../src/core/x509.ts';

const DAY = 86_400_000;

let ca: Promise<Issued> | undefined;

/** One test CA per test process. */
export function testCa(): Promise<Issued> {
  ca ??= issueCertificate({ commonName: 'probectl test CA', isCa: true, notAfter: new Date(Date.now() + 3650 * DAY) });
  return ca;
}

/** A leaf for localhost/127.0.0.1 signed by the test CA unless told otherwise. */
export async function leaf(opts: { names?: string[]; notBefore?: Date; notAfter?: Date; selfSigned?: boolean } = {}): Promise<Issued> {
  const names = opts.names ?? ['localhost', '127.0.0.1'];
  return issueCertificate({
    commonName: names[0] as string,
    altNames: names,
    ...(opts.notBefore ? { notBefore: opts.notBefore } : {}),
    ...(opts.notAfter ? { notAfter: opts.notAfter } : {}),
    ...(opts.selfSigned ? {} : { issuer: await testCa() }),
  });
}

export interface TlsTestServer {
  port: number;
  close(): Promise<void>;
}

/** A TLS server on 127.0.0.1 that completes handshakes and closes. */
export async function tlsServer(cert: Issued, extra: TlsOptions = {}): Promise<TlsTestServer> {
  const sockets = new Set<Socket>();
  const server = createServer({ cert: cert.certPem, key: cert.keyPem, ...extra }, (socket) => socket.end());
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    // Connections a client left open are destroyed: close() never waits on a peer.
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}

export const days = (n: number): number => n * DAY;
