import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { upstreamBackend } from './src/federation/upstream/backend.ts';
import { UpstreamClient } from './src/federation/upstream/client.ts';
import { DEFAULT_REMOTE_WRITE_LIMITS } from './src/federation/remote-write/decode.ts';
let mode = 'hold';
const closes: Promise<unknown>[] = [];
const server = createServer((req, res) => { req.resume(); req.on('end', () => {
  if (req.url?.endsWith('/series')) { res.writeHead(200); res.end('{"status":"success","data":[]}'); return; }
  closes.push(once(res, 'close'));
  if (mode === 'err') { res.writeHead(422, { 'content-type': 'application/json' }); res.write('{"status":"error","error":"bad {a=\\"b\\"}'); return; } // error body never finishes
  res.writeHead(200); res.write('{"status":"success"');
}); });
server.listen(0, '127.0.0.1'); await once(server, 'listening');
const port = (server.address() as AddressInfo).port;
const client = new UpstreamClient({ url: new URL(`http://127.0.0.1:${port}`), writeUrl: new URL(`http://127.0.0.1:${port}/w`), caFile: undefined, clientCertFile: undefined, clientKeyFile: undefined, token: undefined, tenancy: 'label', timeoutMs: 1000 }, { use: async () => { throw new Error('x'); } });
const b = upstreamBackend({ client, maxSeries: 100, lookbackMs: 300_000, writeLimits: DEFAULT_REMOTE_WRITE_LIMITS, log: pino({ level: 'silent' }), metrics: undefined });
const T = '00000000-0000-4000-8000-00000000abcd';
const req = (signal?: AbortSignal) => ({ tenant: T, now: Date.now(), params: new Map([['query', ['up']]]), ...(signal ? { signal } : {}) });
let s = performance.now();
try { for await (const _ of (await b.instant(req())) as AsyncIterable<Buffer>) {} console.log('hold: completed?!'); } catch (e) { console.log('hold:', (e as any).code, (performance.now() - s).toFixed(0), 'ms'); }
// never iterated, no signal
s = performance.now();
const never = await b.instant(req());
const c1 = closes[closes.length - 1];
await Promise.race([c1, new Promise((r) => setTimeout(r, 3000))]);
console.log('never iterated: engine connection closed after', (performance.now() - s).toFixed(0), 'ms');
// aborted signal before iterating
const ac = new AbortController();
s = performance.now();
const body = await b.instant(req(ac.signal));
const c2 = closes[closes.length - 1];
ac.abort();
await Promise.race([c2, new Promise((r) => setTimeout(r, 3000))]);
console.log('aborted signal: engine connection closed after', (performance.now() - s).toFixed(0), 'ms');
mode = 'err';
s = performance.now();
try { await b.instant(req()); } catch (e) { console.log('err hold:', (e as any).code, (e as Error).message, (performance.now() - s).toFixed(0), 'ms'); }
await client.close(); server.closeAllConnections(); server.close();
