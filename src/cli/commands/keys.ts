import type { Command } from 'commander';
import type { CliKit } from '../../integrations/types.ts';
import type { CliContext } from '../context.ts';

interface RotationReport {
  current_key: string;
  previous_key: string | null;
  resealed: number;
  sealed: number;
  tenants: Array<{ tenant: string; resealed: number; sealed: number }>;
}

/**
 * `probectl keys rotate` (docs/encryption.md): its route POST /v1/keys/rotate,
 * through the running server or the app in-process like every command.
 * Prints one line per tenant and the totals (`--json`: the route's answer).
 * `probectl keys new`: the embedded key file's rotation (secrets/encryption-key.ts newKeyFile).
 */
export function registerKeysCommands(program: Command, cli: CliKit, ctx: CliContext): void {
  const keys = program.command('keys').description('the encryption key of the payloads kept at rest (PROBECTL_ENCRYPTION_KEY)');
  keys.command('new')
    .description('embedded database: keep the data directory\'s key file as encryption-key.previous and write a new key into encryption-key (mode 0600); restart, then run `probectl keys rotate`')
    .action(() => {
      const done = ctx.newEncryptionKey(ctx.loadConfig(ctx.env));
      process.stdout.write(`new key ${done.current} written; the old key ${done.previous} is kept in ${done.previousFile}: restart the server, then run \`probectl keys rotate\`\n`);
    });
  keys.command('rotate')
    .description('re-encrypt every stored encrypted value under PROBECTL_ENCRYPTION_KEY (from PROBECTL_ENCRYPTION_KEY_PREVIOUS, or plaintext from before encryption), tenant by tenant; idempotent and resumable; needs provider-admin')
    .option('--tenant <id>', 'only this tenant (UUID)').option('--json', 'print JSON').option(...cli.tokenFileOption)
    .action(async (o: { tenant?: string; json?: boolean; tokenFile?: string }) => {
      const body = o.tenant === undefined ? {} : { tenant: cli.tenantArg(o.tenant) };
      const report = await cli.withApi(o, (api) => api.call<RotationReport>('POST', '/v1/keys/rotate', body));
      if (o.json) {
        cli.printJson(report);
        return;
      }
      for (const t of report.tenants) process.stdout.write(`tenant ${t.tenant}: ${t.resealed} re-encrypted, ${t.sealed} plaintext encrypted\n`);
      process.stdout.write(`rotated to key ${report.current_key}${report.previous_key ? ` (from ${report.previous_key})` : ''}: ${report.resealed} value(s) re-encrypted, ${report.sealed} plaintext value(s) encrypted in ${report.tenants.length} tenant(s)\n`);
    });
}
