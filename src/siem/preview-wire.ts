import { configError, readSection, type ConfigProblem } from '../config/section.ts';
import { ProbectlError } from '../core/errors.ts';
import type { SiemEvent } from './event.ts';
import { siemSettings, siemVars } from './config.ts';
import type { FormatOptions } from './formatters/options.ts';
import { isSiemPreset, PRESETS, type SiemPreset } from './presets.ts';
import type { Sender, TransportResult, WireRequest } from './senders/types.ts';
import type { SecretRef } from '../secrets/ref.ts';
import type { SiemFormat } from './formatters/index.ts';
import { buildTarget } from './targets/build.ts';
import type { PresetSpec, TargetProvider } from './targets/provider.ts';
import { PRESET_SPECS, providerFor, providerNamed } from './targets/registry.ts';

/** Example endpoints per preset (from each target's registry entry); a preset with several modes (chronicle) shows each. */
export const EXAMPLE_ENDPOINTS: Readonly<Record<SiemPreset, readonly string[]>> = Object.freeze(Object.fromEntries(PRESET_SPECS.map((p) => [p.name, p.examples])));

/** Credentials a preview never uses (the token and every target's own secret or sign-in variable): placeholders stand in for them. */
const CREDENTIAL_VARS = ['PROBECTL_SIEM_TOKEN', 'PROBECTL_SIEM_WEBHOOK_SECRET', 'PROBECTL_SIEM_AZURE_TENANT_ID', 'PROBECTL_SIEM_AZURE_CLIENT_ID', 'PROBECTL_SIEM_AZURE_AUTHORITY_HOST', 'PROBECTL_SIEM_GCP_CREDENTIALS_FILE'];

/** The target an endpoint would use under a preset (for its preview placeholders), if the endpoint parses. */
function providerOf(preset: SiemPreset, endpoint: string): TargetProvider | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return undefined;
  }
  return providerFor(preset, url.protocol.startsWith('syslog') ? 'syslog' : 'https');
}

/** Answers every request with success and keeps what it was given. */
class CaptureSender implements Sender {
  readonly requests: WireRequest[] = [];

  async send(request: WireRequest): Promise<TransportResult> {
    this.requests.push(request);
    return { kind: 'answered', status: 200, headers: {}, body: Buffer.from('{"text":"Success","code":0,"errors":false,"items":[]}') };
  }

  async close(): Promise<void> {}
}

/** The credential placeholders an endpoint's target needs, as PROBECTL_SIEM_* values (a token placeholder unless the target says otherwise). */
function placeholders(preset: SiemPreset, endpoint: string): Record<string, string> {
  const provider = providerOf(preset, endpoint);
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (provider?.previewCredentials && url) return provider.previewCredentials(url);
  return provider?.serves === 'syslog' ? {} : { PROBECTL_SIEM_TOKEN: 'literal:<token>' };
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

async function previewOne(env: NodeJS.ProcessEnv, flags: PreviewFlags, preset: SiemPreset, endpoint: string, events: readonly SiemEvent[], formatOptions: FormatOptions): Promise<{ requests: WireRequest[]; description: string }> {
  const format = flags.format;
  const merged: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('PROBECTL_SIEM_') && !CREDENTIAL_VARS.includes(k))),
    PROBECTL_SIEM_ENABLED: 'true',
    PROBECTL_SIEM_PRESET: preset,
    PROBECTL_SIEM_ENDPOINT: endpoint,
    PROBECTL_SIEM_SPLUNK_ACK: 'false',
    ...placeholders(preset, endpoint),
    ...(format ? { PROBECTL_SIEM_FORMAT: format } : {}),
  };
  const problems: ConfigProblem[] = [];
  const vars = readSection(merged, siemVars, problems);
  const settings = problems.length === 0 ? siemSettings(vars, problems) : undefined;
  if (!settings || problems.length > 0) throw previewError(problems, flags);
  const sender = new CaptureSender();
  const provider = providerNamed(settings.target.provider) as TargetProvider;
  const bearerText = provider.previewBearer ?? '<OAuth access token>';
  const target = buildTarget(settings, formatOptions, async (ref: SecretRef) => (ref.scheme === 'literal' ? ref.value : '<secret>'), { sender, bearer: { token: async () => bearerText } });
  if (events.length > 0) await target.attempt(events, undefined);
  const https = settings.transport === 'https';
  const where = `${settings.endpoint.protocol}//${settings.endpoint.host}${https ? settings.endpoint.pathname : ''}`;
  const how = provider.describe(settings, settings.target);
  return {
    requests: sender.requests.map((r) => ({ ...r, path: https ? (r.path ?? `${settings.endpoint.pathname}${settings.endpoint.search}`) : undefined })) as WireRequest[],
    description: `${settings.format} to ${where} (${how})`,
  };
}

/**
 * The exact bytes a SIEM would receive for these events: the real target
 * (HEC envelopes, `_bulk` action lines, Logs Ingestion arrays, Chronicle
 * import bodies, octet-counted syslog frames) over a sender that only
 * records. Settings come from PROBECTL_SIEM_* plus the command's flags; export
 * need not be enabled. Credentials are never used: tokens and keys show as
 * placeholders. Without an endpoint, every example mode of the preset is shown
 * (for chronicle: logs:import, events:import and the webhook feed — those that
 * can carry `--format` when it is given). Invalid flags throw
 * PROBECTL_ERR_CLI_USAGE naming the flag; invalid variables
 * PROBECTL_ERR_CONFIG_INVALID naming the variable.
 */
export async function previewWire(env: NodeJS.ProcessEnv, flags: PreviewFlags, events: readonly SiemEvent[], formatOptions: FormatOptions): Promise<{ requests: WireRequest[]; description: string }> {
  const problems: ConfigProblem[] = [];
  for (const [flag, variable] of Object.entries(FLAG_VARIABLES)) {
    if (flags[flag as keyof PreviewFlags]?.trim() === '') problems.push({ variable, problem: 'empty', accepts: siemVars[flag as keyof PreviewFlags].accepts });
  }
  const presetText = (flags.preset ?? env.PROBECTL_SIEM_PRESET ?? 'generic').trim().toLowerCase();
  // An unknown preset is refused exactly as the variable's own parser words it.
  if (!isSiemPreset(presetText)) readSection({ PROBECTL_SIEM_PRESET: flags.preset ?? env.PROBECTL_SIEM_PRESET }, { preset: siemVars.preset }, problems);
  if (problems.length > 0) throw previewError(problems, flags);
  const preset = presetText as SiemPreset;
  // The configured endpoint belongs to the configured preset: `--preset` naming another one shows that preset's example endpoints.
  const otherPreset = flags.preset !== undefined && presetText !== (env.PROBECTL_SIEM_PRESET?.trim() || 'generic').toLowerCase();
  const given = flags.endpoint ?? (otherPreset ? undefined : env.PROBECTL_SIEM_ENDPOINT);
  let endpoints = given !== undefined ? [given] : [...(EXAMPLE_ENDPOINTS[preset] ?? [])];
  const format = flags.format ?? env.PROBECTL_SIEM_FORMAT;
  if (given === undefined && endpoints.length > 1 && format !== undefined) {
    // A preset with several modes: show those that can carry the format.
    const carrying = endpoints.filter((e) => {
      const problems: ConfigProblem[] = [];
      const provider = providerOf(preset, e);
      provider?.configure({ url: new URL(e), transport: 'https', format: format.trim().toLowerCase() as SiemFormat, preset: PRESETS[preset] as PresetSpec, vars: {}, token: undefined, enabled: false, problems });
      return !problems.some((p) => p.variable === 'PROBECTL_SIEM_FORMAT');
    });
    if (carrying.length > 0) endpoints = carrying;
  }
  const out = { requests: [] as WireRequest[], descriptions: [] as string[] };
  for (const endpoint of endpoints) {
    const one = await previewOne(env, flags, preset, endpoint, events, formatOptions);
    out.requests.push(...one.requests);
    out.descriptions.push(one.description);
  }
  return { requests: out.requests, description: out.descriptions.join('; ') };
}
