import assert from 'node:assert/strict';
import { isProbectlError, type ErrorCode } from '../../../src/core/errors.ts';
import type { SecretRef } from '../../../src/secrets/ref.ts';
import type { SecretResolver } from '../../../src/secrets/resolver.ts';

export function manualClock(start = Date.parse('2026-11-23T10:00:00.000Z')): { now(): number; advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}

export function text(resolver: SecretResolver, ref: SecretRef): Promise<string> {
  return resolver.use(ref, (b) => b.toString('utf8'));
}

/** Awaits a rejection with `code`; the message must contain none of `forbidden` (secret values, names, fields). */
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
