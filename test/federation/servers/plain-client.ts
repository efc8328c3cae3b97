import { once } from 'node:events';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import pino, { type Logger } from 'pino';
import type { MetricsBackend } from '../../../src/federation/backend.ts';
import { DEFAULT_REMOTE_WRITE_LIMITS } from '../../../src/federation/remote-write/decode.ts';
import { upstreamBackend, type UpstreamBackendDeps } from '../../../src/federation/upstream/backend.ts';
import { UpstreamClient } from '../../../src/federation/upstream/client.ts';

/**
 * An UpstreamClient for a stand-in engine on http://127.0.0.1:<port> (plain HTTP on loopback,
 * label tenancy, no credentials: resolving one throws), `timeoutMs` per call, logging to `log` (none when left out). Close it after use.
 */
export function plainUpstreamClient(port: number, timeoutMs = 5000, log?: Logger): UpstreamClient {
  return new UpstreamClient({
    url: new URL(`http://127.0.0.1:${port}`), writeUrl: new URL(`http://127.0.0.1:${port}/api/v1/write`), caFile: undefined, clientCertFile: undefined,
    clientKeyFile: undefined, token: undefined, tenancy: 'label', timeoutMs,
  }, { use: async () => { throw new Error('no credentials here'); } }, log);
}

/** A stand-in engine served for the enclosing describe (useStandInEngine); each getter is valid inside its tests. */
export interface StandInEngine {
  /** A plainUpstreamClient for it. */
  client(): UpstreamClient;
  /** The loopback port it listens on. */
  port(): number;
  /** standInBackend over client(), `deps` overriding any of its defaults. */
  backend(deps?: Partial<UpstreamBackendDeps>): MetricsBackend;
}

/**
 * Serves the stand-in engine `server` on a free loopback port for the enclosing describe
 * (node:test before/after hooks), with a plainUpstreamClient for it of `timeoutMs` per call.
 * At the end `beforeClose` runs first (answers the stand-in holds open), then the client and the
 * server are closed.
 */
export function useStandInEngine(server: Server, opts: { timeoutMs?: number; beforeClose?: () => void } = {}): StandInEngine {
  let client: UpstreamClient | undefined;
  let port = 0;
  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
    client = plainUpstreamClient(port, opts.timeoutMs);
  });
  after(async () => {
    opts.beforeClose?.();
    await client?.close();
    server.closeAllConnections();
    server.close();
  });
  const started = (): UpstreamClient => {
    if (client === undefined) throw new Error('the stand-in engine is used outside its describe\'s tests');
    return client;
  };
  return { client: started, port: () => port, backend: (deps = {}) => standInBackend(started(), deps) };
}

/**
 * The upstream backend over `client` as the stand-in tests use it: at most 100 series per read,
 * Prometheus's 5-minute lookback, the default remote-write limits, a silent log, no metrics;
 * `deps` overrides any of them.
 */
export function standInBackend(client: UpstreamClient, deps: Partial<UpstreamBackendDeps> = {}): MetricsBackend {
  return upstreamBackend({ client, maxSeries: 100, lookbackMs: 300_000, writeLimits: DEFAULT_REMOTE_WRITE_LIMITS, log: pino({ level: 'silent' }), metrics: undefined, ...deps });
}

/** How far pumpAnswer got: bytes of pieces written, and whether the tail (the answer's end) was. */
export interface PumpProgress {
  written: number;
  ended: boolean;
}

/**
 * A stand-in engine's large answer on `res` (its head already sent): `start`, then `piece` as
 * fast as the reader takes it until `cap` bytes of pieces (Infinity: never ends), then `tail`
 * and the end. Returns its progress, updated as it goes; stops when the connection closes.
 */
export function pumpAnswer(res: ServerResponse, start: string, piece: Buffer, cap: number, tail: string): PumpProgress {
  const progress: PumpProgress = { written: 0, ended: false };
  if (start !== '') res.write(start);
  const pump = (): void => {
    while (progress.written < cap) {
      progress.written += piece.length;
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    progress.ended = true;
    res.end(tail);
  };
  res.on('close', () => res.removeAllListeners('drain'));
  pump();
  return progress;
}
