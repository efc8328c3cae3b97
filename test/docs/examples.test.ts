import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DYNAMIC_VARIABLE_PATTERNS, knownVariableNames } from '../../src/settings.ts';
import { collect, serve, type ServerProcess } from '../helpers/process.ts';
import { leaf, testCa } from '../helpers/tls.ts';
import { blockScript, fragmentNames, framedOutputs, missingLines, shellBlocks, type Block } from './blocks.ts';

/**
 * Runs every shell example of README.md and docs/*.md against one started
 * server (see "Documentation examples" in docs/development.md): a page's
 * blocks share one bash, top to bottom, in a directory shaped like the one
 * `npm start` runs in — `.probectl` is the server's data directory, `npm run
 * -s probectl` and `probectl` are the project's CLI — and curl reaches the
 * documented https://127.0.0.1:8443 at the test server's port.
 */
const ROOT = new URL('../../', import.meta.url).pathname;
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const PAGE_TIMEOUT_MS = 150_000;

function blocksOf(page: string): { blocks: Block[]; problems: string[] } {
  return shellBlocks(page, readFileSync(join(ROOT, page), 'utf8'));
}

function requireProgram(name: string, why: string): void {
  const res = spawnSync(name, ['--version'], { encoding: 'utf8' });
  if (res.error || res.status !== 0) throw new Error(`the docs test needs ${name} (${why}); install it (Debian: apt-get install ${name})`);
}

/** A local HTTPS SIEM that accepts every batch, so the SIEM examples run against export that is on. */
async function startSiem(dir: string): Promise<Server> {
  const cert = await leaf();
  writeFileSync(join(dir, 'siem-ca.pem'), (await testCa()).certPem);
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

describe('the shell examples in README.md and docs/ run as written', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'probectl-docs-'));
  const sandbox = join(tmp, 'work');
  const scripts = join(tmp, 'scripts');
  let siem: Server | undefined;
  let server: ServerProcess | undefined;
  let pageEnv: Record<string, string> = {};

  before(async () => {
    requireProgram('bash', 'the examples are shell');
    requireProgram('curl', 'the API examples');
    requireProgram('jq', 'the examples pick ids out of JSON answers');
    // The compiled CLI, once, as `npm start` and `npm run probectl` run it.
    const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build-if-needed.ts')], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
    assert.equal(build.status, 0, `build: ${build.stderr}`);

    // The directory an operator works in: the project (for `npm run -s probectl`) and its .probectl data directory.
    mkdirSync(sandbox);
    mkdirSync(scripts);
    for (const entry of ['package.json', 'node_modules', 'scripts', 'src', 'dist', 'tsconfig.json', 'tsconfig.build.json']) symlinkSync(join(ROOT, entry), join(sandbox, entry));
    // `probectl` as npm installs the package's bin: node running the file package.json names.
    const bin = join(tmp, 'bin');
    mkdirSync(bin);
    const entry = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { probectl: string } }).bin.probectl;
    writeFileSync(join(bin, 'probectl'), `#!/bin/sh\nexec node ${JSON.stringify(join(ROOT, entry))} "$@"\n`);
    chmodSync(join(bin, 'probectl'), 0o755);

    siem = await startSiem(tmp);
    server = await serve({
      PROBECTL_DATA_DIR: join(sandbox, '.probectl'), PROBECTL_LISTEN: '127.0.0.1:0', PROBECTL_LOG_LEVEL: 'info',
      PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_PRESET: 'generic', PROBECTL_SIEM_FORMAT: 'cef',
      PROBECTL_SIEM_ENDPOINT: `https://127.0.0.1:${(siem.address() as AddressInfo).port}/ingest`,
      PROBECTL_SIEM_CA_FILE: join(tmp, 'siem-ca.pem'), PROBECTL_SIEM_POLL_INTERVAL: '200ms',
    }, 90_000, join(ROOT, entry));

    // curl reaches the documented address at the test server's port, and an HTTP error fails the example.
    const curlHome = join(tmp, 'curl');
    mkdirSync(curlHome);
    writeFileSync(join(curlHome, '.curlrc'), `connect-to = "127.0.0.1:8443:127.0.0.1:${new URL(server.url).port}"\nfail-with-body\n`);
    pageEnv = {
      PATH: `${bin}:${join(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? tmp, CURL_HOME: curlHome, TMPDIR: tmp,
      NO_UPDATE_NOTIFIER: '1', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false',
      // The sandbox links the project's node_modules: an unmarked `npm install` example must not change it (npm run is unaffected).
      npm_config_dry_run: 'true',
    };
  }, { timeout: 360_000 });

  after(async () => {
    await server?.stop();
    siem?.closeAllConnections();
    siem?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('every sh block is run or carries a reviewed skip marker, and the pages have runnable examples', () => {
    assert.deepEqual(PAGES.flatMap((p) => blocksOf(p).problems), [], 'malformed docs-test markers or expected output');
    const all = PAGES.flatMap((p) => blocksOf(p).blocks);
    const run = all.filter((b) => !b.skip);
    assert.ok(run.length >= 20, `only ${run.length} runnable blocks found`);
    const skipped = all.length - run.length;
    assert.ok(skipped * 3 <= all.length, `${skipped} of ${all.length} blocks are skipped: skipping is the exception; make the example runnable`);
  });

  for (const page of PAGES) {
    const blocks = blocksOf(page).blocks.filter((b) => !b.skip);
    if (blocks.length === 0) continue;
    it(`${page}: ${blocks.length} example block(s) exit 0 and print what they show`, { timeout: PAGE_TIMEOUT_MS + 10_000 }, async () => {
      for (const b of blocks.filter((x) => x.fragment)) {
        for (const name of fragmentNames(b)) {
          assert.ok(knownVariableNames().includes(name) || DYNAMIC_VARIABLE_PATTERNS.some((re) => re.test(name)), `${page}:${b.fenceLine}: ${name} is not a probectl variable`);
        }
      }
      const dir = join(scripts, page.replaceAll('/', '_'));
      mkdirSync(dir);
      const files = blocks.map((b, i) => {
        const file = join(dir, `${b.fenceLine}.sh`);
        writeFileSync(file, blockScript(b, i));
        return file;
      });
      const driver = [
        'set -Eeuo pipefail',
        // The failing line of the page: block files are named after their fence line and line 1 stands for the fence.
        // Inside a function the call site is named too (its file is BASH_SOURCE[1], its line BASH_LINENO[0]).
        `trap '__rc=$?; __f=\${BASH_SOURCE[0]##*/}; __at=$(( \${__f%.sh} + LINENO - 1 )); `
          + `if [[ \${FUNCNAME[0]:-source} != source ]]; then __c=\${BASH_SOURCE[1]##*/}; __at="$__at in \${FUNCNAME[0]}, called at line $(( \${__c%.sh} + \${BASH_LINENO[0]} - 1 ))"; fi; `
          + `echo "docs-test: failed at line $__at (exit $__rc): $BASH_COMMAND" >&2' ERR`,
        ...files.map((f) => `source ${JSON.stringify(f)}`),
        '',
      ].join('\n');
      const { status: code, stdout, stderr } = await collect(spawn('bash', ['-c', driver], { cwd: sandbox, env: pageEnv, stdio: ['ignore', 'pipe', 'pipe'] }), PAGE_TIMEOUT_MS);
      const failure = /docs-test: failed at line (\d+(?: in \S+, called at line \d+)?) \(exit (\d+)\): (.*)/.exec(stderr);
      assert.equal(code, 0, failure
        ? `${page}:${failure[1]}: the example exits ${failure[2]}: ${failure[3]}\n--- stdout (last 1500 characters) ---\n${stdout.slice(-1500)}\n--- stderr (last 3000 characters) ---\n${stderr.slice(-3000)}`
        : `${page}: bash exited ${code ?? `by a kill after ${PAGE_TIMEOUT_MS} ms`}\n${stderr.slice(-3000)}`);
      const outputs = framedOutputs(stdout);
      blocks.forEach((b, i) => b.expectations.forEach((e, n) => {
        const output = outputs.get(`${i}.${n}`);
        assert.ok(output !== undefined, `${page}:${b.fenceLine + e.commandLine + 1}: the command's output was not captured`);
        const missing = missingLines(e.lines, output);
        assert.deepEqual(missing, [], `${page}:${b.fenceLine + e.firstLine + 1}: the example shows output the command did not print\n--- it printed ---\n${output.slice(0, 3000)}`);
      }));
    });
  }
});
