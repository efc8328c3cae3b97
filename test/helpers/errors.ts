import assert from 'node:assert/strict';
import { isProbectlError, type ErrorCode } from '../../src/core/errors.ts';

/**
 * Asserts that `p` rejects with a ProbectlError of `code` whose message
 * contains none of `forbidden` (secret values, paths, field names); returns
 * the message.
 */
export async function failsWith(p: Promise<unknown>, code: ErrorCode, forbidden: readonly string[] = []): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(isProbectlError(err), `expected a ProbectlError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const f of forbidden) assert.ok(!err.message.includes(f), `error message leaks ${f}: ${err.message}`);
    return err.message;
  }
  assert.fail(`expected ${code}`);
}
