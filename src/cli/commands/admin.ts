import type { Command } from 'commander';
import { ProbectlError } from '../../core/errors.ts';
import { isPermission, PERMISSIONS, type Permission } from '../../identity/permissions.ts';
import { nameArg, uuidArg } from '../../integrations/cli-args.ts';
import type { ChainVerdict } from '../../audit/chain.ts';
import type { Tenant } from '../../identity/tenants.ts';
import type { TokenInfo } from '../../identity/tokens.ts';
import type { CliKit } from '../../integrations/types.ts';

function parsePermissions(text: string): Permission[] {
  const items = text.split(',').map((p) => p.trim()).filter(Boolean);
  const bad = items.filter((p) => !isPermission(p));
  if (items.length === 0 || bad.length > 0) {
    throw new ProbectlError('PROBECTL_ERR_CLI_USAGE', `--permissions: ${bad.length ? `unknown permission ${bad.map((b) => JSON.stringify(b)).join(', ')}` : 'empty'}; accepted: a comma-separated list of ${PERMISSIONS.join(', ')}`);
  }
  return [...new Set(items)] as Permission[];
}

const q = (tenant: string) => `?tenant=${encodeURIComponent(tenant)}`;

/** `probectl tenant|token|audit …`: each operation is its API route (through the running server or the app in-process). */
export function registerAdminCommands(program: Command, cli: CliKit): void {
  const { tokenFileOption, printJson, printTable } = cli;

  const tenant = program.command('tenant').description('manage tenants (needs provider-admin when a server is running)');
  tenant.command('create').description('create a tenant; prints {"id","name"}')
    .requiredOption('--name <name>', 'tenant name').option(...tokenFileOption)
    .action(async (o: { name: string; tokenFile?: string }) => {
      const name = nameArg('--name', o.name);
      printJson(await cli.withApi(o, (api) => api.call<{ id: string; name: string }>('POST', '/v1/tenants', { name })));
    });
  tenant.command('list').description('list tenants').option('--json', 'print JSON').option(...tokenFileOption)
    .action(async (o: { json?: boolean; tokenFile?: string }) => {
      const { tenants } = await cli.withApi(o, (api) => api.call<{ tenants: Tenant[] }>('GET', '/v1/tenants'));
      if (o.json) printJson({ tenants });
      else printTable(tenants as unknown as Record<string, unknown>[], ['id', 'name', 'provider', 'created_at']);
    });

  const token = program.command('token').description('manage API tokens');
  token.command('create').description('create a token; prints the token alone (shown once)')
    .requiredOption('--tenant <id>', 'tenant UUID').requiredOption('--permissions <list>', `comma-separated: ${PERMISSIONS.join(',')}`)
    .option('--name <name>', 'token name', 'cli-token').option(...tokenFileOption)
    .action(async (o: { tenant: string; permissions: string; name: string; tokenFile?: string }) => {
      const tenantId = uuidArg('--tenant', o.tenant);
      const permissions = parsePermissions(o.permissions);
      const name = nameArg('--name', o.name);
      const created = await cli.withApi(o, (api) => api.call<{ id: string; token: string }>('POST', '/v1/tokens', { tenant: tenantId, permissions, name }));
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(`probectl: token ${created.id} created\n`);
    });
  token.command('list').description('list a tenant\'s tokens (never their values)').requiredOption('--tenant <id>', 'tenant UUID')
    .option('--json', 'print JSON').option(...tokenFileOption)
    .action(async (o: { tenant: string; json?: boolean; tokenFile?: string }) => {
      const tenantId = uuidArg('--tenant', o.tenant);
      const { tokens } = await cli.withApi(o, (api) => api.call<{ tokens: TokenInfo[] }>('GET', `/v1/tokens${q(tenantId)}`));
      if (o.json) printJson({ tokens });
      else printTable(tokens as unknown as Record<string, unknown>[], ['id', 'name', 'permissions', 'created_at', 'revoked_at']);
    });
  token.command('revoke').description('revoke a token').argument('<id>', 'token id').option(...tokenFileOption)
    .action(async (id: string, o: { tokenFile?: string }) => {
      const tokenId = uuidArg('<id>', id);
      const { changed } = await cli.withApi(o, (api) => api.call<{ changed: boolean }>('DELETE', `/v1/tokens/${encodeURIComponent(tokenId)}`));
      printJson({ id: tokenId, revoked: true, changed });
    });

  const audit = program.command('audit').description('the tamper-evident audit log');
  audit.command('verify').description('recompute a tenant\'s hash chain; exits non-zero naming the first broken seq')
    .requiredOption('--tenant <id>', 'tenant UUID').option(...tokenFileOption)
    .action(async (o: { tenant: string; tokenFile?: string }) => {
      const tenantId = uuidArg('--tenant', o.tenant);
      const verdict = await cli.withApi(o, (api) => api.call<ChainVerdict>('GET', `/v1/audit/verify${q(tenantId)}`));
      if (verdict.ok) {
        process.stdout.write(`audit chain OK: ${verdict.count} record(s), head seq ${verdict.head.seq} hash ${verdict.head.hash}\n`);
        return;
      }
      throw new ProbectlError('PROBECTL_ERR_AUDIT_CHAIN_BROKEN', `audit chain of tenant ${o.tenant} is BROKEN at seq ${verdict.seq}: ${verdict.reason}`);
    });
}
