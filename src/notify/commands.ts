import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { ProbectlError } from '../core/errors.ts';
import { uuidArg } from '../integrations/cli-args.ts';
import type { CliKit } from '../integrations/types.ts';
import type { FailedOperation, IncidentLink, NotifyStatus, TestStep } from './admin.ts';
import { INBOUND_ID } from './config/connectors.ts';
import { INBOUND_BODY_LIMIT } from './inbound/route.ts';

const CONNECTOR_ID = /^[a-z][a-z0-9_.-]{0,63}$/;
const q = (tenant: string | undefined) => (tenant === undefined ? '' : `?tenant=${encodeURIComponent(tenant)}`);
const TENANT_OPTION = ['--tenant <id>', 'tenant UUID (default: the token\'s own tenant; another tenant needs provider-admin)'] as const;
const tenantOf = (o: { tenant?: string }) => (o.tenant === undefined ? undefined : uuidArg('--tenant', o.tenant));
/** The `tenant` field of a request body: absent for the token's own tenant. */
const tenantField = (tenant: string | undefined) => (tenant === undefined ? {} : { tenant });

function usage(flag: string, problem: string, accepts: string): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_CLI_USAGE', `${flag}: ${problem}; accepted: ${accepts}`);
}

function connectorArg(value: string): string {
  if (!CONNECTOR_ID.test(value)) throw usage('--connector', 'not a connector id', 'an id from probectl notify status, such as pagerduty-3f2a9c1b7d');
  return value;
}

function inboundIdArg(value: string): string {
  if (!INBOUND_ID.test(value)) throw usage('--id', 'not an inbound webhook id', 'the id of a PROBECTL_NOTIFY_INBOUND entry: letters, digits, ".", "_", "-"');
  return value;
}

/** The body to sign: the file's bytes (at most the inbound limit, UTF-8), read before anything is opened. */
function bodyFileArg(path: string): string {
  let bytes: Buffer;
  try {
    if (statSync(path).size > INBOUND_BODY_LIMIT) throw usage('--file', `larger than ${INBOUND_BODY_LIMIT} bytes`, 'a JSON file of at most 256 KiB');
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof ProbectlError) throw err;
    throw usage('--file', 'cannot be read', 'a path to a readable JSON file');
  }
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw usage('--file', 'not UTF-8', 'a UTF-8 JSON file');
  return text;
}

const stepText = (s: TestStep) => `${s.outcome}${s.ref ? ` (ref ${s.ref})` : ''}${s.reason ? `: ${s.reason}` : ''}`;

/**
 * `probectl notify status|test|links|failed list|failed retry`: each is its API
 * route, through the running server or the same app in-process.
 */
export function registerNotifyCommands(notify: Command, cli: CliKit): void {
  const { tokenFileOption, printJson, printTable } = cli;

  notify.command('status').description('a tenant\'s connectors (state, last success, failures, why it pauses or retries) and inbound webhooks')
    .option(...TENANT_OPTION).option('--json', 'print JSON').option(...tokenFileOption)
    .action(async (o: { tenant?: string; json?: boolean; tokenFile?: string }) => {
      const tenantId = tenantOf(o);
      const status = await cli.withApi(o, (api) => api.call<NotifyStatus>('GET', `/v1/notify/status${q(tenantId)}`));
      if (o.json) printJson(status);
      else if (!status.enabled) process.stdout.write(`on-call mirroring is off (PROBECTL_NOTIFY_CONNECTORS is empty): nothing of tenant ${status.tenant} is mirrored\n`);
      else {
        if (status.connectors.length === 0) process.stdout.write(`tenant ${status.tenant} has no connector\n`);
        // REASON: why it is paused, or the last failed attempt's reason while it retries.
        else printTable(status.connectors.map((c) => ({ ...c, reason: c.paused_reason ?? (c.state === 'retrying' ? c.last_error : null) })) as unknown as Record<string, unknown>[], ['id', 'provider', 'endpoint', 'min_severity', 'state', 'last_success_at', 'delivered_total', 'failed', 'skipped_total', 'lag_operations', 'reason']);
        // Each connector it speaks for by id, and by its connector_name where it has one (what the entry names).
        const named = new Map(status.connectors.map((c) => [c.id, c.name]));
        const shown = (id: string) => {
          const name = named.get(id);
          return name ? `${id} (${name})` : id;
        };
        for (const i of status.inbound) process.stdout.write(`inbound ${i.id} (${i.provider}): POST ${i.path} for ${i.connectors.map(shown).join(', ')}\n`);
      }
    });

  notify.command('test').description('send a test open and resolve through one connector and print each vendor answer')
    .option(...TENANT_OPTION).requiredOption('--connector <id>', 'connector id (probectl notify status)').option('--json', 'print JSON').option(...tokenFileOption)
    .action(async (o: { tenant?: string; connector: string; json?: boolean; tokenFile?: string }) => {
      const tenantId = tenantOf(o);
      const connector = connectorArg(o.connector);
      const r = await cli.withApi(o, (api) => api.call<{ connector: string; provider: string; endpoint: string; open: TestStep; resolve: TestStep }>('POST', '/v1/notify/test', { ...tenantField(tenantId), connector }));
      if (o.json) printJson(r);
      else process.stdout.write(`${r.connector} (${r.provider}, ${r.endpoint})\n  open:    ${stepText(r.open)}\n  resolve: ${stepText(r.resolve)}\n`);
      if (r.open.outcome !== 'ok' || r.resolve.outcome !== 'ok') process.exitCode = 1;
    });

  notify.command('links').description('where an incident is mirrored: per connector, the vendor object (dedup key, alias, ticket, message ts, issue key) and its state')
    .requiredOption('--incident <id>', 'incident UUID').option(...TENANT_OPTION).option('--json', 'print JSON').option(...tokenFileOption)
    .action(async (o: { incident: string; tenant?: string; json?: boolean; tokenFile?: string }) => {
      const incident = uuidArg('--incident', o.incident);
      const tenantId = tenantOf(o);
      const r = await cli.withApi(o, (api) => api.call<{ incident_id: string; links: IncidentLink[] }>('GET', `/v1/incidents/${encodeURIComponent(incident)}/links${q(tenantId)}`));
      if (o.json) printJson(r);
      else if (r.links.length === 0) process.stdout.write(`incident ${incident} is mirrored to no connector\n`);
      else printTable(r.links.map((l) => ({ ...l, aliases: l.aliases.join(' ') || null })) as unknown as Record<string, unknown>[], ['connector', 'provider', 'state', 'ref', 'aliases', 'status', 'last_update_at', 'failure']);
    });

  const failed = notify.command('failed').description('operations a connector refused permanently');
  failed.command('list').description('list failed operations with the vendor\'s answer')
    .option(...TENANT_OPTION).option('--json', 'print JSON').option(...tokenFileOption)
    .action(async (o: { tenant?: string; json?: boolean; tokenFile?: string }) => {
      const tenantId = tenantOf(o);
      const rows = (await cli.withApi(o, (api) => api.call<{ failed: FailedOperation[] }>('GET', `/v1/notify/failed${q(tenantId)}`))).failed;
      if (o.json) printJson({ failed: rows });
      else if (rows.length === 0) process.stdout.write('no failed operations\n');
      else printTable(rows as unknown as Record<string, unknown>[], ['connector', 'seq', 'action', 'incident', 'status', 'reason', 'attempts', 'failed_at']);
    });
  failed.command('retry').description('send the failed operations again; delivered ones leave the list')
    .option(...TENANT_OPTION).option('--connector <id>', 'only this connector\'s').option(...tokenFileOption)
    .action(async (o: { tenant?: string; connector?: string; tokenFile?: string }) => {
      const tenantId = tenantOf(o);
      const connector = o.connector === undefined ? undefined : connectorArg(o.connector);
      const result = await cli.withApi(o, (api) => api.call<{ retried: number; delivered: number; still_failed: number }>('POST', '/v1/notify/failed/retry', { ...tenantField(tenantId), ...(connector ? { connector } : {}) }));
      printJson(result);
      if (result.still_failed > 0) process.exitCode = 1;
    });
}

/** `probectl webhook sign --id <inbound id> [--file body.json]`: the headers to send with the body (read from stdin without --file). */
export function registerWebhookCommands(program: Command, cli: CliKit): void {
  const webhook = program.command('webhook').description('inbound webhooks (POST /ingest/itsm/{provider}/{id})');
  webhook.command('sign').description('print the headers that sign a body for an inbound webhook (for ServiceNow business rules, scripts)')
    .requiredOption('--id <id>', 'inbound webhook id (PROBECTL_NOTIFY_INBOUND)').option('--file <path>', 'the JSON body to sign (default: stdin)')
    .option('--json', 'print JSON').option(...cli.tokenFileOption)
    .action(async (o: { id: string; file?: string; json?: boolean; tokenFile?: string }) => {
      const id = inboundIdArg(o.id);
      const body = o.file !== undefined ? bodyFileArg(o.file) : await readStdin();
      const r = await cli.withApi(o, (api) => api.call<{ id: string; path: string; headers: Record<string, string> }>('POST', '/v1/notify/sign', { id, body }));
      if (o.json) cli.printJson(r);
      else {
        process.stdout.write(`# POST ${r.path} with exactly the signed bytes, within 5 minutes:\n`);
        for (const [k, v] of Object.entries(r.headers)) process.stdout.write(`${k}: ${v}\n`);
      }
    });
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw usage('--file', 'missing, and stdin is a terminal', 'a JSON file, or the body on stdin');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    size += (c as Buffer).length;
    if (size > INBOUND_BODY_LIMIT) throw usage('--file', `the body on stdin is larger than ${INBOUND_BODY_LIMIT} bytes`, 'a body of at most 256 KiB');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
