/**
 * A connector endpoint for the on-call benchmark, run as a child process so
 * its CPU and memory are not counted as probectl's: HTTPS, answering every
 * POST after `delayMs` — 202 `{status, dedup_key}` on /v2/enqueue (PagerDuty
 * Events API shape), 200 elsewhere (the generic webhook) — counting requests
 * and distinct operations (Idempotency-Key, or dedup_key + action), and
 * reporting each open's arrival time (for latency) when asked to.
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

const { certPem, keyPem, delayMs } = JSON.parse(process.argv[2] as string) as { certPem: string; keyPem: string; delayMs: number };
const distinct = new Set<string>();
let requests = 0;
let reportOpens = false;
/** While gated every request is answered 503 + Retry-After (a backlog builds up), not counted. */
let gated = false;

const server = createServer({ cert: certPem, key: keyPem, keepAliveTimeout: 60_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    if (gated) {
      res.writeHead(503, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"error":"gated"}');
      return;
    }
    requests += 1;
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { dedup_key?: string; event_action?: string; key?: string; action?: string };
    const pd = req.url?.startsWith('/v2/enqueue') ?? false;
    const key = pd ? body.dedup_key : body.key;
    const action = pd ? body.event_action : body.action;
    distinct.add(pd ? `${req.url}|${key}|${action}` : String(req.headers['idempotency-key']));
    if (reportOpens && (action === 'open' || action === 'trigger')) process.send?.({ open: key, at });
    setTimeout(() => {
      if (pd) res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: key }));
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    }, delayMs);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
setInterval(() => process.send?.({ requests, distinct: distinct.size }), 100).unref();
process.on('message', (m) => {
  if (m === 'reset') {
    distinct.clear();
    requests = 0;
  }
  if (m === 'report-opens') reportOpens = true;
  if (m === 'gate') gated = true;
  if (m === 'open') gated = false;
  if (m === 'stop') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
