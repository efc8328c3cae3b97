import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a secrets stand-in that fails the way a restarting
 * or flapping backend does, below any protocol (HTTPS or gRPC alike):
 * - `resetNext(n)`: the next n connections are reset (TCP RST) as soon as
 *   they are accepted — the client sees ECONNRESET;
 * - `down()` … `up()`: nothing listens on the port in between — the client
 *   sees ECONNREFUSED, as while a backend restarts; `up()` listens on the
 *   same port again.
 * Everything else is piped to the stand-in unchanged (TLS included: the
 * client still validates the stand-in's certificate).
 */
export interface FaultProxy {
  readonly port: number;
  /** Connections accepted so far (reset ones included). */
  readonly accepted: number;
  resetNext(n: number): void;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  let resets = 0;
  let accepted = 0;
  let closed = false;

  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };

  const server: Server = createServer((client) => {
    accepted += 1;
    track(client);
    if (resets > 0) {
      resets -= 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    track(upstream);
    client.pipe(upstream).pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
  });

  // One state change at a time: down() and up() (and close()) are queued, so a
  // test that stops waiting half-way can never leave the port listening after close().
  let queue: Promise<void> = Promise.resolve();
  const serial = (step: () => Promise<void>): Promise<void> => {
    const next = queue.then(step);
    queue = next.catch(() => undefined);
    return next;
  };
  const listen = async (port: number): Promise<void> => {
    if (closed || server.listening) return;
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
  };
  const stop = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    if (!server.listening) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  await listen(0);
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    get accepted() {
      return accepted;
    },
    resetNext(n) {
      resets += n;
    },
    down: () => serial(stop),
    up: () => serial(() => listen(port)),
    close: () => serial(async () => {
      closed = true;
      await stop();
    }),
  };
}
