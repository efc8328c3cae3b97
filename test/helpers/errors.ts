import assert from 'node:assert/strict';
import { isProbectlError, type ErrorCode } from '../../src/core/errors.ts';

/**
 * Asserts that `p` rejects with a ProbectlError of `code` whose message, JSON
 * form and stack contain none of `forbidden` (secret values, paths, field
 * names); returns the message.
 */
export async function failsWith(p: Promise<unknown>, code: ErrorCode, forbidden: readonly string[] = []): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(isProbectlError(err), `expected a ProbectlError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assertClean(`${err.message} ${JSON.stringify(err)} ${String(err.stack)}`, forbidden);
    return err.message;
  }
  assert.fail(`expected ${code}`);
}

export function assertClean(output: string, forbidden: readonly string[]): void {
  for (const f of forbidden) assert.ok(!output.includes(f), `output leaks ${JSON.stringify(f)}: ${output}`);
}
