import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { cli, cliAsync } from '../helpers/process.ts';
import { seedNetBox } from './helpers.ts';
import { NetBox } from './servers/netbox.ts';

/** The CLI's environment for a NetBox stand-in: a data directory and the CA file in a temporary root removed with the test. */
function cliEnv(t: TestContext, nb: NetBox): Record<string, string> {
  const root = mkdtempSync(join(tmpdir(), 'probectl-cmdb-cli-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'ca.pem'), nb.standIn.caPem);
  return {
    PROBECTL_DATA_DIR: join(root, 'data'), PROBECTL_CMDB_PROVIDER: 'netbox', PROBECTL_CMDB_URL: nb.url,
    PROBECTL_CMDB_SECRET: 'nbt_AbCdEf012345.0123456789abcdefghijklmnopqrstuvwxyzABCD', PROBECTL_CMDB_CA_FILE: join(root, 'ca.pem'),
  };
}

describe('probectl cmdb --help', () => {
  it('says what the one subcommand takes, and where the incident and agent views are (the API, not a subcommand)', (t) => {
    const root = mkdtempSync(join(tmpdir(), 'probectl-cmdb-help-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const help = cli(['cmdb', '--help'], { PROBECTL_DATA_DIR: join(root, 'data') });
    assert.equal(help.status, 0, help.stderr);
    const description = (help.stdout.split('\n\n')[1] as string).replace(/\s+/g, ' '); // as wrapped to the terminal's width
    assert.match(description, /lookup <key>[\s\S]*IP address, host name, FQDN or URL/, description);
    assert.match(description, /GET \/v1\/incidents\/\{id\}\/cis[\s\S]*GET \/v1\/agents\/\{id\}\/ci/, description);
    assert.deepEqual([...help.stdout.matchAll(/^ {2}(\w+) /gm)].map((m) => m[1]), ['lookup', 'help'], 'lookup is the only subcommand');
  });
});

describe('probectl cmdb lookup', () => {
  it('prints the CIs as a table or JSON through the in-process app; a bad key is a usage error (exit 2)', async (t) => {
    const nb = await NetBox.start();
    t.after(() => nb.close());
    seedNetBox(nb);
    const env = cliEnv(t, nb);
    const text = await cliAsync(['cmdb', 'lookup', '10.0.0.1'], env);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /web01\s+\|?\s*device\s+\|?\s*10\.0\.0\.1\s+\|?\s*Payments\s+\|?\s*Paris DC1\s+\|?\s*Active/);
    const json = await cliAsync(['cmdb', 'lookup', 'vm7', '--json'], env);
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout).items.map((i: { id: string }) => i.id), ['vm:7']);
    const bad = await cliAsync(['cmdb', 'lookup', '10.0.0.0/8'], env);
    assert.equal(bad.status, 2, 'a usage error, refused before anything is opened');
    assert.match(bad.stderr, /<key>: not an IP address[\s\S]*PROBECTL_ERR_CLI_USAGE/);
    assert.ok(![text, json, bad].some((r) => `${r.stdout}${r.stderr}`.includes('0123456789abcdefghij')), 'the token never printed');
  });

  it('a CMDB that is down: the CLI reports the 503 once, with no server log line on its stdout or stderr', async (t) => {
    const nb = await NetBox.start();
    t.after(() => nb.close());
    const env = cliEnv(t, nb);
    await nb.close();
    for (const args of [['cmdb', 'lookup', '10.0.0.1'], ['cmdb', 'lookup', '10.0.0.1', '--json']]) {
      const down = await cliAsync(args, env);
      assert.equal(down.status, 1, down.stderr);
      assert.match(down.stderr, /^probectl: CMDB unavailable: .* \[PROBECTL_ERR_CMDB_UNAVAILABLE\]$/m);
      assert.equal(down.stdout, '', 'nothing on stdout (no server log line to corrupt --json)');
      assert.doesNotMatch(down.stderr, /"level":|request failed/, 'the in-process app logs no server error line');
      assert.equal(`${down.stdout}${down.stderr}`.split('\n').filter((l) => l.includes('CMDB unavailable')).length, 1, 'reported once');
    }
  });
});
