/**
 * What the `probectl` executable (./probectl.ts) does first. It runs before anything else and must parse and
 * run on any Node.js still in use (it imports only long-standing built-ins),
 * so that:
 *
 * 1. On a Node.js older than probectl needs (engines: >= 22.12), it re-runs
 *    itself on the Node.js 24 the project carries (node_modules/node) — the
 *    same runtime `npm start` and `npm test` use — or, when there is none, says
 *    which version is needed instead of dying on a SyntaxError.
 * 2. `probectl serve` runs with bounded memory (serveFlags) unless the
 *    operator chose a heap size (`--max-old-space-size` in NODE_OPTIONS or on
 *    the node command line): with V8's defaults on a host with plenty of memory
 *    the heap grows lazily to several times what the server uses, and the
 *    embedded database's WebAssembly, tiered up to optimized code while it runs,
 *    briefly needs hundreds of MB to compile. The flags are applied by replacing
 *    this process (process.execve: same pid, signals reach the server directly),
 *    or by a child process on a runtime without execve.
 *
 * Then it loads the CLI (../main.js, the composition root) in this process.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The oldest Node.js probectl runs on (package.json engines). */
export const MIN_NODE: readonly [number, number] = [22, 12];

/**
 * V8 heap bounds for `serve`: the old generation capped at 192 MiB and each
 * young semi-space at 8 MiB. The server's live heap while draining a backlog is
 * about 50 MB. Below the cap the old generation may grow to twice its live size
 * between full collections (`--heap-growing-percent=100`): with V8's own factor
 * (about 1.1 here) every few megabytes of network buffers — an 8 MB answer passed
 * through — set off a full collection of the whole heap. See docs/operations.md
 * for the measurements and how to change it.
 */
export const HEAP_FLAGS: readonly string[] = ['--max-old-space-size=192', '--max-semi-space-size=8', '--heap-growing-percent=100'];

/**
 * On the embedded database (no PROBECTL_DATABASE_URL) the WebAssembly of
 * PostgreSQL is compiled by V8's baseline compiler only: tiering its hot
 * functions up to optimized code costs 400–500 MB of peak memory for no
 * measurable gain in throughput (bench/siem.ts).
 */
export const EMBEDDED_DB_FLAGS: readonly string[] = ['--liftoff-only'];

/** The node flags `probectl serve` runs with when the operator chose no heap size. */
export function serveFlags(env: NodeJS.ProcessEnv): string[] {
  return [...HEAP_FLAGS, ...(env.PROBECTL_DATABASE_URL ? [] : EMBEDDED_DB_FLAGS)];
}

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
// The compiled launcher starts dist/main.js (the composition root); run from source (tests), src/main.ts.
const MAIN = join(here, '..', import.meta.url.endsWith('.ts') ? 'main.ts' : 'main.js');

/** True when `version` ("20.20.2") is older than MIN_NODE. */
export function tooOld(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1]);
}

/** Whether the operator already bounds the old generation (NODE_OPTIONS or node's own arguments). */
export function heapChosen(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((a) => /^--max[-_]old[-_]space[-_]size(=|$)/.test(a));
}

/** The Node.js the project carries (the `node` npm package), if installed. */
function carriedNode(): string | undefined {
  const candidate = join(root, 'node_modules', 'node', 'bin', 'node');
  return existsSync(candidate) ? candidate : undefined;
}

function rerun(node: string, flags: readonly string[], args: readonly string[]): void {
  // The re-run starts the CLI itself (main.js), never this launcher again.
  const argv = [...flags, MAIN, ...args];
  const env = process.env;
  const execve = (process as unknown as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => void }).execve;
  if (typeof execve === 'function') {
    execve.call(process, node, [node, ...argv], env);
    return;
  }
  // No execve on this runtime (an old system Node): a child that gets our signals and our exit status,
  // and an IPC channel it watches: if this process dies without a signal it can forward (SIGKILL), the
  // channel closes and the child stops as on SIGTERM (watchLauncher) instead of running on orphaned.
  const child = spawn(node, argv, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: { ...env, [LAUNCHER_CHANNEL]: '1' } });
  child.channel?.unref();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

/** Set in the environment of a child started by the launcher with an IPC channel to watch. */
const LAUNCHER_CHANNEL = 'PROBECTL_LAUNCHER_CHANNEL';

/**
 * In a child the launcher started (a runtime without execve): when the
 * launcher's IPC channel closes (the launcher died, even by SIGKILL), this
 * process stops as on SIGTERM. A no-op in any other process. The channel never
 * keeps the process alive.
 */
export function watchLauncher(): void {
  if (process.env[LAUNCHER_CHANNEL] !== '1' || !process.channel) return;
  delete process.env[LAUNCHER_CHANNEL];
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

/** Runs the CLI for process.argv: on a recent enough Node.js, with bounded memory for `serve`. */
export async function launch(): Promise<void> {
  const args = process.argv.slice(2);
  if (tooOld(process.versions.node)) {
    const carried = carriedNode();
    if (!carried) {
      process.stderr.write(`probectl: needs Node.js ${MIN_NODE.join('.')} or newer (Node.js 24 LTS recommended); this is Node.js ${process.versions.node}.\n`
        + 'Run it through npm in the project (npm start, npm run probectl -- …), which uses the Node.js 24 the project carries, or install Node.js 24.\n');
      process.exitCode = 1;
      return;
    }
    rerun(carried, args[0] === 'serve' && !heapChosen(process.execArgv, process.env.NODE_OPTIONS) ? serveFlags(process.env) : [], args);
    return;
  }
  if (args[0] === 'serve' && !heapChosen(process.execArgv, process.env.NODE_OPTIONS)) {
    rerun(process.execPath, serveFlags(process.env), args);
    return;
  }
  await import(pathToFileURL(MAIN).href);
}

