import { CommanderError } from 'commander';
import type { CliContext } from './context.ts';
import { reportError } from './output.ts';
import { buildProgram } from './program.ts';

/** Runs `probectl <argv>`; returns the exit status (2 for usage errors). */
export async function runCli(ctx: CliContext, argv: string[]): Promise<number> {
  try {
    await buildProgram(ctx).parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    return reportError(err);
  }
}
