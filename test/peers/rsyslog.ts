// A real rsyslogd as a syslog-over-TLS peer (RFC 5425 transport, RFC 5424 messages).
//
// startRsyslog() writes a private rsyslog.conf into a fresh temp directory and runs
// `rsyslogd -n -f <conf> -i <pidfile>` as a child process: no system config, no system
// sockets (no imuxsock/imklog), only imtcp + the gtls stream driver + mmpstrucdata.
// Every message rsyslog receives goes through its own RFC 5424 parser and mmpstrucdata,
// and a JSON template (option.jsonf) writes one object per message to messages.jsonl,
// which messages()/waitFor() read back. See docs/peers.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { issueCertificate } from '../../src/core/x509.ts';

/**
 * rsyslog's default global maxMessageSize (8096 bytes in 8.2302, measured by test/peers/rsyslog.test.ts): the
 * largest SYSLOG-MSG (the octet-counted frame's content) a stock rsyslog accepts intact.
 */
export const RSYSLOG_DEFAULT_MAX_MESSAGE_SIZE = 8096;

const INSTALL_HINT = 'install it with `apt-get install rsyslog rsyslog-gnutls` (or run .ci/install-peers.sh)';

export interface RsyslogMessage {
  pri: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  /** rsyslog's own parse of the STRUCTURED-DATA (mmpstrucdata): SD-ID → { param: value } with escapes resolved. */
  structuredData: Record<string, Record<string, string>>;
  /** rsyslog's `structured-data` property: the SD part as its RFC 5424 parser delimited it ("-" for NILVALUE). */
  structuredDataRaw: string;
  /**
   * The MSG part as rsyslog parsed it (UTF-8). rsyslog keeps a leading UTF-8 BOM in its `msg`
   * property; the harness STRIPS it here and reports it in `bom`.
   */
  msg: string;
  /** Whether rsyslog's MSG started with the UTF-8 BOM (EF BB BF). */
  bom: boolean;
  /** rsyslog's %rawmsg% (the frame's content, without the octet count). */
  raw: string;
}

export interface RsyslogPeer {
  /** TLS listener on 127.0.0.1 */
  port: number;
  /** PEM of the CA that signed rsyslog's server certificate (the client trusts this). */
  caPem: string;
  /** A client certificate signed by the same CA; rsyslog accepts it when clientCertRequired. */
  clientCert: { certPem: string; keyPem: string };
  /** Largest SYSLOG-MSG in bytes this rsyslog accepts intact (its maxMessageSize). */
  maxMessageSize: number;
  /** The temp directory holding rsyslog.conf, certificates, pid file and output. */
  workDir: string;
  /** rsyslogd's own internal messages (start, TLS errors, oversize warnings) as it logged them. */
  internalLog(): Promise<string>;
  /** rsyslogd's stderr so far (its startup and runtime errors land here). */
  stderr(): string;
  /** Messages rsyslog received and parsed, in arrival order, each as rsyslog saw it. */
  messages(): Promise<RsyslogMessage[]>;
  /** Waits until at least n messages arrived (polling its output file), or throws after timeoutMs with what it has. */
  waitFor(n: number, timeoutMs?: number): Promise<RsyslogMessage[]>;
  stop(): Promise<void>;
}

export interface RsyslogOptions {
  /** Path of the rsyslogd binary; default: rsyslogd on PATH, else /usr/sbin or /sbin. */
  rsyslogd?: string;
  /** imtcp StreamDriver.AuthMode "x509/certvalid" (client must present a certificate from the harness CA) instead of "anon". */
  clientCertRequired?: boolean;
  /** rsyslog global maxMessageSize in bytes; default: rsyslog's own default, RSYSLOG_DEFAULT_MAX_MESSAGE_SIZE (8096). */
  maxMessageSize?: number;
  /**
   * rsyslog global parser.escapeControlCharactersOnReceive; default true (rsyslog's default), which turns
   * control characters such as LF into "#012" before parsing. false keeps them as sent.
   */
  escapeControlCharacters?: boolean;
}

interface JsonLine {
  pri: string;
  version: string;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: string;
  sdRaw: string;
  msg: string;
  raw: string;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function findRsyslogd(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, 'rsyslogd');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** rsyslog's module directories that exist on this machine (Debian: /usr/lib/<multiarch>/rsyslog). */
function moduleDirs(): string[] {
  const dirs = ['/usr/lib/rsyslog', '/usr/lib64/rsyslog', '/usr/local/lib/rsyslog'];
  try {
    for (const entry of readdirSync('/usr/lib', { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name.includes('-linux-')) dirs.push(join('/usr/lib', entry.name, 'rsyslog'));
    }
  } catch {
    // no /usr/lib: leave the check to rsyslogd
  }
  return dirs.filter((d) => existsSync(join(d, 'imtcp.so')));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A string constant in rsyslog's RainerScript (the paths are ours, but quote them properly anyway). */
function rs(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function config(dir: string, port: number, opts: RsyslogOptions): string {
  const maxSize = opts.maxMessageSize === undefined ? '' : `\n  maxMessageSize="${opts.maxMessageSize}"`;
  const escapeCc = opts.escapeControlCharacters === false ? 'off' : 'on';
  const authMode = opts.clientCertRequired ? 'x509/certvalid' : 'anon';
  const field = (outname: string, name: string, extra = '') => `  property(outname="${outname}" name="${name}"${extra} format="jsonf")`;
  return `# generated by test/peers/rsyslog.ts
global(
  workDirectory=${rs(dir)}${maxSize}
  processInternalMessages="on"
  net.enableDNS="off"
  parser.escapeControlCharactersOnReceive="${escapeCc}"
  defaultNetstreamDriverCAFile=${rs(join(dir, 'ca.pem'))}
  defaultNetstreamDriverCertFile=${rs(join(dir, 'server.pem'))}
  defaultNetstreamDriverKeyFile=${rs(join(dir, 'server.key'))}
)

module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="${authMode}")
module(load="mmpstrucdata")

# One JSON object per line; option.jsonf escapes every value as a JSON string.
template(name="probectlJson" type="list" option.jsonf="on") {
${field('pri', 'pri')}
${field('version', 'protocol-version')}
${field('timestamp', 'timereported', ' dateFormat="rfc3339"')}
${field('hostname', 'hostname')}
${field('appName', 'app-name')}
${field('procId', 'procid')}
${field('msgId', 'msgid')}
${field('sd', '$!rfc5424-sd')}
${field('sdRaw', 'structured-data')}
${field('msg', 'msg')}
${field('raw', 'rawmsg')}
}

# Default ruleset: only rsyslogd's own internal messages reach it (the input has its own ruleset).
action(type="omfile" file=${rs(join(dir, 'internal.log'))})

ruleset(name="probectlTls" parser=["rsyslog.rfc5424", "rsyslog.rfc3164"]) {
  action(type="mmpstrucdata" sd_name.lowercase="off")
  action(type="omfile" file=${rs(join(dir, 'messages.jsonl'))} template="probectlJson")
}

input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="probectlTls"
  streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="${authMode}")
`;
}

const BOM = '\u{feff}';

function toMessage(line: string): RsyslogMessage {
  const j = JSON.parse(line) as JsonLine;
  const structuredData: Record<string, Record<string, string>> = {};
  if (j.sd !== '') {
    const parsed = JSON.parse(j.sd) as Record<string, Record<string, unknown>>;
    for (const [id, params] of Object.entries(parsed)) {
      const out: Record<string, string> = {};
      for (const [name, value] of Object.entries(params)) out[name] = String(value);
      structuredData[id] = out;
    }
  }
  const bom = j.msg.startsWith(BOM);
  return {
    pri: Number(j.pri),
    version: Number(j.version),
    timestamp: j.timestamp,
    hostname: j.hostname,
    appName: j.appName,
    procId: j.procId,
    msgId: j.msgId,
    structuredData,
    structuredDataRaw: j.sdRaw,
    msg: bom ? j.msg.slice(BOM.length) : j.msg,
    bom,
    raw: j.raw,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Started {
  child: ChildProcess;
  stderr: () => string;
  exited: () => boolean;
}

function launch(bin: string, dir: string): Started {
  const child = spawn(bin, ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let err = '';
  let exited = false;
  child.stdout?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  child.once('exit', (code, signal) => {
    exited = true;
    running.delete(child);
    err += `\n[rsyslogd exited: ${signal ?? code}]`;
  });
  child.once('error', (e) => {
    exited = true;
    running.delete(child);
    err += `\n[rsyslogd failed to start: ${e.message}]`;
  });
  return { child, stderr: () => err, exited: () => exited };
}

type Probe = 'ok' | 'refused' | { error: string };

/** One TLS handshake against the listener, closed cleanly; tells whether rsyslog listens and speaks TLS. */
function probe(port: number, caPem: string, client: { certPem: string; keyPem: string }): Promise<Probe> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: caPem, cert: client.certPem, key: client.keyPem, servername: 'localhost' });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ error: 'TLS handshake timed out' });
    }, 2_000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.end();
      resolve('ok');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(e.code === 'ECONNREFUSED' ? 'refused' : { error: `${e.code ?? ''} ${e.message}`.trim() });
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await done;
  clearTimeout(killer);
}

async function readOptional(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

/** Starts a real rsyslogd with a TLS (gtls) imtcp listener on 127.0.0.1; throws if rsyslog is not installed. */
export async function startRsyslog(options: RsyslogOptions = {}): Promise<RsyslogPeer> {
  const bin = options.rsyslogd ?? findRsyslogd();
  if (!bin || !existsSync(bin)) throw new Error(`rsyslogd is not installed (${bin ?? 'not on PATH, /usr/sbin or /sbin'}): ${INSTALL_HINT}`);
  const mods = moduleDirs();
  if (mods.length > 0 && !mods.some((d) => existsSync(join(d, 'lmnsd_gtls.so')))) {
    throw new Error(`rsyslog's GnuTLS stream driver (lmnsd_gtls.so) is missing from ${mods.join(', ')}: ${INSTALL_HINT}`);
  }
  if (mods.length > 0 && !mods.some((d) => existsSync(join(d, 'mmpstrucdata.so')))) {
    throw new Error(`rsyslog's mmpstrucdata module is missing from ${mods.join(', ')}: ${INSTALL_HINT}`);
  }

  const dir = await mkdtemp(join(tmpdir(), 'probectl-rsyslog-'));
  try {
    const ca = await issueCertificate({ commonName: 'probectl rsyslog peer CA', isCa: true });
    const server = await issueCertificate({ commonName: 'localhost', altNames: ['localhost', '127.0.0.1'], issuer: ca });
    const client = await issueCertificate({ commonName: 'probectl rsyslog test client', issuer: ca });
    await writeFile(join(dir, 'ca.pem'), ca.certPem);
    await writeFile(join(dir, 'server.pem'), server.certPem);
    await writeFile(join(dir, 'server.key'), server.keyPem, { mode: 0o600 });
    const clientCert = { certPem: client.certPem, keyPem: client.keyPem };

    let lastFailure = '';
    for (let attempt = 1; attempt <= 5; attempt++) {
      const port = await freePort();
      await writeFile(join(dir, 'rsyslog.conf'), config(dir, port, options));
      const started = launch(bin, dir);
      const failure = await waitListening(started, port, ca.certPem, clientCert);
      if (failure === undefined) return peer(dir, port, ca.certPem, clientCert, started, options.maxMessageSize ?? RSYSLOG_DEFAULT_MAX_MESSAGE_SIZE);
      await stopChild(started.child);
      lastFailure = `${failure}\n--- rsyslogd stderr ---\n${started.stderr()}\n--- internal.log ---\n${await readOptional(join(dir, 'internal.log'))}`;
      // Someone took the port between freePort() and rsyslog's bind: try another one.
      if (/Address already in use|Could not create tcp listener/i.test(started.stderr())) continue;
      break;
    }
    throw new Error(`rsyslogd did not start listening with TLS on 127.0.0.1: ${lastFailure}`);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** undefined once a TLS handshake succeeds; otherwise why not. */
async function waitListening(started: Started, port: number, caPem: string, client: { certPem: string; keyPem: string }): Promise<string | undefined> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (started.exited()) return 'rsyslogd exited during startup';
    if (/Could not create tcp listener/i.test(started.stderr())) return 'rsyslogd could not create its listener';
    const result = await probe(port, caPem, client);
    if (result === 'ok') return undefined;
    if (result !== 'refused') return `TLS handshake with rsyslogd failed: ${result.error}`;
    await sleep(50);
  }
  return 'rsyslogd did not listen within 15 s';
}

function peer(dir: string, port: number, caPem: string, clientCert: { certPem: string; keyPem: string }, started: Started, maxMessageSize: number): RsyslogPeer {
  const outFile = join(dir, 'messages.jsonl');
  let stopped = false;
  const messages = async (): Promise<RsyslogMessage[]> => {
    const text = await readOptional(outFile);
    // Only complete lines: rsyslog may be in the middle of writing the last one.
    const end = text.lastIndexOf('\n');
    if (end < 0) return [];
    return text
      .slice(0, end)
      .split('\n')
      .filter((l) => l !== '')
      .map(toMessage);
  };
  return {
    port,
    caPem,
    clientCert,
    maxMessageSize,
    workDir: dir,
    stderr: started.stderr,
    internalLog: () => readOptional(join(dir, 'internal.log')),
    messages,
    async waitFor(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = await messages();
        if (got.length >= n) return got;
        if (Date.now() >= deadline || started.exited()) {
          throw new Error(
            `rsyslog received ${got.length} of ${n} messages within ${timeoutMs} ms${started.exited() ? ' (rsyslogd exited)' : ''}:\n` +
              `${JSON.stringify(got, null, 2)}\n--- rsyslogd stderr ---\n${started.stderr()}`,
          );
        }
        await sleep(50);
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopChild(started.child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
