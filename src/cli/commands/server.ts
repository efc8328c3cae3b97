import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { renderEffectiveConfig } from '../../config/render.ts';
import { ProbectlError } from '../../core/errors.ts';
import { openConfiguredStore, startService } from '../../service.ts';
import { lockDataDir } from '../../store/datadir.ts';
import { migrate } from '../../store/migrate.ts';

export function registerServerCommands(program: Command): void {
  program.command('serve').description('run the API server and background work until SIGTERM/SIGINT')
    .action(async () => {
      const config = loadConfig();
      const service = await startService(config);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          service.deps.log.info({ signal }, 'shutting down: no new requests; finishing in-flight work');
          const timer = setTimeout(() => {
            service.deps.log.error('shutdown timeout reached; forcing connections closed');
            service.app.server.closeAllConnections();
          }, config.shutdownTimeout);
          timer.unref();
          void service.close().then(() => {
            service.deps.log.info('stopped cleanly');
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
      const config = loadConfig();
      const lock = config.databaseUrl ? undefined : lockDataDir(config.dataDir, 'migrate (the running server already migrated it at start)');
      try {
        const db = await openConfiguredStore(config);
        try {
          const report = await migrate(db);
          process.stdout.write(report.applied.length ? `applied: ${report.applied.join(', ')}\n` : `up to date at migration ${report.current}\n`);
        } finally {
          await db.close();
        }
      } finally {
        lock?.release();
      }
    });

  const config = program.command('config').description('configuration');
  config.command('check').description('print the effective configuration with secrets masked; exits non-zero on errors')
    .action(async () => {
      let parsed;
      try {
        parsed = loadConfig();
      } catch (err) {
        if (err instanceof ProbectlError && err.code === 'PROBECTL_ERR_CONFIG_INVALID') {
          process.stderr.write(`probectl: ${err.message}\n`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
      process.stdout.write(renderEffectiveConfig(parsed));
      process.stdout.write('configuration OK\n');
    });
}
