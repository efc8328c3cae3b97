import { createServer, type Server, type Socket } from 'node:net';
import { ProbectlError } from '../core/errors.ts';
import { formatHostPort, type HostPort } from '../core/net.ts';

const WHY: Record<string, (listen: HostPort) => string> = {
  EADDRINUSE: () => 'the address is already in use (another process listens there); stop that process or choose a free host:port',
  EACCES: (l) => `permission denied binding port ${l.port}${l.port < 1024 ? ' (ports below 1024 need privileges)' : ''}; choose a port from 1024 up`,
  EADDRNOTAVAIL: (l) => `no network interface of this machine has the address ${l.host}; use one of its addresses, 0.0.0.0 or ::`,
  ENOTFOUND: (l) => `the host name ${l.host} does not resolve; use an address or a resolvable name`,
  EAI_AGAIN: (l) => `the host name ${l.host} could not be resolved (temporary DNS failure)`,
};

/**
 * The error for a listener that cannot bind: names PROBECTL_LISTEN, the
 * address and what to change (the system error code in brackets).
 */
export function listenRefused(err: unknown, listen: HostPort): ProbectlError {
  const code = (err as NodeJS.ErrnoException)?.code ?? 'unknown';
  const why = WHY[code]?.(listen) ?? `it cannot be bound (${(err as Error)?.message ?? String(err)})`;
  return new ProbectlError('PROBECTL_ERR_LISTEN_UNAVAILABLE', `PROBECTL_LISTEN=${formatHostPort(listen)}: ${why} [${code}]; startup refused`, { cause: err });
}

export interface ListenReservation {
  /** Frees the address for the real listener; idempotent. */
  release(): Promise<void>;
}

/**
 * Binds PROBECTL_LISTEN's address before startup changes anything (migrations,
 * the first tenant, its token, the certificate), and holds it until the API
 * server takes it over, so a taken port refuses startup with nothing done.
 * Port 0 (any free port) needs no reservation. A client that connects while
 * the address is held (a health check, a load balancer) is disconnected at
 * once: the reservation never keeps a connection open, so release() never
 * waits on one.
 * @throws ProbectlError PROBECTL_ERR_LISTEN_UNAVAILABLE from listenRefused
 */
export async function reserveListen(listen: HostPort): Promise<ListenReservation> {
  if (listen.port === 0) return { release: async () => undefined };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenRefused(err, listen)));
    server.listen({ host: listen.host, port: listen.port, exclusive: true }, () => resolve());
  });
  let released: Promise<void> | undefined;
  return {
    release() {
      released ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return released;
    },
  };
}
