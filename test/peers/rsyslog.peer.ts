// Proves the rsyslog peer harness against a real rsyslogd: hand-built RFC 5424 messages go over TLS
// with RFC 5425 octet-counting framing, and the test compares rsyslog's own parse with what was sent.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { issueCertificate } from '../../src/core/x509.ts';
import { RSYSLOG_DEFAULT_MAX_MESSAGE_SIZE, startRsyslog, type RsyslogMessage, type RsyslogPeer } from './rsyslog.ts';

const BOM = '\u{feff}';

interface Sent {
  pri: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  /** In order; an empty list is the NILVALUE "-". */
  sd: [string, Record<string, string>][];
  msg?: string;
  bom?: boolean;
}

/** RFC 5424 §6.3.3: inside PARAM-VALUE, '"', '\' and ']' MUST be escaped with '\'. */
const escapeParam = (v: string): string => v.replace(/["\\\]]/g, (c) => `\\${c}`);

function render(m: Sent): string {
  const sd = m.sd.length === 0 ? '-' : m.sd.map(([id, params]) => `[${id}${Object.entries(params).map(([k, v]) => ` ${k}="${escapeParam(v)}"`).join('')}]`).join('');
  const msg = m.msg === undefined ? '' : ` ${m.bom ? BOM : ''}${m.msg}`;
  return `<${m.pri}>1 ${m.timestamp} ${m.hostname} ${m.appName} ${m.procId} ${m.msgId} ${sd}${msg}`;
}

/** RFC 5425 §4.3: MSG-LEN SP SYSLOG-MSG, MSG-LEN in octets. */
function frame(syslogMsg: string): Buffer {
  const body = Buffer.from(syslogMsg, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

function assertParsed(got: RsyslogMessage | undefined, sent: Sent): void {
  assert.ok(got, 'rsyslog wrote a record for the message');
  assert.equal(got.version, 1, 'rsyslog parsed it as RFC 5424');
  assert.equal(got.pri, sent.pri);
  assert.equal(got.timestamp, sent.timestamp);
  assert.equal(got.hostname, sent.hostname);
  assert.equal(got.appName, sent.appName);
  assert.equal(got.procId, sent.procId);
  assert.equal(got.msgId, sent.msgId);
  assert.deepEqual(got.structuredData, Object.fromEntries(sent.sd));
  assert.equal(got.msg, sent.msg ?? '');
  assert.equal(got.bom, sent.bom ?? false);
  assert.equal(got.raw, render(sent));
}

const peers: RsyslogPeer[] = [];
const sockets: TLSSocket[] = [];

async function peer(options?: Parameters<typeof startRsyslog>[0]): Promise<RsyslogPeer> {
  const p = await startRsyslog(options);
  peers.push(p);
  return p;
}

/** A TLS client that validates rsyslog's certificate against the harness CA. */
async function client(p: RsyslogPeer, extra: ConnectionOptions = {}): Promise<TLSSocket> {
  const socket = connect({ host: '127.0.0.1', port: p.port, ca: p.caPem, servername: 'localhost', ...extra });
  sockets.push(socket);
  socket.on('error', () => {});
  await once(socket, 'secureConnect', { signal: AbortSignal.timeout(10_000) });
  return socket;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes, then waits until the bytes left this process, so the next write is a separate TLS record and segment. */
async function writeApart(socket: TLSSocket, chunk: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => socket.write(chunk, (e) => (e ? reject(e) : resolve())));
  await pause(30);
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(peers.splice(0).map((p) => p.stop()));
});

describe('rsyslog peer (real rsyslogd, imtcp + gtls, RFC 5425 octet counting)', () => {
  it('parses several octet-counted messages sent in one write, in order', async () => {
    const p = await peer();
    const sent: Sent[] = [
      { pri: 165, timestamp: '2003-10-11T22:14:15.003Z', hostname: 'mymachine.example.com', appName: 'evntslog', procId: '-', msgId: 'ID47', sd: [['exampleSDID@32473', { iut: '3', eventSource: 'Application', eventID: '1011' }]], msg: 'An application event log entry...', bom: true },
      { pri: 86, timestamp: '2024-02-29T23:59:59.999999+05:30', hostname: '192.0.2.1', appName: 'probectl', procId: '4242', msgId: 'audit.login', sd: [['probectl@32473', { tenant: 't1', seq: '7' }]], msg: 'second', bom: false },
      { pri: 14, timestamp: '2025-01-01T00:00:00Z', hostname: 'h', appName: 'a', procId: 'p', msgId: 'm', sd: [['x@1', { k: 'v' }]] },
    ];
    const socket = await client(p);
    socket.write(Buffer.concat(sent.map((m) => frame(render(m)))));
    const got = await p.waitFor(sent.length);
    assert.equal(got.length, sent.length);
    sent.forEach((m, i) => assertParsed(got[i], m));
  });

  it('reassembles one message split across writes (inside the length, the SD and a UTF-8 character)', async () => {
    const p = await peer();
    const sent: Sent = { pri: 134, timestamp: '2023-06-01T12:00:00.5Z', hostname: 'split.example', appName: 'probectl', procId: '-', msgId: 'SPLIT', sd: [['probectl@32473', { note: 'gefährlich 🙂 "quoted" [x]' }]], msg: 'Grüße aus dem Test — ünïcödé 🙂', bom: true };
    const bytes = frame(render(sent));
    const inSd = bytes.indexOf('gef') + 2;
    const inChar = bytes.indexOf('🙂', bytes.indexOf('Grüße')) + 2; // the middle of a 4-byte UTF-8 sequence
    const cuts = [1, inSd, inChar, bytes.length];
    assert.ok(cuts.every((c, i) => i === 0 || c > (cuts[i - 1] as number)));
    const socket = await client(p);
    let from = 0;
    for (const to of cuts) {
      await writeApart(socket, bytes.subarray(from, to));
      from = to;
    }
    const got = await p.waitFor(1);
    assert.equal(got.length, 1);
    assertParsed(got[0], sent);
  });

  it('unescapes SD-PARAM values (\\" \\\\ \\]) and keeps non-ASCII UTF-8, across two SD-ELEMENTs', async () => {
    const p = await peer();
    const sent: Sent = {
      pri: 110,
      timestamp: '2026-03-04T05:06:07.080910Z',
      hostname: 'escapes.example',
      appName: 'probectl',
      procId: '99',
      msgId: 'ESC',
      sd: [
        ['probectl@32473', { quote: 'say "hi"', backslash: 'C:\\temp\\', bracket: 'arr[0]', all: '" \\ ] [ = \\" \\]', trailing: 'ends with \\', empty: '' }],
        ['origin', { ip: '192.0.2.7', software: 'probectl', note: 'Überwachung 監視 🙂 ñ' }],
      ],
      msg: 'escapes',
      bom: true,
    };
    const socket = await client(p);
    socket.write(frame(render(sent)));
    const [got] = await p.waitFor(1);
    assertParsed(got, sent);
    assert.equal(got?.structuredData['probectl@32473']?.all, '" \\ ] [ = \\" \\]');
  });

  it('reports NILVALUE structured data as no SD-ELEMENTs and still parses the MSG', async () => {
    const p = await peer();
    const withMsg: Sent = { pri: 13, timestamp: '2022-12-31T23:59:59Z', hostname: 'nil.example', appName: 'probectl', procId: '-', msgId: 'NIL', sd: [], msg: 'no structured data here', bom: false };
    const noMsg: Sent = { pri: 13, timestamp: '2022-12-31T23:59:59Z', hostname: 'nil.example', appName: 'probectl', procId: '-', msgId: 'NIL2', sd: [] };
    const socket = await client(p);
    socket.write(Buffer.concat([frame(render(withMsg)), frame(render(noMsg))]));
    const got = await p.waitFor(2);
    assertParsed(got[0], withMsg);
    assertParsed(got[1], noMsg);
    assert.equal(got[0]?.structuredDataRaw, '-');
  });

  it('serves a certificate from caPem that validates for 127.0.0.1 as well as localhost, and only for that CA', async () => {
    const p = await peer();
    // No servername: node checks the certificate against the IP address it connected to.
    const byIp = connect({ host: '127.0.0.1', port: p.port, ca: p.caPem });
    sockets.push(byIp);
    await once(byIp, 'secureConnect', { signal: AbortSignal.timeout(10_000) });
    assert.equal(byIp.authorized, true);
    const other = await issueCertificate({ commonName: 'unrelated CA', isCa: true });
    const untrusted = connect({ host: '127.0.0.1', port: p.port, ca: other.certPem, servername: 'localhost' });
    sockets.push(untrusted);
    const [err] = (await once(untrusted, 'error', { signal: AbortSignal.timeout(10_000) })) as [NodeJS.ErrnoException];
    assert.match(String(err.code), /UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
  });

  it(`accepts a SYSLOG-MSG of exactly rsyslog's default maxMessageSize (${RSYSLOG_DEFAULT_MAX_MESSAGE_SIZE} bytes) intact and truncates a longer one`, async () => {
    const p = await peer();
    assert.equal(p.maxMessageSize, RSYSLOG_DEFAULT_MAX_MESSAGE_SIZE);
    const sized = (msgId: string, bytes: number): Sent => {
      const base: Sent = { pri: 14, timestamp: '2024-05-05T05:05:05Z', hostname: 'size.example', appName: 'probectl', procId: '-', msgId, sd: [['x@1', { k: 'v' }]], msg: '' };
      return { ...base, msg: 'x'.repeat(bytes - Buffer.byteLength(render(base))) };
    };
    const exact = sized('EXACT', p.maxMessageSize);
    const over = sized('OVER', p.maxMessageSize + 1);
    assert.equal(Buffer.byteLength(render(exact)), p.maxMessageSize);
    const socket = await client(p);
    socket.write(Buffer.concat([frame(render(exact)), frame(render(over))]));
    const got = await p.waitFor(2);
    assertParsed(got[0], exact);
    assert.equal(got[1]?.msgId, 'OVER');
    assert.equal(Buffer.byteLength(got[1]?.raw ?? ''), p.maxMessageSize, 'rsyslog cut the oversize message at maxMessageSize');
    assert.match(await p.internalLog(), /oversize message/);
  });

  it('accepts larger messages when started with a larger maxMessageSize', async () => {
    const p = await peer({ maxMessageSize: 64 * 1024 });
    const sent: Sent = { pri: 14, timestamp: '2024-05-05T05:05:05Z', hostname: 'big.example', appName: 'probectl', procId: '-', msgId: 'BIG', sd: [['probectl@32473', { attributes: JSON.stringify({ blob: 'ä'.repeat(10_000) }) }]], msg: 'y'.repeat(20_000), bom: true };
    assert.ok(Buffer.byteLength(render(sent)) > 40_000);
    const socket = await client(p);
    socket.write(frame(render(sent)));
    const [got] = await p.waitFor(1);
    assertParsed(got, sent);
  });

  it('escapes control characters as #ooo by default (stock rsyslog) and keeps them with escapeControlCharacters: false', async () => {
    const sent: Sent = { pri: 14, timestamp: '2024-05-05T05:05:05Z', hostname: 'cc.example', appName: 'probectl', procId: '-', msgId: 'CC', sd: [['x@1', { v: 'line1\nline2\ttab\r' }]], msg: 'multi\nline', bom: false };
    const octal = (s: string) => s.replace(/[\x00-\x1f\x7f]/g, (c) => `#${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
    const stock = await peer();
    (await client(stock)).write(frame(render(sent)));
    const [escaped] = await stock.waitFor(1);
    assert.equal(escaped?.structuredData['x@1']?.v, octal('line1\nline2\ttab\r'));
    assert.equal(escaped?.msg, octal('multi\nline'));
    const verbatim = await peer({ escapeControlCharacters: false });
    (await client(verbatim)).write(frame(render(sent)));
    const [kept] = await verbatim.waitFor(1);
    assertParsed(kept, sent);
  });

  it('with clientCertRequired, refuses a client without a certificate and accepts the harness client certificate', async () => {
    const p = await peer({ clientCertRequired: true });
    const anon: Sent = { pri: 14, timestamp: '2024-05-05T05:05:05Z', hostname: 'anon.example', appName: 'probectl', procId: '-', msgId: 'NOCERT', sd: [], msg: 'must not arrive' };
    const withCert: Sent = { ...anon, hostname: 'mtls.example', msgId: 'CERT', msg: 'arrives' };

    // TLS 1.3: the client's handshake completes before the server has checked (the absent) certificate,
    // so the refusal shows as rsyslog closing the connection, and nothing being logged.
    const bare = connect({ host: '127.0.0.1', port: p.port, ca: p.caPem, servername: 'localhost' });
    sockets.push(bare);
    bare.on('error', () => {});
    bare.once('secureConnect', () => bare.write(frame(render(anon))));
    // events.once would reject on the ECONNRESET; 10 s at most.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('rsyslog did not close the connection within 10 s')), 10_000);
      bare.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await pause(1_000);
    assert.deepEqual(await p.messages(), []);
    assert.match(p.stderr(), /did not provide a certificate/);

    const mtls = await client(p, { cert: p.clientCert.certPem, key: p.clientCert.keyPem });
    mtls.write(frame(render(withCert)));
    const got = await p.waitFor(1);
    assert.equal(got.length, 1);
    assertParsed(got[0], withCert);
  });

  it('says how to install rsyslog when rsyslogd is missing', async () => {
    await assert.rejects(startRsyslog({ rsyslogd: '/nonexistent/sbin/rsyslogd' }), /rsyslogd is not installed.*apt-get install rsyslog rsyslog-gnutls/);
  });
});
