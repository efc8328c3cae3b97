import { ProbectlError } from '../../core/errors.ts';
import type { FetchedSecret, SecretBackend } from '../backend.ts';
import type { SecretRef } from '../ref.ts';

/**
 * `env:NAME`: the value of another environment variable, read at each fetch
 * (so a supervisor that rewrites the environment of a re-exec is honoured).
 * An unset or empty variable is an error, never an empty secret.
 */
export class EnvBackend implements SecretBackend {
  readonly scheme = 'env' as const;
  readonly #env: NodeJS.ProcessEnv;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.#env = env;
  }

  async fetch(ref: SecretRef): Promise<FetchedSecret> {
    if (ref.scheme !== 'env') throw new ProbectlError('PROBECTL_ERR_SECRET_REF_INVALID', 'the env backend was handed a reference of another scheme');
    const value = this.#env[ref.name];
    if (value === undefined || value === '') throw new ProbectlError('PROBECTL_ERR_SECRET_NOT_FOUND', 'the referenced environment variable is not set or empty');
    return { value: Buffer.from(value, 'utf8') };
  }
}
