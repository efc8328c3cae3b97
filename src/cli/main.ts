#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.ts';
import { registerAdminCommands } from './commands/admin.ts';
import { registerSecretsCommands } from './commands/secrets.ts';
import { registerServerCommands } from './commands/server.ts';
import { registerSiemCommands } from './commands/siem.ts';
import { reportError } from './output.ts';

export function buildProgram(): Command {
  const program = new Command('probectl')
    .description('probectl — the ecosystem-integration plane of a multi-tenant network observability control plane.\nAll settings are PROBECTL_* environment variables (see docs/configuration.md).')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  registerServerCommands(program);
  registerAdminCommands(program);
  registerSecretsCommands(program);
  registerSiemCommands(program);
  return program;
}

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
