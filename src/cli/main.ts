#!/usr/bin/env node
import { CommanderError } from 'commander';
import { buildProgram } from './program.ts';
import { reportError } from './output.ts';

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    return reportError(err);
  }
}

process.exitCode = await main(process.argv);
