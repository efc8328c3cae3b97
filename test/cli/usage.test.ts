import assert from 'node:assert/strict';
import { probectlContext } from '../../src/cli-context.ts';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Command, Option } from 'commander';
import { buildProgram } from '../../src/cli/program.ts';
import { cli, cliAsync, type CliResult } from '../helpers/process.ts';

const TENANT = '7d9c2f4e-1b3a-4c5d-8e6f-0a1b2c3d4e5f';

/** A value each flag accepts, so that a command is called with exactly one bad value at a time. */
const VALID: Record<string, string> = {
  '--tenant': TENANT, '--name': 'ops', '--permissions': 'incidents-read', '--from': '1', '--to': '2', '--stream': 'audit',
  '--format': 'cef', '--preset': 'generic', '--endpoint': 'https://siem.example/ingest', '<id>': TENANT,
  '--connector': 'pagerduty-0123456789', '--id': 'jira1', '--file': 'package.json', '--incident': TENANT, '<query>': 'up{job="node"}', '<key>': 'web01.example.com',
};
/** Flags that take a value but that a command may legitimately not use (the token file only matters while a server runs). */
const NOT_CHECKED = new Set(['--token-file']);
/** One value no flag accepts: not a UUID, a number, a name (control character), a permission, a choice or a URL. */
const BAD = 'bogus\u0007value';

interface Case { path: string[]; flag: string; args: string[] }

/** Every leaf command of the real program, with each of its value flags (and positional argument) given BAD once. */
function casesOf(cmd: Command, path: string[] = []): Case[] {
  if (cmd.commands.length > 0) return cmd.commands.flatMap((c) => casesOf(c, [...path, c.name()]));
  const valued = (cmd.options as readonly Option[]).filter((o) => (o.required || o.optional) && !NOT_CHECKED.has(o.long as string));
  const positional = cmd.registeredArguments.map((a) => `<${a.name()}>`);
  const valueOf = (flag: string): string => {
    const v = VALID[flag];
    if (v === undefined) throw new Error(`test/cli/usage.test.ts: add a valid value for ${flag} (probectl ${path.join(' ')}) to VALID`);
    return v;
  };
  const build = (bad: string) => [
    ...positional.map((p) => (p === bad ? BAD : valueOf(p))),
    ...valued.filter((o) => o.mandatory || o.long === bad).flatMap((o) => [o.long as string, o.long === bad ? BAD : valueOf(o.long as string)]),
  ];
  return [...positional, ...valued.map((o) => o.long as string)].map((flag) => ({ path, flag, args: [...path, ...build(flag)] }));
}

function assertUsageError(res: CliResult, flag: string, label: string): void {
  assert.equal(res.status, 2, `${label}: exit status 2 for a usage error\n${res.stderr}`);
  const message = res.stderr.split('\nUsage:')[0] as string;
  assert.ok(message.includes(flag.replace(/^<(.*)>$/, '$1')), `${label}: the message names ${flag}: ${message}`);
  assert.match(res.stderr, /accepted: |Allowed choices are |\nUsage: probectl .*\n[\s\S]*Options:/, `${label}: lists what is accepted`);
  assert.equal(res.stderr.match(/\[PROBECTL_ERR_[A-Z_]+\]/g)?.join(), '[PROBECTL_ERR_CLI_USAGE]', `${label}: the code once`);
  assert.doesNotMatch(res.stderr, /unexpected error|startup refused|^\s+at /m, label);
}

describe('CLI usage errors', () => {
  const root = mkdtempSync(join(tmpdir(), 'probectl-cli-usage-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('every command refuses a bad value of each flag before it touches anything: exit 2, the flag named, what is accepted listed', async () => {
    const cases = casesOf(buildProgram(probectlContext));
    assert.ok(cases.length >= 17, `found ${cases.length} flag cases`);
    for (let i = 0; i < cases.length; i += 2) {
      // Two at a time: the machine has two cores.
      await Promise.all(cases.slice(i, i + 2).map(async (c, j) => {
        const dataDir = join(root, `sweep-${i + j}`);
        const res = await cliAsync(c.args, { PROBECTL_DATA_DIR: dataDir });
        const label = `probectl ${c.args.join(' ')}`;
        assertUsageError(res, c.flag, label);
        assert.equal(existsSync(dataDir), false, `${label}: nothing was created`);
      }));
    }
  });

  it('names, numbers and lists are checked whole: length, control characters, exact integers, known items', async () => {
    const dataDir = join(root, 'values');
    const env = { PROBECTL_DATA_DIR: dataDir };
    const checks: Array<[string[], string, RegExp]> = [
      [['tenant', 'create', '--name', 'x'.repeat(129)], '--name', /--name: 129 characters; accepted: 1 to 128 characters/],
      [['tenant', 'create', '--name', ''], '--name', /--name: empty/],
      [['token', 'create', '--tenant', TENANT, '--permissions', 'admin', '--name', 'tab\there'], '--name', /contains a control character/],
      [['token', 'create', '--tenant', TENANT, '--permissions', 'admin,superuser'], '--permissions', /unknown permission "superuser"; accepted: .*incidents-read/],
      [['siem', 'replay', '--tenant', TENANT, '--from', '99999999999999999999'], '--from', /accepted: an integer from 1 to 9007199254740991/],
      [['siem', 'replay', '--tenant', TENANT, '--from', '0'], '--from', /not a positive integer/],
      [['siem', 'replay', '--tenant', TENANT, '--from', '5', '--to', '4'], '--to', /--to: 4 is below --from 5/],
      [['siem', 'preview', '--nope'], '--nope', /unknown option '--nope'/],
    ];
    for (const [args, flag, message] of checks) {
      const res = await cliAsync(args, env);
      assertUsageError(res, flag, args.join(' '));
      assert.match(res.stderr, message, args.join(' '));
    }
    assert.equal(existsSync(dataDir), false, 'no command created the data directory');
  });

  it('siem preview: a bad --preset or a flag combination the preset refuses is a usage error naming the flag, never a crash or a startup refusal', async () => {
    const env = { PROBECTL_DATA_DIR: join(root, 'preview') };
    const qradar = await cliAsync(['siem', 'preview', '--preset', 'qradar'], env);
    assertUsageError(qradar, '--preset', '--preset qradar');
    assert.match(qradar.stderr, /splunk, sentinel, elastic, chronicle, generic/);
    for (const [args, flag, message] of [
      [['--preset', 'elastic', '--format', 'cef'], '--format', /--format: _bulk takes JSON documents; cef is not one; accepted: ecs with the elastic preset/],
      [['--endpoint', 'http://example.com/in'], '--endpoint', /--endpoint: plaintext http:\/\/ is refused to a non-loopback host; accepted: https:\/\//],
      [['--endpoint', 'not a url'], '--endpoint', /--endpoint: not a URL/],
      [['--preset', 'splunk', '--format', 'otlp'], '--format', /--format: OTLP is not a Splunk HEC payload/],
    ] as Array<[string[], string, RegExp]>) {
      const res = await cliAsync(['siem', 'preview', ...args], env);
      assertUsageError(res, flag, args.join(' '));
      assert.match(res.stderr, message);
    }
  });

  it('siem preview: a bad PROBECTL_SIEM_* variable is a configuration error naming the variable (exit 1), not a crash', async () => {
    const res = await cliAsync(['siem', 'preview'], { PROBECTL_DATA_DIR: join(root, 'preview-env'), PROBECTL_SIEM_PRESET: 'qradar' });
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stderr, /^probectl: invalid configuration, siem preview refused \(1 problem\):\n {2}PROBECTL_SIEM_PRESET: not an accepted value \(got "qradar"\); accepted: one of splunk, sentinel, elastic, chronicle, generic \[PROBECTL_ERR_CONFIG_INVALID\]\n$/);
    const ok = await cliAsync(['siem', 'preview', '--body-only'], { PROBECTL_DATA_DIR: join(root, 'preview-env'), PROBECTL_SIEM_PRESET: 'Elastic' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^\{"create":\{"_id":"[0-9a-f-]{36}"\}\}$/m, 'the elastic _bulk framing, the preset taken case-insensitively');
  });
});

describe('refusals name what to change, with each error code once', () => {
  const root = mkdtempSync(join(tmpdir(), 'probectl-cli-refusal-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const env = { PROBECTL_DATA_DIR: join(root, 'data'), PROBECTL_LISTEN: '127.0.0.1:0', PROBECTL_LOG_LEVEL: 'warn' };

  it('a vault: reference with no Vault configured: config check and serve refuse naming PROBECTL_SECRETS_VAULT_ADDR', () => {
    for (const command of [['config', 'check'], ['serve']]) {
      const res = cli(command, { ...env, PROBECTL_SIEM_TOKEN: 'vault:kv/siem/splunk#hec-token' });
      assert.equal(res.status, 1, `${command.join(' ')}: ${res.stdout}${res.stderr}`);
      assert.doesNotMatch(res.stdout, /configuration OK/);
      assert.match(res.stderr, /PROBECTL_SIEM_TOKEN: refers to the Vault backend \(vault:kv\/siem\/splunk#…\), which is not configured: PROBECTL_SECRETS_VAULT_ADDR is not set/);
      assert.ok((res.stderr.match(/\[PROBECTL_ERR_/g) ?? []).length <= 1, `${command.join(' ')}: at most one code: ${res.stderr}`);
      assert.ok(!res.stderr.includes('hec-token'));
    }
  });

  it('a plaintext SIEM endpoint is refused by config check even while export is off', () => {
    const res = cli(['config', 'check'], { ...env, PROBECTL_SIEM_ENDPOINT: 'http://example.com' });
    assert.equal(res.status, 1);
    assert.match(res.stderr, /PROBECTL_SIEM_ENDPOINT: plaintext http:\/\/ is refused to a non-loopback host/);
  });

  it('a reference that does not resolve refuses startup with its code shown once', () => {
    const res = cli(['serve'], { ...env, PROBECTL_SIEM_TOKEN: 'env:PROBECTL_CLI_TEST_UNSET_TOKEN' });
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stderr, /startup refused \(1 of 1\):\n {2}PROBECTL_SIEM_TOKEN \(env:PROBECTL_CLI_TEST_UNSET_TOKEN\): .*\[PROBECTL_ERR_SECRET_[A-Z_]+\]\n$/);
    assert.equal(res.stderr.match(/\[PROBECTL_ERR_/g)?.length, 1, res.stderr);
  });
});

describe('siem status', () => {
  const root = mkdtempSync(join(tmpdir(), 'probectl-cli-status-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('prints text without --json (export off: it says so) and the status object with --json', async () => {
    const env = { PROBECTL_DATA_DIR: join(root, 'data') };
    const tenants = await cliAsync(['tenant', 'list', '--json'], env);
    assert.equal(tenants.status, 0, tenants.stderr);
    const provider = (JSON.parse(tenants.stdout) as { tenants: Array<{ id: string; provider: boolean }> }).tenants.find((t) => t.provider)?.id as string;
    const text = await cliAsync(['siem', 'status', '--tenant', provider], env);
    assert.equal(text.status, 0, text.stderr);
    assert.equal(text.stdout, `SIEM export is off (PROBECTL_SIEM_ENABLED=false): nothing of tenant ${provider} is exported\n`);
    const json = await cliAsync(['siem', 'status', '--tenant', provider, '--json'], env);
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { enabled: false, tenant: provider, streams: [] });
  });
});

