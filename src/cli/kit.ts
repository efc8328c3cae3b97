import { existsSync } from 'node:fs';
import { ProbectlError } from '../core/errors.ts';
import { uuidArg } from '../integrations/cli-args.ts';
import type { ApiClient, CliKit } from '../integrations/types.ts';
import { dataPaths, lockHolder } from '../store/datadir.ts';
import type { CliContext } from './context.ts';
import { ControlClient } from './control-client.ts';
import { InProcessApi } from './in-process-api.ts';
import { printJson, printTable } from './output.ts';

export const TOKEN_FILE_OPTION = ['--token-file <path>', 'admin token used to reach the API (default: <data dir>/admin-token)'] as const;

/**
 * With the embedded database, a running server owns the files: the CLI goes
 * through its control socket. Otherwise (no server, or PostgreSQL) it opens
 * the same app in this process, migrated and bootstrapped exactly as the
 * server would, and calls its routes. Either way every operation is its route.
 */
async function openApi(ctx: CliContext, tokenFile: string | undefined): Promise<{ api: ApiClient; close(): Promise<void> }> {
  const config = ctx.loadConfig(ctx.env);
  const paths = dataPaths(config.dataDir);
  const holder = config.databaseUrl ? undefined : lockHolder(config.dataDir);
  if (holder !== undefined) {
    if (!existsSync(paths.controlSocket)) {
      throw new ProbectlError('PROBECTL_ERR_DATA_DIR_LOCKED', `a probectl server (pid ${holder}) holds ${config.dataDir} and its control socket is missing; stop it or use its HTTPS API`);
    }
    return { api: new ControlClient(paths.controlSocket, tokenFile ?? paths.adminToken), close: async () => {} };
  }
  const opened = await ctx.openInProcessApp(config);
  try {
    const api = new InProcessApi(tokenFile ? { ...opened, adminTokenFile: tokenFile } : opened);
    return { api, close: () => opened.close() };
  } catch (err) {
    await opened.close();
    throw err;
  }
}

/** The CliKit the integrations' commands (and the CLI's own) use. */
export function cliKit(ctx: CliContext): CliKit {
  return {
    async withApi(opts, fn) {
      const { api, close } = await openApi(ctx, opts.tokenFile);
      try {
        return await fn(api);
      } finally {
        await close();
      }
    },
    tokenFileOption: TOKEN_FILE_OPTION,
    printJson,
    printTable,
    tenantArg: (value, flag = '--tenant') => uuidArg(flag, value),
    env: ctx.env,
  };
}
