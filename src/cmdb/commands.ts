import type { Command } from 'commander';
import { ProbectlError } from '../core/errors.ts';
import type { CiAnswer } from '../incidents/configuration-items.ts';
import type { CliKit } from '../integrations/types.ts';
import { cmdbKey } from './keys.ts';

/**
 * `probectl cmdb lookup <key>`: GET /v1/cmdb/lookup through the running
 * server or the same app in-process (CliKit.withApi); one line per CI, or
 * JSON. A stale answer says so on stderr; a CMDB outage with nothing cached
 * is the API's 503 (exit status 1).
 */
export function registerCmdbCommands(cmdb: Command, cli: CliKit): void {
  cmdb.command('lookup')
    .description('the CMDB\'s configuration items of an IP address, host name, FQDN or URL')
    .argument('<key>', 'an IPv4/IPv6 address, a host name or FQDN, or a URL naming one')
    .option('--json', 'print JSON').option(...cli.tokenFileOption)
    .action(async (key: string, o: { json?: boolean; tokenFile?: string }) => {
      // Checked before anything is opened: a key the API would refuse is a usage error here.
      if (!cmdbKey(key)) throw new ProbectlError('PROBECTL_ERR_CLI_USAGE', '<key>: not an IP address, a host name, an FQDN or a URL naming one; accepted: 10.0.0.1, 2001:db8::1, web01, web01.example.com, https://web01.example.com:8443/');
      const answer = await cli.withApi(o, (api) => api.call<CiAnswer & { key: string }>('GET', `/v1/cmdb/lookup?key=${encodeURIComponent(key)}`));
      if (o.json) return cli.printJson(answer);
      if (answer.state === 'stale') process.stderr.write(`probectl: the CMDB failed (${answer.reason}); showing its answer of ${answer.fetched_at}\n`);
      if (answer.items.length === 0) process.stdout.write(`no configuration item for ${answer.key}\n`);
      else cli.printTable(answer.items.map((i) => ({ ...i, ips: i.ips.join(' ') })), ['name', 'class', 'ips', 'owner', 'location', 'status', 'link']);
    });
}
