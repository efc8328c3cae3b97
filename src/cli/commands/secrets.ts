import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

export function registerSecretsCommands(program: Command, ctx: CliContext): void {
  const secrets = program.command('secrets').description('secret references');
  secrets.command('check')
    .description('resolve every secret reference in the configuration once; one line per variable, OK or FAIL <reason>, references redacted; exits non-zero if any fails')
    .action(async () => {
      const { lines, failed, total } = await ctx.checkSecrets(ctx.loadConfig(ctx.env));
      if (total === 0) {
        process.stdout.write('no secret references in the configuration\n');
        return;
      }
      process.stdout.write(`${lines.join('\n')}\n`);
      process.stdout.write(failed === 0 ? `all ${total} reference(s) resolved\n` : `${failed} of ${total} reference(s) failed\n`);
      if (failed > 0) process.exitCode = 1;
    });
}
