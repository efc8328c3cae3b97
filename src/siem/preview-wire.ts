import { readSection, type ConfigProblem } from '../config/section.ts';
import { configError } from '../config/load.ts';
import type { SiemEvent } from './event.ts';
import { siemSettings, siemVars } from './config.ts';
import type { FormatOptions } from './formatters/options.ts';
import { PRESETS, type SiemPreset } from './presets.ts';
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

/**
 * The exact bytes a SIEM would receive for these events: the real target
 * (HEC envelopes, `_bulk` action lines, octet-counted syslog frames) over a
 * sender that only records. Settings come from PROBECTL_SIEM_* plus the
 * command's flags; export need not be enabled.
 */
export async function previewWire(env: NodeJS.ProcessEnv, flags: { format?: string | undefined; preset?: string | undefined; endpoint?: string | undefined }, events: readonly SiemEvent[], formatOptions: FormatOptions): Promise<{ requests: WireRequest[]; description: string }> {
  const preset = (flags.preset ?? env.PROBECTL_SIEM_PRESET ?? 'generic').toLowerCase() as SiemPreset;
  const merged: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('PROBECTL_SIEM_'))),
    PROBECTL_SIEM_ENABLED: 'true',
    PROBECTL_SIEM_PRESET: preset,
    PROBECTL_SIEM_ENDPOINT: flags.endpoint ?? env.PROBECTL_SIEM_ENDPOINT ?? EXAMPLE_ENDPOINTS[preset] ?? EXAMPLE_ENDPOINTS.generic,
    PROBECTL_SIEM_TOKEN: 'literal:preview-token',
    PROBECTL_SIEM_SPLUNK_ACK: 'false',
    ...(flags.format ? { PROBECTL_SIEM_FORMAT: flags.format } : {}),
  };
  const problems: ConfigProblem[] = [];
  const settings = siemSettings(readSection(merged, siemVars, problems), problems);
  if (!settings || problems.length > 0) throw configError(problems);
  const sender = new CaptureSender();
  const target = buildTarget(settings, formatOptions, async () => 'preview-token', { sender });
  if (events.length > 0) await target.attempt(events, undefined);
  const where = `${settings.endpoint.protocol}//${settings.endpoint.host}${settings.transport === 'https' ? settings.endpoint.pathname : ''}`;
  const how = settings.transport === 'https' ? `preset ${preset}, Authorization: ${PRESETS[preset]?.authScheme ?? 'Bearer'} <token>` : 'RFC 5425 octet-counted frames';
  return { requests: sender.requests.map((r) => ({ ...r, path: settings.transport === 'https' ? (r.path ?? `${settings.endpoint.pathname}${settings.endpoint.search}`) : undefined })) as WireRequest[], description: `${settings.format} to ${where} (${how})` };
}
