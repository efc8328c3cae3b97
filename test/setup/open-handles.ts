import { after } from 'node:test';

/**
 * Loaded into every test file's process by the test commands (`--import`).
 * A test file whose process is still alive `PROBECTL_TEST_OPEN_HANDLES_MS`
 * (default 30 s; 0 turns the watchdog off) after its last test ended has
 * left something open — a server, a socket, a child process, a timer, a
 * database — that would otherwise keep the file (and the whole `npm test`)
 * hanging until someone kills it. Instead it prints what is still open and
 * exits non-zero (70), so the file fails fast and names the leak.
 *
 * The watchdog is an unref'd timer: it never keeps a process alive by itself,
 * and a file that closes everything exits before it could ever fire.
 */

const GRACE_MS = Number(process.env.PROBECTL_TEST_OPEN_HANDLES_MS ?? 30_000);

interface HandleLike {
  constructor?: { name?: string };
  hasRef?(): boolean;
  address?(): unknown;
  listening?: boolean;
  localAddress?: string;
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
  pid?: number;
  spawnargs?: string[];
  _onTimeout?: { name?: string };
  _idleTimeout?: number;
  fd?: number;
}

/** One line per handle that keeps the event loop alive, with what identifies it (addresses, pid and command, timer delay). */
export function describeOpenHandles(): string[] {
  const getHandles = (process as unknown as { _getActiveHandles?: () => HandleLike[] })._getActiveHandles;
  const lines: string[] = [];
  for (const h of getHandles?.call(process) ?? []) {
    if (typeof h.hasRef === 'function' && !h.hasRef()) continue;
    const kind = h.constructor?.name ?? typeof h;
    if (h === process.stdout || h === process.stderr || h === process.stdin) continue;
    if (typeof h.address === 'function' && h.listening !== undefined) {
      lines.push(`${kind} listening on ${JSON.stringify(h.address())}`);
    } else if (h.remotePort !== undefined || h.localPort !== undefined) {
      lines.push(`${kind} ${h.localAddress ?? '?'}:${h.localPort ?? '?'} -> ${h.remoteAddress ?? '?'}:${h.remotePort ?? '?'}`);
    } else if (h.pid !== undefined && Array.isArray(h.spawnargs)) {
      lines.push(`${kind} pid ${h.pid}: ${h.spawnargs.join(' ').slice(0, 200)}`);
    } else if (h._idleTimeout !== undefined) {
      lines.push(`${kind} every/after ${h._idleTimeout} ms (${h._onTimeout?.name || 'anonymous callback'})`);
    } else {
      lines.push(`${kind}${h.fd !== undefined ? ` fd ${h.fd}` : ''}`);
    }
  }
  const resources = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
  lines.push(`active resources: ${resources.join(', ') || '(none)'}`);
  return lines;
}

function armWatchdog(): void {
  const watchdog = setTimeout(() => {
    const file = process.argv[1] ?? 'this test file';
    process.stderr.write(`\n${file}: still running ${GRACE_MS} ms after its last test ended — its after() hooks took that long, or something was left open. Handles keeping it alive:\n  ${describeOpenHandles().join('\n  ')}\n`);
    process.exit(70);
  }, GRACE_MS);
  watchdog.unref();
}

// Registered here, this root-level hook runs after the file's last test and
// before the file's own root-level after() hooks (hooks run in registration
// order, and this module loads first): the grace covers those hooks too.
if (GRACE_MS > 0) after(armWatchdog);
