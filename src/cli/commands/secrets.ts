import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { buildSecretResolver } from '../../secrets/setup.ts';
import { checkReferences, configReferences, formatChecks } from '../../secrets/startup.ts';

export function registerSecretsCommands(program: Command): void {
  const secrets = program.command('secrets').description('secret references');
  secrets.command('check')
    .description('resolve every secret reference in the configuration once; one line per variable, OK or FAIL <reason>, references redacted; exits non-zero if any fails')
    .action(async () => {
      const config = loadConfig();
      const refs = configReferences(config);
      if (refs.length === 0) {
        process.stdout.write('no secret references in the configuration\n');
        return;
      }
      const resolver = buildSecretResolver(config);
      try {
        const results = await checkReferences(resolver, refs);
        process.stdout.write(`${formatChecks(results).join('\n')}\n`);
        const failed = results.filter((r) => !r.ok).length;
        process.stdout.write(failed === 0 ? `all ${results.length} reference(s) resolved\n` : `${failed} of ${results.length} reference(s) failed\n`);
        if (failed > 0) process.exitCode = 1;
      } finally {
        await resolver.close();
      }
    });
}
