import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { test } from 'node:test';
import { reserveListen } from '../../src/server/listen.ts';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Connects and waits until the peer closes the connection (or the deadline passes). */
function probe(port: number, ms: number): Promise<'closed' | 'open'> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => { socket.destroy(); resolve('open'); }, ms);
    socket.on('error', () => undefined);
    socket.on('close', () => { clearTimeout(timer); resolve('closed'); });
  });
}

test('a client connecting while the address is reserved is disconnected and release() still completes', async () => {
  const port = await freePort();
  const reservation = await reserveListen({ host: '127.0.0.1', port });
  let released = false;
  try {
    // A health check probing during startup: the reservation must not hold its connection open.
    assert.equal(await probe(port, 2000), 'closed');
    const idle = connect({ host: '127.0.0.1', port });
    idle.on('error', () => undefined);
    await new Promise<void>((resolve) => idle.once('connect', () => resolve()));
    const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 3000).unref());
    assert.equal(await Promise.race([reservation.release().then(() => 'released' as const), deadline]), 'released');
    released = true;
    idle.destroy();
    // The address is free for the real listener.
    const real = createServer();
    await new Promise<void>((resolve, reject) => { real.once('error', reject); real.listen({ host: '127.0.0.1', port }, resolve); });
    await new Promise<void>((resolve) => real.close(() => resolve()));
  } finally {
    if (!released) await reservation.release();
  }
});
