import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

const NODE = process.execPath;
const CLI = new URL('../../src/main.ts', import.meta.url).pathname;

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process with exactly this environment (plus PATH). */
export function cli(args: string[], env: Record<string, string>, input?: string): CliResult {
  const res = spawnSync(NODE, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', input, timeout: 60_000 });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** The same, without blocking this process (needed when the server runs in this process); killed after 60 s like cli(). */
export function cliAsync(args: string[], env: Record<string, string>): Promise<CliResult> {
  return collect(spawn(NODE, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } }));
}

/** A child's stdout, stderr and exit status; past the deadline it is killed (SIGKILL) and its status is null. */
export function collect(child: ChildProcess, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  /**
   * Sends `signal` and waits for the exit; a process still running 30 s
   * later is killed (SIGKILL) and the stop rejects, naming the signal and the
   * server's output. Resolves with the exit code (null when killed by a signal).
   */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const STOP_DEADLINE_MS = 30_000;

/** Waits for `child` to exit, SIGKILLing it if it is still running after `ms`; true when it had to be killed. */
async function exitWithin(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return false;
  const exited = once(child, 'exit');
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, ms);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
  return killed;
}

/** Starts `probectl serve` (with these node arguments, if any) and waits for its "probectl serving" log line. */
export async function serve(env: Record<string, string>, timeoutMs = 60_000, entry: string = CLI, nodeArgs: readonly string[] = []): Promise<ServerProcess> {
  const child = spawn(NODE, [...nodeArgs, entry, 'serve'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let timedOut = false;
    // A start that takes too long is killed; the promise settles on its exit, so no process is left behind.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    // Only new output is scanned, and not after the line is found: a server logging every request
    // must not cost the test (or a benchmark's client) a scan of everything it printed so far.
    let pending = '';
    const check = (c: Buffer) => {
      pending += c.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes('"probectl serving"')) continue;
        clearTimeout(timer);
        child.stdout?.off('data', check);
        resolve((JSON.parse(line) as { url: string }).url);
        return;
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(timedOut ? `server did not start within ${timeoutMs} ms (its "probectl serving" line needs PROBECTL_LOG_LEVEL info or lower):\n${out}` : `server exited with ${code}:\n${out}`));
    });
  });
  return {
    child,
    url,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      if (await exitWithin(child, STOP_DEADLINE_MS)) throw new Error(`server pid ${child.pid} did not exit within ${STOP_DEADLINE_MS} ms of ${signal}; killed:\n${out}`);
      return child.exitCode;
    },
  };
}
