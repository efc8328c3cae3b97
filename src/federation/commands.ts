import type { Command } from 'commander';
import { ProbectlError } from '../core/errors.ts';
import type { CliKit } from '../integrations/types.ts';
import { enforceMatchSelector, enforceQuery } from './enforce/enforce.ts';
import { isConstant, QueryRefusedError } from './enforce/types.ts';
import { scopeQuery } from './upstream/promql.ts';

/** What `check-query` prints for the tenant when none is given. */
export const TENANT_PLACEHOLDER = '<your-tenant>';

/**
 * `probectl metrics check-query '<query>'`: the query exactly as probectl would
 * run it (tenant enforced), or the refusal Grafana and Prometheus would get
 * (exit status 1). Pure: it reads no database and reaches no server.
 */
export function registerMetricsCommands(metrics: Command, cli: CliKit): void {
  metrics.command('check-query')
    .description('print the query as probectl runs it — tenant_id matchers replaced by the tenant\'s — or why it is refused')
    .argument('<query>', 'a plain series selector (name{label="value"}, optionally [range], offset, @) or a constant number expression')
    .option('--tenant <id>', `the tenant UUID to enforce (default: the placeholder ${TENANT_PLACEHOLDER})`)
    .option('--match', 'check it as a match[] selector (series, labels, federate): no range, offset, @ or constant')
    .option('--upstream', 'check it as upstream mode does (PROBECTL_METRICS_UPSTREAM_URL): full PromQL, every selector tenant-scoped')
    .option('--json', 'print JSON: the enforced query and its structure')
    .action((query: string, o: { tenant?: string; match?: boolean; upstream?: boolean; json?: boolean }) => {
      // A control character other than PromQL's whitespace cannot be part of any query: the argument itself is wrong.
      if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(query)) {
        throw new ProbectlError('PROBECTL_ERR_CLI_USAGE', '<query>: contains a control character; accepted: a PromQL series selector such as up{job="node"} or a constant number expression');
      }
      const tenant = o.tenant === undefined ? TENANT_PLACEHOLDER : cli.tenantArg(o.tenant);
      if (o.upstream && !o.match) {
        const u = scopeQuery(query, tenant);
        if (o.json) cli.printJson({ query: u.query, kind: 'promql', selectors: u.selectors });
        else process.stdout.write(`${u.query}\n`);
        return;
      }
      if (o.match) {
        const m = enforceMatchSelector(query, tenant);
        if (o.json) cli.printJson({ query: m.query, kind: 'selector', selector: m.selector });
        else process.stdout.write(`${m.query}\n`);
        return;
      }
      const q = withUpstreamHint(() => enforceQuery(query, tenant), (cli.env.PROBECTL_METRICS_UPSTREAM_URL ?? '') !== '');
      if (o.json) cli.printJson({ query: q.query, kind: isConstant(q.expr) ? 'constant' : 'selector', ...(isConstant(q.expr) ? { value: q.query } : { selector: q.expr }) });
      else process.stdout.write(`${q.query}\n`);
    });
}

/**
 * An operator in upstream mode who leaves out `--upstream` would read the embedded store's
 * "plain selectors only" refusal for a query the server accepts: say what to check instead.
 */
function withUpstreamHint<T>(check: () => T, upstreamConfigured: boolean): T {
  try {
    return check();
  } catch (err) {
    if (!upstreamConfigured || !(err instanceof QueryRefusedError)) throw err;
    throw new QueryRefusedError(err.reason, `${err.message} (this checks the embedded store's rules; PROBECTL_METRICS_UPSTREAM_URL is set, and upstream mode accepts full PromQL: add --upstream)`);
  }
}
