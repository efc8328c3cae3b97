import { UpstreamClient } from '../../../src/federation/upstream/client.ts';

/**
 * An UpstreamClient for a stand-in engine on http://127.0.0.1:<port> (plain HTTP on loopback,
 * label tenancy, no credentials: resolving one throws), `timeoutMs` per call. Close it after use.
 */
export function plainUpstreamClient(port: number, timeoutMs = 5000): UpstreamClient {
  return new UpstreamClient({
    url: new URL(`http://127.0.0.1:${port}`), writeUrl: new URL(`http://127.0.0.1:${port}/api/v1/write`), caFile: undefined, clientCertFile: undefined,
    clientKeyFile: undefined, token: undefined, tenancy: 'label', timeoutMs,
  }, { use: async () => { throw new Error('no credentials here'); } });
}
