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

export { assertClean, failsWith } from '../../helpers/errors.ts';
