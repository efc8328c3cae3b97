import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** Stops a peer program this test started: SIGTERM, then SIGKILL if it has not exited within 20 s. Resolves once it exited. */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}
