import { ProbectlError } from '../core/errors.ts';
import { redactRef, type SecretRef } from './ref.ts';

/** Resolves the references that need no backend: literals and environment variables. */
export function resolveLocal(variable: string, ref: SecretRef, env: NodeJS.ProcessEnv = process.env): string {
  if (ref.scheme === 'literal') return ref.value;
  if (ref.scheme === 'env') {
    const value = env[ref.name];
    if (value === undefined || value === '') throw new ProbectlError('PROBECTL_ERR_CONFIG_INVALID', `${variable}: ${redactRef(ref)} is not set`);
    return value;
  }
  throw new ProbectlError('PROBECTL_ERR_CONFIG_INVALID', `${variable}: ${redactRef(ref)}: the ${ref.scheme} secret backend is not available`);
}
