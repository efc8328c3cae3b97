import { ProbectlError } from '../core/errors.ts';
import { describeTextProblem, textProblem } from '../core/json-input.ts';

const MAX_SHOWN = 40;

function shown(name: string): string {
  return JSON.stringify(name.length > MAX_SHOWN ? `${name.slice(0, MAX_SHOWN)}…` : name);
}

function decodeComponent(part: string, what: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    throw new ProbectlError('PROBECTL_ERR_VALIDATION', `${what} is not valid percent-encoded UTF-8`);
  }
}

/**
 * The URL half of the boundary check (the body half is src/core/json-input.ts):
 * every query parameter name and value must be valid percent-encoded UTF-8,
 * and no query or path parameter may contain NUL or a lone surrogate, which
 * PostgreSQL refuses (a 500 otherwise) or which would be stored changed.
 *
 * @param url the request target as received (`/v1/x?a=1`)
 * @param params path parameters as decoded by the router
 * @throws ProbectlError PROBECTL_ERR_VALIDATION naming the parameter
 */
export function checkUrlInput(url: string, params: unknown): void {
  const q = url.indexOf('?');
  if (q >= 0) {
    for (const pair of url.slice(q + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const name = decodeComponent(eq >= 0 ? pair.slice(0, eq) : pair, 'a query parameter name');
      const value = decodeComponent(eq >= 0 ? pair.slice(eq + 1) : '', `query parameter ${shown(name)}`);
      const nameProblem = textProblem(name);
      if (nameProblem) throw new ProbectlError('PROBECTL_ERR_VALIDATION', `query parameter name ${shown(name)} ${describeTextProblem(nameProblem)}`);
      const problem = textProblem(value);
      if (problem) throw new ProbectlError('PROBECTL_ERR_VALIDATION', `query parameter ${shown(name)} ${describeTextProblem(problem)}`);
    }
  }
  if (params && typeof params === 'object') {
    for (const [name, value] of Object.entries(params as Record<string, unknown>)) {
      const problem = typeof value === 'string' ? textProblem(value) : undefined;
      if (problem) throw new ProbectlError('PROBECTL_ERR_VALIDATION', `path parameter ${shown(name)} ${describeTextProblem(problem)}`);
    }
  }
}
