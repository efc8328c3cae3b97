import { readSection, type ConfigProblem } from '../config/section.ts';
import { configError } from '../config/load.ts';
import { ProbectlError } from '../core/errors.ts';
import type { SiemEvent } from './event.ts';
import { siemSettings, siemVars } from './config.ts';
import type { FormatOptions } from './formatters/options.ts';
import { isSiemPreset, PRESETS, type SiemPreset } from './presets.ts';
import type { Sender, TransportResult, WireRequest } from './senders/types.ts';
import { buildTarget } from './targets/index.ts';

const EXAMPLE_ENDPOINTS: Record<SiemPreset, string> = {
  splunk: 'https://splunk.example:8088/services/collector/raw',
  sentinel: 'https://sentinel.example/ingest',
  elastic: 'https://elastic.example:9200/probectl-events/_bulk',
  chronicle: 'https://chronicle.example/v1/logs',
  generic: 'https://siem.example/ingest',
};

/** Answers every request with success and keeps what it was given. */
class CaptureSender implements Sender {
  readonly requests: WireRequest[] = [];

  async send(request: WireRequest): Promise<TransportResult> {
    this.requests.push(request);
    return { kind: 'response', status: 200, headers: {}, body: Buffer.from('{"text":"Success","code":0,"errors":false,"items":[]}') };
  }

  async close(): Promise<void> {}
}

export interface PreviewFlags {
  readonly format?: string | undefined;
  readonly preset?: string | undefined;
  readonly endpoint?: string | undefined;
}

/** The variable each preview flag stands in for. */
const FLAG_VARIABLES = { format: 'PROBECTL_SIEM_FORMAT', preset: 'PROBECTL_SIEM_PRESET', endpoint: 'PROBECTL_SIEM_ENDPOINT' } as const satisfies Record<keyof PreviewFlags, string>;

/**
 * A problem with a value the operator typed as a flag is a usage error naming
 * the flag (exit status 2); one with a value from the environment is a
 * configuration error naming the variable. Both list what is accepted.
 */
function previewError(problems: readonly ConfigProblem[], flags: PreviewFlags): ProbectlError {
  const flagOf = new Map<string, string>(Object.entries(FLAG_VARIABLES).filter(([flag]) => flags[flag as keyof PreviewFlags] !== undefined).map(([flag, variable]) => [variable, `--${flag}`]));
  if (!problems.some((p) => flagOf.has(p.variable))) return configError(problems, 'siem preview refused');
  const lines = problems.map((p) => `  ${flagOf.get(p.variable) ?? p.variable}: ${p.problem}; accepted: ${p.accepts}`);
  return new ProbectlError('PROBECTL_ERR_CLI_USAGE', `siem preview: invalid flag value (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
}

/**
 * The exact bytes a SIEM would receive for these events: the real target
 * (HEC envelopes, `_bulk` action lines, octet-counted syslog frames) over a
 * sender that only records. Settings come from PROBECTL_SIEM_* plus the
 * command's flags; export need not be enabled. Invalid flags throw
 * PROBECTL_ERR_CLI_USAGE naming the flag; invalid variables
 * PROBECTL_ERR_CONFIG_INVALID naming the variable.
 */
export async function previewWire(env: NodeJS.ProcessEnv, flags: PreviewFlags, events: readonly SiemEvent[], formatOptions: FormatOptions): Promise<{ requests: WireRequest[]; description: string }> {
  const presetText = (flags.preset ?? env.PROBECTL_SIEM_PRESET ?? '').trim().toLowerCase();
  // The configured endpoint belongs to the configured preset: `--preset` naming another one shows that preset's example endpoint.
  const otherPreset = flags.preset !== undefined && presetText !== (env.PROBECTL_SIEM_PRESET?.trim() || 'generic').toLowerCase();
  const merged: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('PROBECTL_SIEM_'))),
    PROBECTL_SIEM_ENABLED: 'true',
    ...(flags.preset !== undefined ? { PROBECTL_SIEM_PRESET: flags.preset } : {}),
    PROBECTL_SIEM_ENDPOINT: flags.endpoint ?? (otherPreset ? undefined : env.PROBECTL_SIEM_ENDPOINT) ?? EXAMPLE_ENDPOINTS[isSiemPreset(presetText) ? presetText : 'generic'],
    PROBECTL_SIEM_TOKEN: 'literal:preview-token',
    PROBECTL_SIEM_SPLUNK_ACK: 'false',
    ...(flags.format !== undefined ? { PROBECTL_SIEM_FORMAT: flags.format } : {}),
  };
  const problems: ConfigProblem[] = [];
  for (const [flag, variable] of Object.entries(FLAG_VARIABLES)) {
    if (flags[flag as keyof PreviewFlags]?.trim() === '') problems.push({ variable, problem: 'empty', accepts: siemVars[flag as keyof PreviewFlags].accepts });
  }
  const vars = readSection(merged, siemVars, problems);
  const settings = problems.length === 0 ? siemSettings(vars, problems) : undefined;
  if (!settings || problems.length > 0) throw previewError(problems, flags);
  const preset = settings.preset;
  const sender = new CaptureSender();
  const target = buildTarget(settings, formatOptions, async () => 'preview-token', { sender });
  if (events.length > 0) await target.attempt(events, undefined);
  const where = `${settings.endpoint.protocol}//${settings.endpoint.host}${settings.transport === 'https' ? settings.endpoint.pathname : ''}`;
  const how = settings.transport === 'https' ? `preset ${preset}, Authorization: ${PRESETS[preset].authScheme} <token>` : 'RFC 5425 octet-counted frames';
  return { requests: sender.requests.map((r) => ({ ...r, path: settings.transport === 'https' ? (r.path ?? `${settings.endpoint.pathname}${settings.endpoint.search}`) : undefined })) as WireRequest[], description: `${settings.format} to ${where} (${how})` };
}
