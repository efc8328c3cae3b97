import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { leaf } from './tls.ts';

export interface StandIn {
  /** `https://127.0.0.1:<port>` */
  origin: string;
  /** Stops listening and drops every open connection (keep-alive clients included). */
  close(): Promise<void>;
}

/**
 * An HTTPS server on 127.0.0.1 with a certificate of the test CA, for a
 * vendor stand-in: `handle` answers each request and returns the status it
 * sent (`record` receives it); a handler that throws answers 500.
 */
export async function listenHttps<R extends { status: number }>(handle: (req: IncomingMessage, res: ServerResponse, record: R) => Promise<number>, newRecord: (req: IncomingMessage) => R | undefined): Promise<StandIn> {
  const cert = await leaf();
  const sockets = new Set<Socket>();
  const http = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const record = newRecord(req);
    handle(req, res, record as R).then((status) => {
      if (record) record.status = status;
    }, () => {
      res.writeHead(500);
      res.end();
    });
  });
  http.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  return {
    origin: `https://127.0.0.1:${(http.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => {
      http.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}
