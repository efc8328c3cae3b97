import { isProbectlError } from '../core/errors.ts';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  const cells = rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? '-' : Array.isArray(r[c]) ? (r[c] as unknown[]).join(',') : String(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] as number)).join('  ').trimEnd();
  process.stdout.write(`${[line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n')}\n`);
}

/**
 * Prints an error the way every command does and returns the exit code (2 for
 * a usage error, 1 otherwise). The code is shown once: appended, unless the
 * message already names it (a startup refusal lists each failure's code).
 */
export function reportError(err: unknown): number {
  if (isProbectlError(err)) {
    const tag = `[${err.code}]`;
    process.stderr.write(`probectl: ${err.message}${err.message.includes(tag) ? '' : ` ${tag}`}\n`);
    return err.code === 'PROBECTL_ERR_CLI_USAGE' ? 2 : 1;
  }
  process.stderr.write(`probectl: unexpected error: ${(err as Error)?.message ?? String(err)}\n`);
  return 1;
}
