import { readableFile } from '../../../config/vars.ts';
import { secretRef } from '../../../secrets/config-var.ts';
import type { SecretRef } from '../../../secrets/ref.ts';
import { httpsSender } from '../shared/http.ts';
import { problem, type TargetProvider, type TargetSettings } from '../provider.ts';
import { googleBearer } from './google-token.ts';
import { chronicleImportTarget } from './import-target.ts';
import { CHRONICLE_FORMATS, checkServiceAccountFile, chronicleMode } from './settings.ts';
import { chronicleWebhookTarget } from './webhook-target.ts';

export interface ChronicleSettings extends TargetSettings {
  readonly kind: 'chronicle-logs' | 'chronicle-events' | 'chronicle-webhook';
  /** logs:import: the log type named in the path; the webhook feed: the feed's name. */
  readonly logType?: string;
  readonly feed?: string;
  /** logs:import, events:import: a service-account key file; unset means application default credentials. */
  readonly credentialsFile: string | undefined;
  /** The webhook feed's secret key and API key (PROBECTL_SIEM_TOKEN). */
  readonly webhookSecret: SecretRef | undefined;
}

const vars = {
  gcpCredentialsFile: readableFile('PROBECTL_SIEM_GCP_CREDENTIALS_FILE', { doc: 'chronicle logs:import / events:import: a Google service-account key file (its `token_uri` honoured). Unset: application default credentials (GOOGLE_APPLICATION_CREDENTIALS, workload identity, the metadata server).' }),
  webhookSecret: secretRef('PROBECTL_SIEM_WEBHOOK_SECRET', { doc: 'chronicle webhook feed: the feed\'s secret key, sent only as `X-Webhook-Access-Key` (never in a URL, never logged). May be a secret reference.' }),
};

const EXAMPLE_INSTANCE = 'https://europe-west2-chronicle.googleapis.com/v1beta/projects/acme-secops/locations/europe-west2/instances/0f6e4d2c-1a3b-4c5d-8e9f-a0b1c2d3e4f5';

/**
 * Google SecOps (Chronicle), the mode chosen by the endpoint path: the
 * Chronicle API's logs:import (raw logs) or events:import (UDM events) with a
 * Google OAuth token, or the HTTPS webhook feed with an API key and the feed's secret.
 */
export const chronicle: TargetProvider<ChronicleSettings> = {
  name: 'chronicle',
  serves: 'https',
  preset: {
    name: 'chronicle', authScheme: 'Bearer', defaultFormat: 'otlp', syslogFormat: 'syslog', tokenRequired: false,
    examples: [`${EXAMPLE_INSTANCE}/logTypes/PROBECTL/logs:import`, `${EXAMPLE_INSTANCE}/events:import`, `${EXAMPLE_INSTANCE}/feeds/probectl-webhook:importPushLogs`],
    summary: 'a Google OAuth bearer token to the Chronicle API import methods (otlp raw logs, udm events) or the webhook feed\'s API key',
  },
  vars,
  unused: {
    gcpCredentialsFile: { problem: 'is not used with this configuration (only the chronicle preset\'s logs:import and events:import endpoints use Google OAuth)', accepts: 'unset it' },
    webhookSecret: { problem: 'is not used with this configuration (only a chronicle webhook feed endpoint (…/feeds/<feed>:importPushLogs) takes a webhook secret)', accepts: 'unset it' },
  },
  configure({ url, format: chosen, vars: v, token, enabled, problems }) {
    const mode = chronicleMode(url, problems);
    if (!mode) return undefined;
    const formats = CHRONICLE_FORMATS[mode.kind];
    const format = chosen ?? formats.default;
    const before = problems.length;
    if (!formats.accepted.includes(format)) problems.push(problem('PROBECTL_SIEM_FORMAT', `${format} cannot travel there: ${formats.why}`, `${formats.accepted.join(', ')} (or unset: ${formats.default})`));
    const credentialsFile = v.gcpCredentialsFile as string | undefined;
    const webhookSecret = v.webhookSecret as SecretRef | undefined;
    const unused = (variable: string, where: string) => problems.push(problem(variable, `is not used with this configuration (${where})`, 'unset it'));
    if (mode.kind === 'chronicle-webhook') {
      if (credentialsFile !== undefined) unused('PROBECTL_SIEM_GCP_CREDENTIALS_FILE', 'only the chronicle preset\'s logs:import and events:import endpoints use Google OAuth');
      if (enabled && token === undefined) problems.push(problem('PROBECTL_SIEM_TOKEN', 'a Chronicle webhook feed needs the Google API key (sent as X-goog-api-key)', 'an API key restricted to the Chronicle API, or a secret reference'));
      if (enabled && webhookSecret === undefined) problems.push(problem('PROBECTL_SIEM_WEBHOOK_SECRET', 'a Chronicle webhook feed needs the feed\'s secret key (sent as X-Webhook-Access-Key)', 'the secret generated for the feed, or a secret reference'));
    } else {
      if (token !== undefined) unused('PROBECTL_SIEM_TOKEN', 'the Chronicle API import methods authenticate with Google OAuth: PROBECTL_SIEM_GCP_CREDENTIALS_FILE or application default credentials');
      if (webhookSecret !== undefined) unused('PROBECTL_SIEM_WEBHOOK_SECRET', 'only a chronicle webhook feed endpoint (…/feeds/<feed>:importPushLogs) takes a webhook secret');
      if (credentialsFile !== undefined) checkServiceAccountFile(credentialsFile, problems);
    }
    if (problems.length > before) return undefined;
    return { ...mode, provider: 'chronicle', format, credentialsFile: mode.kind === 'chronicle-webhook' ? undefined : credentialsFile, webhookSecret };
  },
  build(settings, target, ctx) {
    // Every mode puts its own credentials on each request.
    const sender = httpsSender(settings, ctx, async () => undefined);
    const tctx = { sender, formatOptions: ctx.formatOptions, timeoutMs: settings.timeoutMs };
    if (target.kind === 'chronicle-webhook') {
      return chronicleWebhookTarget(tctx, ctx.formatter, { maxBytes: settings.batchBytes, apiKey: settings.token as SecretRef, webhookSecret: target.webhookSecret as SecretRef, resolve: ctx.resolveToken });
    }
    return chronicleImportTarget(tctx, ctx.formatter, {
      mode: target.kind === 'chronicle-logs' ? 'logs' : 'events',
      maxBytes: settings.batchBytes,
      bearer: ctx.overrides.bearer ?? googleBearer({ credentialsFile: target.credentialsFile, caPem: ctx.tls.ca?.[0], timeoutMs: settings.timeoutMs }),
    });
  },
  describe: (settings, target) => (target.kind === 'chronicle-webhook'
    ? `preset ${settings.preset}, X-goog-api-key and X-Webhook-Access-Key headers`
    : `preset ${settings.preset}, Authorization: Bearer <OAuth access token>`),
  previewBearer: '<Google OAuth access token>',
  previewCredentials(url): Record<string, string> {
    const mode = url.protocol.startsWith('http') ? chronicleMode(url, [])?.kind : undefined;
    if (mode === 'chronicle-webhook') return { PROBECTL_SIEM_TOKEN: 'literal:<API key>', PROBECTL_SIEM_WEBHOOK_SECRET: 'literal:<webhook secret>' };
    return mode === undefined ? { PROBECTL_SIEM_TOKEN: 'literal:<token>' } : {};
  },
};
