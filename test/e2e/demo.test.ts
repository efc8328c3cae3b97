import assert from 'node:assert/strict';
import { SIEM_FORMATS } from '../../src/siem/formatters/index.ts';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const DEMO = new URL('../../scripts/demo.ts', import.meta.url).pathname;

describe('npm run demo', () => {
  // The demo makes its directory under TMPDIR: a private TMPDIR shows whether it is removed.
  const tmp = mkdtempSync(join(tmpdir(), 'probectl-demo-test-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const env = { PATH: process.env.PATH ?? '', TMPDIR: tmp };

  it('shows audit and threat events arriving at the local SIEM, every stream drained to its head, and removes its directory', () => {
    const res = spawnSync(process.execPath, [DEMO, '--format', 'syslog'], { encoding: 'utf8', timeout: 90_000, env });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /SIEM ← <\d+>1 /, 'RFC 5424 records arrive');
    assert.match(res.stdout, /delivered: \d+ events to the SIEM \(\d+ audit, [1-9]\d* threat\)/);
    for (const m of res.stdout.matchAll(/acme (audit|threat): cursor (\d+) of (\d+)/g)) assert.equal(m[2], m[3], `acme ${m[1]} fully delivered`);
    assert.ok(!res.stdout.includes('not-exported'), 'a redacted attribute never reaches the SIEM');
    assert.deepEqual(readdirSync(tmp), []);
  });

  it('a bad flag gets a usage message naming it and the accepted formats (exit 2), no stack trace, nothing left behind', () => {
    for (const args of [['--format', 'json'], ['--formt', 'cef'], ['extra']]) {
      const res = spawnSync(process.execPath, [DEMO, ...args], { encoding: 'utf8', timeout: 30_000, env });
      assert.equal(res.status, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, new RegExp(`\\[PROBECTL_ERR_CLI_USAGE\\]\\nusage: npm run demo \\[-- --format ${SIEM_FORMATS.join('\\|')}\\] \\(on-call mirroring: npm run demo -- --oncall\\)\\n$`));
      assert.doesNotMatch(res.stderr, /^\s+at |Node\.js v/m, 'no stack trace');
      if (args[0] === '--format') assert.match(res.stderr, /--format: "json" is not a format; accepted: syslog, cef, ecs, otlp/);
    }
    assert.deepEqual(readdirSync(tmp), []);
  });

  it('Ctrl-C (SIGINT) while it runs stops the server and removes its directory', async () => {
    const child = spawn(process.execPath, [DEMO, '--format', 'cef'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    try {
      // Interrupt once the server runs (the first scenario step is printed after it started).
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the demo did not start in time:\n${out}`)), 60_000);
        const check = () => {
          if (!out.includes('create tenant "acme"')) return;
          clearTimeout(timer);
          resolve();
        };
        child.stdout.on('data', check);
        child.once('exit', () => {
          clearTimeout(timer);
          reject(new Error(`the demo exited early:\n${out}`));
        });
      });
      assert.ok(readdirSync(tmp).length === 1, 'its directory exists while it runs');
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      const code = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit 20 s after SIGINT:\n${out}`)), 20_000))]);
      assert.equal(code, 130, out);
      assert.match(out, /SIGINT: stopping and removing /);
      assert.deepEqual(readdirSync(tmp), []);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
