import type { ConfigProblem } from './section.ts';

/**
 * Every PROBECTL_* variable of `env` that is not a known one, a dynamic family
 * (`patterns`) or a test/bench harness variable: a problem each, suggesting
 * the closest known name (edit distance below 4).
 */
export function unknownVariables(env: NodeJS.ProcessEnv, known: ReadonlySet<string>, patterns: readonly RegExp[], ignoredPrefixes: readonly string[], problems: ConfigProblem[]): void {
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('PROBECTL_') || known.has(name)) continue;
    if (ignoredPrefixes.some((p) => name.startsWith(p))) continue;
    if (patterns.some((re) => re.test(name))) continue;
    const hint = closest(name, [...known]);
    problems.push({ variable: name, problem: `unknown variable${hint ? ` (did you mean ${hint}?)` : ''}`, accepts: 'a variable listed in docs/configuration.md' });
  }
}

function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] as number;
}

