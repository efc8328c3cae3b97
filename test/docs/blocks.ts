/**
 * The shell examples of the operator documentation, as the docs test runs
 * them: every ```sh (or bash, shell) block of a page, in order, unless the
 * line above its fence is a reviewed skip marker
 * `<!-- docs-test: skip <category>: <reason> -->`.
 */

/** Why a block may be left unrun; a new reason needs a new category here, reviewed like code. */
export const SKIP_CATEGORIES = {
  external: 'needs a service or program that cannot run on this machine (a real Vault, Splunk, a cloud CLI)',
  'long-running': 'installs, serves in the foreground, or runs a suite, benchmark or demo that the test suite runs by itself',
} as const;
export type SkipCategory = keyof typeof SKIP_CATEGORIES;

export interface Expectation {
  /** Index of the block line of the command whose output is expected (its first line when continued with `\`). */
  readonly commandLine: number;
  /** Index of the first `# → ` line. */
  readonly firstLine: number;
  readonly lines: readonly string[];
}

export interface Block {
  readonly file: string;
  /** 1-based line of the opening fence in the page. */
  readonly fenceLine: number;
  readonly lines: readonly string[];
  readonly skip: { readonly category: SkipCategory; readonly reason: string } | undefined;
  /** Every non-comment line assigns a PROBECTL_* variable: a configuration fragment. */
  readonly fragment: boolean;
  readonly expectations: readonly Expectation[];
}

const FENCE_OPEN = /^(\s*)```\s*([A-Za-z]*)\s*$/;
const FENCE_CLOSE = /^\s*```\s*$/;
const SHELL = new Set(['sh', 'bash', 'shell']);
const MARKER = /^<!-- docs-test: skip ([a-z-]+): (.+?) -->$/;
const EXPECT = /^# → (.*)$/;
const ASSIGNMENT = /^(?:export\s+)?(PROBECTL_[A-Z0-9_]+)=/;

/** The shell blocks of one page, and every problem with its markers and expectations. */
export function shellBlocks(file: string, markdown: string): { blocks: Block[]; problems: string[] } {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  const problems: string[] = [];
  const markerUsed = new Set<number>();
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE_OPEN.exec(lines[i] as string);
    if (!open) continue;
    const indent = (open[1] as string).length;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !FENCE_CLOSE.test(lines[j] as string)) body.push((lines[j] as string).slice(indent)), j++;
    if (j >= lines.length) problems.push(`${file}:${i + 1}: a fence that is never closed`);
    const lang = (open[2] as string).toLowerCase();
    if (SHELL.has(lang)) {
      const marker = MARKER.exec((lines[i - 1] ?? '').trim());
      let skip: Block['skip'];
      if (marker) {
        markerUsed.add(i - 1);
        const category = marker[1] as string;
        if (!(category in SKIP_CATEGORIES)) problems.push(`${file}:${i}: unknown skip category "${category}"; known: ${Object.keys(SKIP_CATEGORIES).join(', ')}`);
        else skip = { category: category as SkipCategory, reason: marker[2] as string };
      }
      const { expectations, problems: expectProblems } = expectationsOf(body);
      problems.push(...expectProblems.map((p) => `${file}:${i + 1 + p.line + 1}: ${p.problem}`));
      const code = body.filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
      blocks.push({ file, fenceLine: i + 1, lines: body, skip, fragment: code.length > 0 && code.every((l) => ASSIGNMENT.test(l)), expectations });
    }
    i = j;
  }
  lines.forEach((l, n) => {
    if (l.trim().startsWith('<!-- docs-test') && !markerUsed.has(n)) problems.push(`${file}:${n + 1}: a docs-test marker must be <!-- docs-test: skip <category>: <reason> --> on the line right above a sh block`);
  });
  return { blocks, problems };
}

function expectationsOf(body: readonly string[]): { expectations: Expectation[]; problems: Array<{ line: number; problem: string }> } {
  const expectations: Expectation[] = [];
  const problems: Array<{ line: number; problem: string }> = [];
  for (let k = 0; k < body.length; k++) {
    if (!EXPECT.test(body[k] as string)) continue;
    const first = k;
    const expected: string[] = [];
    while (k < body.length && EXPECT.test(body[k] as string)) expected.push((EXPECT.exec(body[k] as string) as RegExpExecArray)[1] as string), k++;
    k -= 1;
    let command = first - 1;
    const above = (body[command] ?? '').trim();
    if (command < 0 || above === '' || above.startsWith('#')) {
      problems.push({ line: first, problem: 'expected output (# → …) must follow the command that prints it' });
      continue;
    }
    while (command > 0 && (body[command - 1] as string).trimEnd().endsWith('\\')) command -= 1;
    expectations.push({ commandLine: command, firstLine: first, lines: expected });
  }
  return { expectations, problems };
}

/** Marks written around an expected command's output on stdout (a control character never printed by an example). */
export const OUTPUT_MARK = '\u001e';

/**
 * The block as a bash file to `source`: line n of the file is line
 * fenceLine + n - 1 of the page (line 1 stands for the fence). A fragment runs
 * in a subshell so its assignments stay in it; an expected command's stdout is
 * framed by OUTPUT_MARK lines, written on the lines the block already has.
 */
export function blockScript(block: Block, index: number): string {
  const lines = [...block.lines];
  block.expectations.forEach((e, n) => {
    const id = `${index}.${n}`;
    lines[e.commandLine] = `printf '${OUTPUT_MARK}begin ${id}${OUTPUT_MARK}\\n'; ${lines[e.commandLine] as string}`;
    lines[e.firstLine] = `printf '${OUTPUT_MARK}end ${id}${OUTPUT_MARK}\\n'`;
  });
  return [block.fragment ? '(' : ':', ...lines, block.fragment ? ')' : ':', ''].join('\n');
}

/** The stdout of each expected command, by its id, from a page run's stdout. */
export function framedOutputs(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = new RegExp(`${OUTPUT_MARK}begin ([0-9.]+)${OUTPUT_MARK}\\n([\\s\\S]*?)${OUTPUT_MARK}end \\1${OUTPUT_MARK}`, 'g');
  for (const m of stdout.matchAll(re)) out.set(m[1] as string, m[2] as string);
  return out;
}

const squeeze = (s: string): string => s.trim().replace(/\s+/g, ' ');

/** Whether every expected line matches an output line, in order (`…` is any text; runs of spaces compare equal). */
export function missingLines(expected: readonly string[], output: string): string[] {
  const outLines = output.split('\n').map(squeeze);
  const missing: string[] = [];
  let from = 0;
  for (const line of expected) {
    const pattern = new RegExp(`^${squeeze(line).split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    const at = outLines.findIndex((l, n) => n >= from && pattern.test(l));
    if (at < 0) missing.push(line);
    else from = at + 1;
  }
  return missing;
}

/** The PROBECTL_* names a fragment assigns. */
export function fragmentNames(block: Block): string[] {
  return block.lines.map((l) => ASSIGNMENT.exec(l)?.[1]).filter((n): n is string => n !== undefined);
}
