import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { frame, SyslogSender } from '../../src/siem/senders/syslog.ts';

/** A plain-TCP (loopback) RFC 5425 receiver whose behaviour per connection is scripted. */
async function receiver(onConnection: (s: Socket, n: number) => void): Promise<{ server: Server; port: number; connections: () => number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  let n = 0;
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onConnection(s, n++);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, connections: () => n, sockets };
}

const body = (text: string) => ({ body: frame([`<110>1 2025-01-01T00:00:00Z h probectl - x - ${text}`]), contentType: 'application/octet-stream' });

describe('RFC 5425 sender shared by concurrent streams', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('a write whose connection broke during its settle time is not reported sent, even when another stream reconnects meanwhile', async () => {
    const r = await receiver((s, n) => {
      // The first connection is reset as soon as the first bytes arrive; later ones read normally.
      if (n === 0) s.once('data', () => s.resetAndDestroy());
      else s.resume();
    });
    const sender = new SyslogSender({ host: '127.0.0.1', port: r.port, tls: false, settleMs: 300 });
    close = async () => {
      await sender.close();
      for (const s of r.sockets) s.destroy();
      await new Promise((res) => r.server.close(res));
    };
    const a = sender.send(body('stream A'), { timeoutMs: 2000 });
    // Stream B sends while A waits out its settle time, after A's connection was reset.
    await new Promise((res) => setTimeout(res, 120));
    const b = sender.send(body('stream B'), { timeoutMs: 2000 });
    const [ra, rb] = await Promise.all([a, b]);
    assert.equal(ra.kind, 'failed', `stream A's bytes went to a connection that was reset: ${JSON.stringify(ra)}`);
    assert.equal(rb.kind, 'sent', JSON.stringify(rb));
  });

  it('concurrent first sends share one connection (none is left open behind close())', async () => {
    const r = await receiver((s) => s.resume());
    const sender = new SyslogSender({ host: '127.0.0.1', port: r.port, tls: false, settleMs: 10 });
    close = async () => {
      for (const s of r.sockets) s.destroy();
      await new Promise((res) => r.server.close(res));
    };
    const results = await Promise.all([1, 2, 3, 4].map((i) => sender.send(body(`s${i}`), { timeoutMs: 2000 })));
    assert.deepEqual(results.map((x) => x.kind), ['sent', 'sent', 'sent', 'sent']);
    await sender.close();
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(r.connections(), 1, 'one connection for concurrent sends');
    assert.equal(r.sockets.size, 0, 'close() closed every connection the sender opened');
  });
});
