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

/** The same, without blocking this process (needed when the server runs in this process). */
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
  stop(signal?: NodeJS.Signals): Promise<number | null>;
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
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in time (its "probectl serving" line needs PROBECTL_LOG_LEVEL info or lower):\n${out}`));
    }, timeoutMs);
    const check = () => {
      for (const line of out.split('\n')) {
        if (!line.includes('"probectl serving"')) continue;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
        return;
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  return {
    child,
    url,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}
