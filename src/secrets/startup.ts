import { isProbectlError, ProbectlError, type ErrorCode } from '../core/errors.ts';
import { redactRef } from './ref.ts';
import { collectReferences, type ConfiguredReference } from './references.ts';
import type { SecretResolver } from './resolver.ts';

export { collectReferences, type ConfiguredReference };

export interface ReferenceCheck {
  readonly variable: string;
  /** The redacted reference, e.g. `vault:kv/netops/snmp#…`. */
  readonly reference: string;
  readonly ok: boolean;
  readonly code: ErrorCode | undefined;
  /** Why it failed; backend messages carry no values, paths or fields. */
  readonly reason: string | undefined;
}

/** Resolves each reference once (concurrently; one backend call per distinct reference). Never throws. */
export async function checkReferences(resolver: SecretResolver, refs: readonly ConfiguredReference[]): Promise<ReferenceCheck[]> {
  return Promise.all(refs.map(async ({ variable, ref }) => {
    const reference = redactRef(ref);
    try {
      await resolver.use(ref, () => undefined);
      return { variable, reference, ok: true, code: undefined, reason: undefined };
    } catch (err) {
      const code: ErrorCode = isProbectlError(err) ? err.code : 'PROBECTL_ERR_SECRET_UNAVAILABLE';
      const reason = isProbectlError(err) ? err.message : 'resolution failed unexpectedly';
      return { variable, reference, ok: false, code, reason };
    }
  }));
}

/** Startup: every reference must resolve, or startup is refused naming each failing variable and its redacted reference. */
export async function resolveAtStartup(resolver: SecretResolver, refs: readonly ConfiguredReference[]): Promise<ReferenceCheck[]> {
  const results = await checkReferences(resolver, refs);
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) {
    const lines = failed.map((r) => `  ${r.variable} (${r.reference}): ${r.reason} [${r.code}]`);
    throw new ProbectlError(failed[0]?.code ?? 'PROBECTL_ERR_SECRET_UNAVAILABLE', `secret references could not be resolved, startup refused (${failed.length} of ${results.length}):\n${lines.join('\n')}`, {
      details: { failures: failed.map((r) => ({ variable: r.variable, reference: r.reference, code: r.code })) },
    });
  }
  return results;
}

/** `probectl secrets check` lines: `VARIABLE  reference  OK` or `… FAIL <reason>`. */
export function formatChecks(results: readonly ReferenceCheck[]): string[] {
  const width = Math.max(0, ...results.map((r) => r.variable.length));
  const refWidth = Math.max(0, ...results.map((r) => r.reference.length));
  return results.map((r) => `${r.variable.padEnd(width)}  ${r.reference.padEnd(refWidth)}  ${r.ok ? 'OK' : `FAIL ${r.code}: ${r.reason}`}`);
}
