import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { startTestApp } from '../helpers/app.ts';

/**
 * The command a first start logs (issue 7 point 14), run as printed by a real
 * POSIX shell and a real curl: it must reach the API with the admin token,
 * including from a data directory whose path needs quoting.
 */
describe('the first-start command, run by sh and curl', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'probectl-curl-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('lists the tenants over verified HTTPS', async () => {
    const app = await startTestApp({ PROBECTL_DATA_DIR: join(tmp, "data dir's") });
    try {
      const line = app.logs.map((l) => JSON.parse(l) as { command?: string }).find((l) => l.command);
      assert.ok(line?.command, 'a first start logs the command');
      const { stdout } = await promisify(execFile)('sh', ['-c', `${line.command} --fail --silent --show-error --max-time 10`], { encoding: 'utf8', timeout: 20_000 });
      assert.deepEqual((JSON.parse(stdout) as { tenants: Array<{ name: string; provider: boolean }> }).tenants.map((t) => [t.name, t.provider]), [['default', true]]);
    } finally {
      await app.close();
    }
  });
});
