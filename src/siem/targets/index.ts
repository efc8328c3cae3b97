import { readFileSync } from 'node:fs';
import type { SecretRef } from '../../secrets/ref.ts';
import type { SiemSettings } from '../config.ts';
import { formatterFor, type SiemFormatter } from '../formatters/index.ts';
import { cefSyslogRecord } from '../formatters/syslog-cef.ts';
import type { FormatOptions } from '../formatters/options.ts';
import { HttpsSender } from '../senders/https.ts';
import { SyslogSender } from '../senders/syslog.ts';
import type { BearerSource } from './bearer.ts';
import { chronicleImportTarget } from './chronicle-import.ts';
import { chronicleWebhookTarget } from './chronicle-webhook.ts';
import { elasticTarget } from './elastic.ts';
import { entraBearer } from './entra-token.ts';
import { googleBearer } from './google-token.ts';
import { sentinelTarget } from './sentinel.ts';
import { genericTarget } from './generic.ts';
import { splunkTarget } from './splunk.ts';
import { syslogTarget } from './syslog.ts';
import type { Target } from './types.ts';
import type { Sender } from '../senders/types.ts';

/** Resolves the ingest token at use time; the plaintext lives only for the request. */
export type TokenSource = (ref: SecretRef) => Promise<string>;

/** CEF lines travel over syslog as the MSG of an RFC 5424 message (formatters/syslog-cef.ts). */
const CEF_IN_SYSLOG: SiemFormatter = { ...formatterFor('cef'), record: cefSyslogRecord };

/**
 * Builds the sender and target the settings describe; one line per kind of
 * receiver. `overrides.bearer` replaces the OAuth token source of the
 * Sentinel and Chronicle API targets (tests, `siem preview`).
 */
export function buildTarget(settings: SiemSettings, formatOptions: FormatOptions, resolveToken: TokenSource, overrides: { splunkChannel?: string; sender?: Sender; bearer?: BearerSource } = {}): Target {
  const formatter = formatterFor(settings.format);
  const ca = settings.caFile ? [readFileSync(settings.caFile, 'utf8')] : undefined;
  const cert = settings.clientCertFile ? readFileSync(settings.clientCertFile, 'utf8') : undefined;
  const key = settings.clientKeyFile ? readFileSync(settings.clientKeyFile, 'utf8') : undefined;
  const timeoutMs = settings.timeoutMs;

  if (settings.target.kind === 'syslog') {
    const sender = overrides.sender ?? new SyslogSender({ host: settings.endpoint.hostname.replace(/^\[|\]$/g, ''), port: Number(settings.endpoint.port), tls: settings.transport === 'syslog-tls', ca, cert, key, settleMs: 20 });
    return syslogTarget({ sender, formatOptions, timeoutMs }, settings.format === 'cef' ? CEF_IN_SYSLOG : formatter, settings.syslogMaxMessage);
  }

  const token = settings.token;
  // The vendor API targets put their own credentials on each request (and classify a failure to get them).
  const ownAuth = settings.target.kind === 'sentinel-dcr' || settings.target.kind.startsWith('chronicle-');
  const sender = overrides.sender ?? new HttpsSender({
    endpoint: settings.endpoint,
    tls: { ...(ca ? { ca } : {}), ...(cert ? { cert, key } : {}) },
    gzip: settings.gzip,
    authorization: async () => (token && !ownAuth ? `${settings.authScheme} ${await resolveToken(token)}` : undefined),
  });
  const ctx = { sender, formatOptions, timeoutMs };
  const caPem = ca?.[0];
  switch (settings.target.kind) {
    case 'sentinel-dcr':
      return sentinelTarget(ctx, {
        maxBytes: settings.batchBytes,
        bearer: overrides.bearer ?? entraBearer({ auth: settings.azure as NonNullable<SiemSettings['azure']>, clientSecret: token ? () => resolveToken(token) : undefined, caPem }),
      });
    case 'chronicle-logs':
    case 'chronicle-events':
      return chronicleImportTarget(ctx, formatter, {
        mode: settings.target.kind === 'chronicle-logs' ? 'logs' : 'events',
        maxBytes: settings.batchBytes,
        bearer: overrides.bearer ?? googleBearer({ credentialsFile: settings.gcpCredentialsFile, caPem, timeoutMs }),
      });
    case 'chronicle-webhook':
      return chronicleWebhookTarget(ctx, formatter, { maxBytes: settings.batchBytes, apiKey: token as NonNullable<typeof token>, webhookSecret: settings.webhookSecret as NonNullable<typeof token>, resolve: resolveToken });
    case 'splunk-raw':
    case 'splunk-event':
      return splunkTarget(ctx, formatter, {
        endpoint: settings.endpoint,
        mode: settings.target.kind === 'splunk-raw' ? 'raw' : 'event',
        ack: settings.splunkAck,
        sourcetype: settings.splunkSourcetype ?? `probectl:${settings.format}`,
        index: settings.splunkIndex,
        ackTimeoutMs: settings.splunkAckTimeoutMs,
        ...(overrides.splunkChannel ? { channel: overrides.splunkChannel } : {}),
      });
    case 'elastic-bulk':
      return elasticTarget(ctx, formatter, settings.target.index, /^\/[^/]+\/_bulk/.test(settings.endpoint.pathname));
    case 'post':
      return genericTarget(ctx, formatter);
  }
}
