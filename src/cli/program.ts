import { Command } from 'commander';
import { VERSION } from '../version.ts';
import { registerAdminCommands } from './commands/admin.ts';
import { registerKeysCommands } from './commands/keys.ts';
import { registerSecretsCommands } from './commands/secrets.ts';
import { registerServerCommands } from './commands/server.ts';
import type { CliContext } from './context.ts';
import { cliKit } from './kit.ts';

function usageLine(text: string): string {
  const [first = '', ...rest] = text.replace(/^error: /, '').split('\n');
  return [`probectl: ${first.trimEnd()} [PROBECTL_ERR_CLI_USAGE]`, ...rest].join('\n');
}

/**
 * The `probectl` command tree — the CLI's own commands, then one command per
 * integration (`probectl <name> …`) from the registry. Parsing throws
 * CommanderError (exitOverride) instead of exiting.
 */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('probectl')
    .description('probectl — the ecosystem-integration plane of a multi-tenant network observability control plane.\nAll settings are PROBECTL_* environment variables (see docs/configuration.md).')
    .version(VERSION)
    .showHelpAfterError()
    // Commander's own usage errors (unknown option, missing value, a value outside .choices()) read like ours:
    // they name the flag, list what is accepted (then the command's help) and end in the code; exit status 2.
    .configureOutput({ outputError: (text, write) => write(usageLine(text)) })
    .exitOverride();
  const kit = cliKit(ctx);
  registerServerCommands(program, ctx);
  registerAdminCommands(program, kit);
  registerSecretsCommands(program, ctx);
  registerKeysCommands(program, kit, ctx);
  for (const integration of ctx.integrations) {
    if (integration.commands) integration.commands(program.command(integration.name).description(integration.description), kit);
    integration.rootCommands?.(program, kit);
  }
  return program;
}
