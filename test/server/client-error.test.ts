import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { clientErrorAnswer } from '../../src/server/app.ts';

/** A plain HTTP server answering with `handler`, refusals by clientErrorAnswer (as buildApp sets it). */
async function serve(handler: Parameters<typeof createServer>[1], opts: { requestTimeout?: number } = {}): Promise<{ server: Server; port: number }> {
  const server = createServer({ requestTimeout: opts.requestTimeout ?? 120_000, connectionsCheckingInterval: 100 }, handler);
  server.on('clientError', clientErrorAnswer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** Every byte the server sends on one connection until it closes it (5 s deadline); `then` writes after the first bytes came. */
function exchange(port: number, first: string, then?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(first));
    const chunks: Buffer[] = [];
    let sent = false;
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('the connection was not closed within 5 s')); }, 5_000);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (then !== undefined && !sent) {
        sent = true;
        socket.write(then);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('latin1')); });
  });
}

describe('clientErrorAnswer: requests Node\'s HTTP parser refuses', () => {
  it('an answer already streaming is written whole, the refusal after it (never spliced into its body)', async () => {
    const { server, port } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
      res.write('12345');
      setTimeout(() => res.end('67890'), 300);
    });
    try {
      const answer = await exchange(port, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /b HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n');
      const [first = '', second = ''] = answer.split(/(?=HTTP\/1\.1 400 )/);
      assert.match(first, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n1234567890$/, answer);
      assert.match(second, /^HTTP\/1\.1 400 Bad Request\r\n[^]*connection: close\r\n\r\n\{"code":"PROBECTL_ERR_BAD_HTTP",/i, answer);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('the refused request\'s own body not arriving in time: 408 at once, not held until the answer that waits for it', async () => {
    const { server, port } = await serve((req, res) => {
      req.resume();
      req.on('end', () => res.end('got'));
    }, { requestTimeout: 500 });
    try {
      const started = performance.now();
      const answer = await exchange(port, 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n123');
      assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n[^]*\{"code":"PROBECTL_ERR_REQUEST_TIMEOUT",/, answer);
      assert.ok(performance.now() - started < 3_000);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('headers not arriving within Node\'s headersTimeout (60 s, half requestTimeout) are the same 408, whose message names both deadlines', async () => {
    const { server, port } = await serve((_req, res) => res.end('x'), { requestTimeout: 5_000 });
    server.headersTimeout = 300;
    try {
      const answer = await exchange(port, 'GET /a HTTP/1.1\r\nHost: x\r\n');
      const json = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { code: string; message: string };
      assert.equal(json.code, 'PROBECTL_ERR_REQUEST_TIMEOUT');
      assert.match(json.message, /headers within 60 s, all of it within 120 s/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
