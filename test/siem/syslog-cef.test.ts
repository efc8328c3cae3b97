import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { deliverBatch } from '../../src/delivery/batch.ts';
import { cefRecord } from '../../src/siem/formatters/cef.ts';
import { buildTarget } from '../../src/siem/targets/build.ts';
import { parseCef } from './helpers/cef.ts';
import { parse5424 } from './helpers/rfc5424.ts';
import { settingsFrom } from './helpers/forwarder.ts';
import { OPTS, stressEvents } from './fixtures.ts';

/** Splits an RFC 5425 byte stream into its messages (octet counting: MSG-LEN SP SYSLOG-MSG). */
function unframe(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < stream.length) {
    const sp = stream.indexOf(0x20, pos);
    const len = Number(stream.subarray(pos, sp).toString('ascii'));
    assert.ok(Number.isInteger(len) && len > 0, 'MSG-LEN');
    out.push(stream.subarray(sp + 1, sp + 1 + len));
    pos = sp + 1 + len;
  }
  return out;
}

describe('CEF over syslog (an Azure Monitor Agent forwarder, any CEF syslog collector)', () => {
  let server: Server;
  let port: number;
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();

  before(async () => {
    server = createServer((s) => {
      sockets.add(s);
      s.on('data', (c: Buffer) => void received.push(c));
      s.on('close', () => sockets.delete(s));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  it('each event is an RFC 5424 message whose MSG is exactly the CEF line: no structured data, no BOM', async () => {
    const settings = settingsFrom({ PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_PRESET: 'sentinel', PROBECTL_SIEM_ENDPOINT: `syslog+tcp://127.0.0.1:${port}`, PROBECTL_SIEM_SYSLOG_FACILITY: '16' });
    assert.equal(settings.format, 'cef', 'the sentinel preset\'s syslog default');
    const opts = { ...OPTS, syslogFacility: 16 };
    const target = buildTarget(settings, opts, async () => '');
    const events = stressEvents().filter((e) => Buffer.byteLength(cefRecord(e, opts)) < 7000);
    try {
      const parked = await deliverBatch(target, events, { baseMs: 5, capMs: 50, maxAttempts: 5, maxRetryAfterMs: 100 }, { signal: AbortSignal.timeout(10_000) });
      assert.deepEqual(parked, []);
    } finally {
      await target.close();
    }
    const deadline = Date.now() + 5000;
    let frames: Buffer[] = [];
    while (Date.now() < deadline) {
      frames = unframe(Buffer.concat(received));
      if (frames.length >= events.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(frames.length, events.length);
    frames.forEach((frame, i) => {
      const e = events[i]!;
      const m = parse5424(frame);
      assert.deepEqual([m.facility, m.appName, m.procId, m.sd, m.bom], [16, 'probectl', '-', [], false]);
      assert.equal(m.severity, { info: 6, warning: 4, critical: 2 }[e.severity]);
      assert.equal(m.hostname, OPTS.hostname);
      assert.ok(m.msg?.startsWith('CEF:0|probectl|probectl|'), m.msg);
      assert.equal(m.msg, cefRecord(e, opts), 'MSG is the CEF line as the cef format renders it');
      assert.equal(parseCef(m.msg).extension.get('externalId'), e.id);
    });
  });

  it('a CEF line larger than the receiver accepts is parked, never cut', async () => {
    const settings = settingsFrom({ PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_ENDPOINT: `syslog+tcp://127.0.0.1:${port}`, PROBECTL_SIEM_FORMAT: 'cef', PROBECTL_SIEM_SYSLOG_MAX_MESSAGE: '2048' });
    const target = buildTarget(settings, OPTS, async () => '');
    const long = stressEvents().find((e) => Buffer.byteLength(cefRecord(e, OPTS)) > 2048)!;
    try {
      const parked = await deliverBatch(target, [long], { baseMs: 5, capMs: 50, maxAttempts: 5, maxRetryAfterMs: 100 }, { signal: AbortSignal.timeout(10_000) });
      assert.deepEqual(parked.map((p) => p.id), [long.id]);
      assert.match(parked[0]!.reason, /exceeds PROBECTL_SIEM_SYSLOG_MAX_MESSAGE \(2048\)/);
    } finally {
      await target.close();
    }
  });
});
