import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

describe('npm run demo', () => {
  it('shows audit and threat events arriving at the local SIEM, every stream drained to its head', () => {
    const res = spawnSync(process.execPath, [new URL('../../scripts/demo.ts', import.meta.url).pathname, '--format', 'syslog'], { encoding: 'utf8', timeout: 90_000, env: { PATH: process.env.PATH ?? '' } });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /SIEM ← <\d+>1 /, 'RFC 5424 records arrive');
    assert.match(res.stdout, /delivered: \d+ events to the SIEM \(\d+ audit, [1-9]\d* threat\)/);
    for (const m of res.stdout.matchAll(/acme (audit|threat): cursor (\d+) of (\d+)/g)) assert.equal(m[2], m[3], `acme ${m[1]} fully delivered`);
    assert.ok(!res.stdout.includes('not-exported'), 'a redacted attribute never reaches the SIEM');
  });
});
