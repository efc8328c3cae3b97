import { ProbectlError } from '../core/errors.ts';
import { VarProblem, type VarSpec } from './vars.ts';

export type Vars = Record<string, VarSpec<unknown>>;
export type SectionValue<V extends Vars> = { readonly [K in keyof V]: V[K] extends VarSpec<infer T> ? T : never };

export interface ConfigProblem {
  readonly variable: string;
  readonly problem: string;
  readonly accepts: string;
  /**
   * Other variables this finding was judged against (a cross-check): when one
   * of them is itself invalid the finding is withheld, since it may be wrong.
   */
  readonly depends?: readonly string[];
}

/**
 * Reads every variable of a section, collecting problems instead of stopping at
 * the first. A non-secret value is quoted in its problem to help the operator;
 * a secret one never is.
 */
export function readSection<V extends Vars>(env: NodeJS.ProcessEnv, vars: V, problems: ConfigProblem[]): SectionValue<V> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(vars)) {
    const raw = env[spec.name];
    try {
      out[key] = spec.parse(raw);
    } catch (err) {
      if (!(err instanceof VarProblem)) throw err;
      const shown = spec.secret || raw === undefined ? '' : ` (got ${JSON.stringify(truncate(withoutCredentials(raw)))})`;
      problems.push({ variable: spec.name, problem: `${err.message}${shown}`, accepts: spec.accepts });
    }
  }
  return out as SectionValue<V>;
}

/**
 * A non-secret value as it may be quoted: a refused URL is often refused *because* it carries
 * credentials (`https://user:password@vault…`, `?token=…`), so the user-info part and every
 * query value are replaced by `[redacted]` before the value is shown.
 */
export function withoutCredentials(text: string): string {
  return text
    .replace(/(^|\/\/)[^/?#@\s]*@/g, '$1[redacted]@')
    .replace(/([?&][^=&#]*=)[^&#]*/g, '$1[redacted]');
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * One error naming every problem: `invalid configuration, <refused> (n problems):`
 * then one `VARIABLE: problem; accepted: …` line each. `refused` says what was
 * refused (startup, by default; a command that only reads the configuration
 * names itself).
 */
export function configError(problems: readonly ConfigProblem[], refused = 'startup refused'): ProbectlError {
  const lines = problems.map((p) => `  ${p.variable}: ${p.problem}; accepted: ${p.accepts}`);
  return new ProbectlError(
    'PROBECTL_ERR_CONFIG_INVALID',
    `invalid configuration, ${refused} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    { details: { problems: problems.map((p) => ({ ...p })) } },
  );
}
