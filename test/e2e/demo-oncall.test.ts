import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const DEMO = new URL('../../scripts/demo.ts', import.meta.url).pathname;

describe('npm run demo -- --oncall', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'probectl-demo-oncall-test-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const env = { PATH: process.env.PATH ?? '', TMPDIR: tmp };

  it('pages, tickets, coalesces, resolves from the ticket side without echo, in under a minute, and removes its directory', () => {
    const started = Date.now();
    const res = spawnSync(process.execPath, [DEMO, '--oncall'], { encoding: 'utf8', timeout: 90_000, env });
    assert.equal(res.status, 0, res.stderr);
    assert.ok(Date.now() - started < 60_000, `took ${Date.now() - started} ms`);
    assert.match(res.stdout, /PagerDuty ← trigger, dedup_key probectl-[0-9a-f-]{36}: .* — incident P[0-9A-F]+ paged/);
    assert.match(res.stdout, /Jira ← issue OPS-1 created in OPS/);
    assert.match(res.stdout, /Jira ← comment on OPS-1: "probectl: 2 more signals on this incident since the last update\."/);
    assert.match(res.stdout, /PagerDuty no re-page: 1 trigger/);
    assert.match(res.stdout, /probectl ← Jira webhook: 200 \{"result":"applied"/);
    assert.match(res.stdout, /incident [0-9a-f-]{36}: resolved \(3 signals\)/);
    assert.match(res.stdout, /PagerDuty ← resolve, .* resolved/);
    assert.match(res.stdout, /Jira no echo: 0 transitions and 0 comments sent to OPS-1 after its webhook/);
    assert.match(res.stdout, /pagerduty-[0-9a-f]{10} +pagerduty ok +2 operations delivered, 0 failed/);
    assert.deepEqual(readdirSync(tmp), []);
  });

  it('an unknown extra argument is a usage error (exit 2) that creates nothing', () => {
    const res = spawnSync(process.execPath, [DEMO, '--oncall', '--format', 'cef'], { encoding: 'utf8', timeout: 30_000, env });
    assert.equal(res.status, 2, res.stderr);
    assert.match(res.stderr, /\[PROBECTL_ERR_CLI_USAGE\]\nusage: npm run demo -- --oncall\n$/);
    assert.deepEqual(readdirSync(tmp), []);
  });
});
