import assert from 'node:assert/strict';
import { isProbectlError, type ErrorCode, type ProbectlError } from '../../src/core/errors.ts';

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

/** Loads a configuration that must be refused; returns the PROBECTL_ERR_CONFIG_INVALID error (one message naming every bad variable). */
export function configRefused(load: () => unknown): ProbectlError {
  try {
    load();
  } catch (err) {
    assert.ok(isProbectlError(err, 'PROBECTL_ERR_CONFIG_INVALID'), String(err));
    return err;
  }
  assert.fail('startup should have been refused');
}
