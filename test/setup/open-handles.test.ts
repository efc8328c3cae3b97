import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

const SETUP = new URL('./open-handles.ts', import.meta.url).pathname;
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

/** Runs one test file the way the test commands do (with the watchdog), killed after 60 s: exit status, output and how long it ran. */
function runFile(file: string, graceMs: number): Promise<{ status: number | null; output: string; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', SETUP, '--test', file], {
      env: { PATH: process.env.PATH ?? '', PROBECTL_TEST_OPEN_HANDLES_MS: String(graceMs) },
      timeout: 60_000, killSignal: 'SIGKILL',
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('close', (status) => resolve({ status, output, ms: Date.now() - started }));
  });
}

/**
 * Issue 7, point 15 (b): a test file that leaves a handle open fails fast,
 * naming what is open, instead of hanging the suite; a file that closes
 * everything — even in a slow after() hook — is not failed by the watchdog.
 */
describe('the open-handle watchdog loaded by the test commands', () => {
  it('a file that leaves a server listening fails within the grace, naming the server and its port', async () => {
    const run = await runFile(fixture('leaks-a-server.fixture.ts'), 2000);
    assert.notEqual(run.status, 0, run.output);
    assert.ok(run.ms < 30_000, `took ${run.ms} ms`);
    assert.match(run.output, /still running 2000 ms after its last test ended/);
    assert.match(run.output, /Server listening on \{"address":"127\.0\.0\.1","family":"IPv4","port":\d+\}/);
  });

  it('a file that closes everything passes, its slow after() hook included, and exits as soon as it is done', async () => {
    const run = await runFile(fixture('closes-everything.fixture.ts'), 5000);
    assert.equal(run.status, 0, run.output);
    assert.doesNotMatch(run.output, /still running/);
    assert.ok(run.ms < 5000 + 10_000, `took ${run.ms} ms: the unref'd watchdog must not keep the process alive`);
  });
});
