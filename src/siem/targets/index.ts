import { readFileSync } from 'node:fs';
import type { SecretRef } from '../../secrets/ref.ts';
import type { SiemSettings } from '../config.ts';
import { formatterFor } from '../formatters/index.ts';
import type { FormatOptions } from '../formatters/options.ts';
import { HttpsSender } from '../senders/https.ts';
import { SyslogSender } from '../senders/syslog.ts';
import { elasticTarget } from './elastic.ts';
import { genericTarget } from './generic.ts';
import { splunkTarget } from './splunk.ts';
import { syslogTarget } from './syslog.ts';
import type { Target } from './types.ts';
import type { Sender } from '../senders/types.ts';

/** Resolves the ingest token at use time; the plaintext lives only for the request. */
export type TokenSource = (ref: SecretRef) => Promise<string>;

/** Builds the sender and target the settings describe; one line per kind of receiver. */
export function buildTarget(settings: SiemSettings, formatOptions: FormatOptions, resolveToken: TokenSource, overrides: { splunkChannel?: string; sender?: Sender } = {}): Target {
  const formatter = formatterFor(settings.format);
  const ca = settings.caFile ? [readFileSync(settings.caFile, 'utf8')] : undefined;
  const cert = settings.clientCertFile ? readFileSync(settings.clientCertFile, 'utf8') : undefined;
  const key = settings.clientKeyFile ? readFileSync(settings.clientKeyFile, 'utf8') : undefined;
  const timeoutMs = settings.timeoutMs;

  if (settings.target.kind === 'syslog') {
    const sender = overrides.sender ?? new SyslogSender({ host: settings.endpoint.hostname.replace(/^\[|\]$/g, ''), port: Number(settings.endpoint.port), tls: settings.transport === 'syslog-tls', ca, cert, key, settleMs: 20 });
    return syslogTarget({ sender, formatOptions, timeoutMs }, formatter, settings.syslogMaxMessage);
  }

  const token = settings.token;
  const sender = overrides.sender ?? new HttpsSender({
    endpoint: settings.endpoint,
    tls: { ...(ca ? { ca } : {}), ...(cert ? { cert, key } : {}) },
    gzip: settings.gzip,
    authorization: async () => (token ? `${settings.authScheme} ${await resolveToken(token)}` : undefined),
  });
  const ctx = { sender, formatOptions, timeoutMs };
  switch (settings.target.kind) {
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
