/**
 * A minimal HTTPS Splunk HEC receiver with indexer acknowledgement for the
 * end-to-end benchmark, run as a child process so its CPU and memory are not
 * counted as probectl's. It counts events and distinct event ids and reports
 * over IPC.
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

const EVENT_ID = /externalId=([0-9a-f-]{36})/;

const { certPem, keyPem, token } = JSON.parse(process.argv[2] as string) as { certPem: string; keyPem: string; token: string };
const ids = new Set<string>();
let events = 0;
let nextAck = 0;
const acked = new Set<number>();

const server = createServer({ cert: certPem, key: keyPem, keepAliveTimeout: 60_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.headers.authorization !== `Splunk ${token}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"text":"Invalid token","code":4}');
      return;
    }
    const url = new URL(req.url ?? '/', 'https://x');
    const body = Buffer.concat(chunks).toString('utf8');
    if (url.pathname.endsWith('/ack')) {
      const wanted = (JSON.parse(body) as { acks: number[] }).acks;
      const acks: Record<string, boolean> = {};
      for (const id of wanted) acks[String(id)] = acked.has(id);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ acks }));
      return;
    }
    if (!req.headers['x-splunk-request-channel']) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"text":"Data channel is missing","code":10}');
      return;
    }
    let start = 0;
    for (let i = body.indexOf('\n'); i >= 0 || start < body.length; i = body.indexOf('\n', start)) {
      const end = i < 0 ? body.length : i;
      const line = body.slice(start, end);
      start = end + 1;
      if (line === '') continue;
      events += 1;
      const m = EVENT_ID.exec(line);
      if (m) ids.add(m[1] as string);
      if (i < 0) break;
    }
    const ackId = nextAck++;
    acked.add(ackId);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text: 'Success', code: 0, ackId }));
  });
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
setInterval(() => process.send?.({ events, distinct: ids.size }), 100).unref();
process.on('message', (m) => {
  if (m === 'reset') {
    ids.clear();
    events = 0;
  }
  if (m === 'stop') server.close(() => process.exit(0));
});
