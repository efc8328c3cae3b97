import { hostname } from 'node:os';
import { SingleBar } from 'cli-progress';
import { Option, type Command } from 'commander';
import { ProbectlError } from '../core/errors.ts';
import type { ReplayProgress } from '../delivery/operations.ts';
import { positiveIntArg, uuidArg } from '../integrations/cli-args.ts';
import type { CliKit } from '../integrations/types.ts';
import { VERSION } from '../version.ts';
import type { SiemStatus } from './admin.ts';
import { SIEM_FORMATS } from './formatters/index.ts';
import { formatOptions } from './formatters/options.ts';
import { SIEM_PRESETS } from './presets.ts';
import { previewWire } from './preview-wire.ts';
import { sampleEvents } from './preview.ts';
import { createRedactor } from './redact.ts';
import { parseSiemEventsText } from './preview-input.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const q = (tenant: string) => `?tenant=${encodeURIComponent(tenant)}`;

/**
 * `probectl siem preview|status|parked list|parked retry|replay`. Every
 * operation but preview is its API route, called through the running server
 * or the same app in-process (CliKit.withApi).
 */
export function registerSiemCommands(siem: Command, cli: CliKit): void {
  const { tokenFileOption, printJson, printTable } = cli;

  siem.command('preview')
    .description('print sample audit and threat events exactly as they would be sent (with --stdin: render the JSON events given on stdin)')
    .addOption(new Option('--format <format>', 'the wire format (default: PROBECTL_SIEM_FORMAT or the preset\'s)').choices(SIEM_FORMATS))
    .addOption(new Option('--preset <preset>', 'the target SIEM (default: PROBECTL_SIEM_PRESET or generic)').choices(SIEM_PRESETS))
    .option('--endpoint <url>', 'the endpoint whose framing to show (default: PROBECTL_SIEM_ENDPOINT, or an example when --preset names another preset than PROBECTL_SIEM_PRESET)')
    .option('--stdin', 'read events from stdin: a canonical event, an audit record or a signal; one object, an array, or one per line')
    .option('--body-only', 'print only the request bodies, without the header lines')
    .action(async (o: { format?: string; preset?: string; endpoint?: string; stdin?: boolean; bodyOnly?: boolean }) => {
      const env = cli.env;
      const redactor = createRedactor((env.PROBECTL_SIEM_REDACT_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean));
      const events = o.stdin ? parseSiemEventsText(await readStdin(), redactor) : sampleEvents(redactor);
      const pen = env.PROBECTL_SIEM_SYSLOG_PEN && /^\d+$/.test(env.PROBECTL_SIEM_SYSLOG_PEN) ? Number(env.PROBECTL_SIEM_SYSLOG_PEN) : undefined;
      const options = formatOptions({ hostname: hostname(), version: VERSION, syslogPen: pen });
      const { requests, description } = await previewWire(env, o, events, options);
      if (!o.bodyOnly) process.stderr.write(`# ${events.length} event(s) as ${description}; ${requests.length} request(s)\n`);
      for (const r of requests) {
        if (!o.bodyOnly && r.path !== undefined) process.stdout.write(`# POST ${r.path}  content-type: ${r.contentType}${r.headers ? Object.entries(r.headers).map(([k, v]) => `  ${k}: ${v}`).join('') : ''}\n`);
        process.stdout.write(r.body);
        if (r.body.length > 0 && r.body[r.body.length - 1] !== 0x0a) process.stdout.write('\n');
      }
    });

  siem.command('status').description('delivery status of a tenant\'s streams (cursor, lag, delivered, parked, pauses)')
    .requiredOption('--tenant <id>', 'tenant UUID').option('--json', 'print JSON').option(...tokenFileOption)
    .action(async (o: { tenant: string; json?: boolean; tokenFile?: string }) => {
      const tenantId = uuidArg('--tenant', o.tenant);
      const status = await cli.withApi(o, (api) => api.call<SiemStatus>('GET', `/v1/siem/status${q(tenantId)}`));
      if (o.json) printJson(status);
      else if (!status.enabled) process.stdout.write(`SIEM export is off (PROBECTL_SIEM_ENABLED=false): nothing of tenant ${status.tenant} is exported\n`);
      else {
        process.stdout.write(`SIEM export to ${status.endpoint} (${status.preset}, ${status.format})\n`);
        printTable(status.streams as unknown as Record<string, unknown>[], ['stream', 'cursor', 'head', 'lag_events', 'lag_seconds', 'delivered_total', 'parked', 'paused', 'last_success_at']);
      }
    });

  const parked = siem.command('parked').description('events the SIEM refused permanently');
  parked.command('list').description('list parked events with the SIEM\'s answer')
    .requiredOption('--tenant <id>', 'tenant UUID').option('--json', 'print JSON').option(...tokenFileOption)
    .action(async (o: { tenant: string; json?: boolean; tokenFile?: string }) => {
      const tenantId = uuidArg('--tenant', o.tenant);
      const rows = (await cli.withApi(o, (api) => api.call<{ parked: Array<Record<string, unknown>> }>('GET', `/v1/siem/parked${q(tenantId)}`))).parked;
      if (o.json) printJson({ parked: rows });
      else if (rows.length === 0) process.stdout.write('no parked events\n');
      else printTable(rows, ['stream', 'seq', 'event_id', 'status', 'reason', 'attempts', 'parked_at']);
    });
  parked.command('retry').description('send the parked events again; delivered ones leave the list')
    .requiredOption('--tenant <id>', 'tenant UUID').option(...tokenFileOption)
    .action(async (o: { tenant: string; tokenFile?: string }) => {
      const tenantId = uuidArg('--tenant', o.tenant);
      const result = await cli.withApi(o, (api) => api.call<{ retried: number; delivered: number; still_parked: number }>('POST', '/v1/siem/parked/retry', { tenant: tenantId }));
      printJson(result);
      if (result.still_parked > 0) process.exitCode = 1;
    });

  siem.command('replay').description('re-send a range of a tenant\'s stream to the SIEM (same event ids); the delivery cursor does not move')
    .requiredOption('--tenant <id>', 'tenant UUID').requiredOption('--from <seq>', 'first seq').option('--to <seq>', 'last seq (default: the newest)')
    .addOption(new Option('--stream <stream>', 'the stream to re-send').choices(['audit', 'threat']).default('audit')).option(...tokenFileOption)
    .action(async (o: { tenant: string; from: string; to?: string; stream: 'audit' | 'threat'; tokenFile?: string }) => {
      const tenantId = uuidArg('--tenant', o.tenant);
      const from = positiveIntArg('--from', o.from);
      const to = o.to === undefined ? undefined : positiveIntArg('--to', o.to);
      if (to !== undefined && to < from) throw new ProbectlError('PROBECTL_ERR_CLI_USAGE', `--to: ${to} is below --from ${from}; accepted: a seq no lower than --from`);
      // On a terminal the bar redraws in place; piped or logged, it prints a line every second and at the end.
      const bar = new SingleBar({ format: 'replay [{bar}] {percentage}% | {value}/{total} events | rejected {rejected}', stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 1000 });
      let started = false;
      let result: ReplayProgress = { sent: 0, total: 0, rejected: 0 };
      let failure: string | undefined;
      await cli.withApi(o, (api) => api.stream('POST', '/v1/siem/replay', { tenant: tenantId, stream: o.stream, from, ...(to !== undefined ? { to } : {}) }, (line) => {
        const p = line as ReplayProgress & { done?: boolean; error?: string };
        if (p.error) {
          failure = p.error;
          return;
        }
        result = { sent: p.sent, total: p.total, rejected: p.rejected };
        if (!started) {
          bar.start(p.total, 0, { rejected: 0 });
          started = true;
        }
        bar.update(p.sent + p.rejected, { rejected: p.rejected });
      }));
      if (started) bar.stop();
      if (failure) throw new ProbectlError('PROBECTL_ERR_INTERNAL', `replay failed on the server: ${failure}`);
      printJson(result);
      if (result.rejected > 0) process.exitCode = 1;
    });
}
