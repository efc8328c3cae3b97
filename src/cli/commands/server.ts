import type { Command } from 'commander';
import { configError, type ConfigProblem } from '../../config/section.ts';
import { ProbectlError } from '../../core/errors.ts';
import type { CliContext } from '../context.ts';

export function registerServerCommands(program: Command, ctx: CliContext): void {
  program.command('serve').description('run the API server and background work until SIGTERM/SIGINT')
    .action(async () => {
      const config = ctx.loadConfig(ctx.env);
      const server = await ctx.startServer(config);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          server.log.info({ signal }, 'shutting down: no new requests; finishing in-flight work');
          const timer = setTimeout(() => {
            server.log.error('shutdown timeout reached; forcing connections closed');
            server.closeAllConnections();
          }, config.shutdownTimeout);
          timer.unref();
          void server.close().then(() => {
            server.log.info({}, 'stopped cleanly');
            resolve();
          }, (err: unknown) => {
            process.stderr.write(`probectl: shutdown error: ${(err as Error).message}\n`);
            process.exitCode = 1;
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });

  program.command('migrate').description('apply pending database migrations and exit')
    .action(async () => {
      const report = await ctx.migrate(ctx.loadConfig(ctx.env));
      process.stdout.write(report.applied.length ? `applied: ${report.applied.join(', ')}\n` : `up to date at migration ${report.current}\n`);
    });

  const config = program.command('config').description('configuration');
  config.command('check').description('print the effective configuration with secrets masked; exits non-zero on errors')
    .action(async () => {
      let parsed;
      try {
        parsed = ctx.loadConfig(ctx.env);
      } catch (err) {
        if (err instanceof ProbectlError && err.code === 'PROBECTL_ERR_CONFIG_INVALID') {
          // The same problems, worded for a check rather than a refused start.
          const problems = (err.details?.problems ?? []) as ConfigProblem[];
          process.stderr.write(`probectl: ${problems.length > 0 ? configError(problems, 'config check failed').message : err.message}\n`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
      process.stdout.write(ctx.renderEffectiveConfig(parsed));
      process.stdout.write('configuration OK\n');
    });
}
