import { type AuditEvent, chainHash, GENESIS_HASH } from '../audit/chain.ts';
import { ProbectlError } from '../core/errors.ts';
import type { Signal } from '../incidents/model.ts';
import type { SiemEvent } from './event.ts';
import { FORMATTERS, isSiemFormat, SIEM_FORMATS, type SiemFormat } from './formatters/index.ts';
import type { FormatOptions } from './formatters/options.ts';
import { auditToEvent, signalToEvent } from './mapping.ts';
import { isSiemPreset, PRESETS, SIEM_PRESETS, type PresetInfo } from './presets.ts';
import { createRedactor, type Redactor } from './redact.ts';
import { parseSiemEventsText } from './preview-input.ts';

export const SAMPLE_TENANT = '7d9c2f4e-1b3a-4c5d-8e6f-0a1b2c3d4e5f';

type AuditSample = Omit<AuditEvent, 'tenant_id' | 'seq' | 'prev_hash' | 'hash'>;

const AUDIT_SAMPLES: readonly AuditSample[] = [
  { time: '2025-01-15T09:30:00.123Z', actor: 'token:ops-admin', action: 'auth.login', target: 'token:3f0c9a3e-55b1-4d5e-9d0a-6b2f1c8e7a41', outcome: 'success', data: { source: 'api' } },
  {
    time: '2025-01-15T09:30:05.456Z', actor: 'anonymous', action: 'auth.login', target: 'POST /v1/incidents', outcome: 'failure',
    data: { source: 'api', reason: 'no token matches', authorization: 'Bearer eyJhbGciOi…' },
  },
  {
    time: '2025-01-15T09:31:10.789Z', actor: 'token:ops-admin', action: 'token.create', target: 'token:c2a1e0f4-8d7b-4a6c-b5e3-9f1d2c3b4a50', outcome: 'success',
    // A forged tenant in the data is ordinary data: the event carries the drained tenant.
    data: { name: 'ci "deploy" bot', permissions: ['incidents:read', 'audit:read'], tenant: '00000000-0000-4000-8000-000000000bad', credentials: { token: 'pk_live_abc', note: 'rotated' } },
  },
  {
    time: '2025-01-15T09:32:00.000Z', actor: 'user:zoë@example.com', action: 'indicators.upsert', target: 'indicators', outcome: 'denied',
    data: { count: 2, comment: 'line one\r\nline two: a|b=c [x] "q" back\\slash', values: ['198.51.100.7', 'bad.example'] },
  },
];

const SIGNAL_SAMPLES: readonly Omit<Signal, 'tenant' | 'seq'>[] = [
  {
    id: '0b6e5c1d-2f3a-4b5c-8d7e-9f0a1b2c3d4e', kind: 'tls.expired', severity: 'critical', confidence: 100, target: 'portal.example.com:443',
    title: 'TLS certificate of portal.example.com:443 expired on 2025-01-10T00:00:00.000Z',
    attributes: { subject: 'portal.example.com', issuer: 'Example CA', valid_to: '2025-01-10T00:00:00.000Z', protocol: 'TLSv1.3' },
    received_at: '2025-01-15T09:33:00.250Z', incident_id: '5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d',
  },
  {
    id: '1c7f6d2e-3a4b-4c5d-9e8f-0a1b2c3d4e5f', kind: 'ioc.match', severity: 'warning', confidence: 80, target: '198.51.100.7',
    title: '198.51.100.7 matches ip indicator 198.51.100.7 (feed "abuse|list")',
    attributes: { indicator: '198.51.100.7', indicator_type: 'ip', source: 'feed "abuse|list"', observation: { src_ip: '10.0.0.12', dst_ip: '198.51.100.7', headers: { Cookie: 'session=abc' } } },
    received_at: '2025-01-15T09:34:12.5Z', incident_id: '6b5c4d3e-2f1a-4b0c-9d8e-7f6a5b4c3d2e',
  },
];

/** Sample audit records of one tenant, chained as the audit log chains them. */
export function sampleAuditRecords(tenant = SAMPLE_TENANT): AuditEvent[] {
  let prev = GENESIS_HASH;
  return AUDIT_SAMPLES.map((s, i) => {
    const record = { ...s, tenant_id: tenant, seq: i + 1 };
    const hash = chainHash(record, prev);
    const event = { ...record, prev_hash: prev, hash };
    prev = hash;
    return event;
  });
}

export function sampleSignals(tenant = SAMPLE_TENANT): Signal[] {
  return SIGNAL_SAMPLES.map((s, i) => ({ ...s, tenant, seq: i + 1 }));
}

/** The sample audit and threat events, through the export mapping and redaction. */
export function sampleEvents(redactor: Redactor = createRedactor(), tenant = SAMPLE_TENANT): SiemEvent[] {
  return [
    ...sampleAuditRecords(tenant).map((r) => auditToEvent(r, tenant, { redactor })),
    ...sampleSignals(tenant).map((s) => signalToEvent(s, tenant, { redactor })),
  ];
}

/** `--format` wins; otherwise the preset's default format; otherwise the generic preset's. */
export function resolvePreviewFormat(format?: string, preset?: string): SiemFormat {
  if (format !== undefined) {
    const f = format.trim().toLowerCase();
    if (!isSiemFormat(f)) throw new ProbectlError('PROBECTL_ERR_CLI_USAGE', `--format must be one of ${SIEM_FORMATS.join(', ')}`);
    return f;
  }
  if (preset !== undefined) {
    const p = preset.trim().toLowerCase();
    if (!isSiemPreset(p)) throw new ProbectlError('PROBECTL_ERR_CLI_USAGE', `--preset must be one of ${SIEM_PRESETS.join(', ')}`);
    return (PRESETS[p] as PresetInfo).defaultFormat;
  }
  return (PRESETS.generic as PresetInfo).defaultFormat;
}

export interface PreviewRequest {
  readonly format?: string | undefined;
  readonly preset?: string | undefined;
  readonly formatOptions: FormatOptions;
  /** PROBECTL_SIEM_REDACT_KEYS, added to the built-in denylist. */
  readonly redactKeys?: readonly string[] | undefined;
  /** Text read from stdin: a JSON event, an array of them, or one per line. Without it the samples are rendered. */
  readonly input?: string | undefined;
}

/**
 * `probectl siem preview`: the request body a sender would transmit for the
 * sample events (or the events given on stdin), byte for byte, in the chosen
 * format. Transport framing (octet counting, HEC envelopes, _bulk action
 * lines) is the sender's and is not shown.
 */
export function renderPreview(req: PreviewRequest): { format: SiemFormat; body: Buffer } {
  const format = resolvePreviewFormat(req.format, req.preset);
  const redactor = createRedactor(req.redactKeys ?? []);
  const events = req.input === undefined ? sampleEvents(redactor) : parseSiemEventsText(req.input, redactor);
  return { format, body: FORMATTERS[format].batch(events, req.formatOptions) };
}
