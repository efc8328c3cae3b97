import { optStr, str } from '../../../config/vars.ts';
import { httpsSender } from '../shared/http.ts';
import { problem, type TargetProvider, type TargetSettings } from '../provider.ts';
import { entraBearer } from './entra-token.ts';
import { azureAuth, DEFAULT_AUTHORITY_HOST, parseStreamUrl, type AzureAuth } from './settings.ts';
import { sentinelTarget } from './target.ts';

export interface SentinelSettings extends TargetSettings {
  readonly kind: 'sentinel-dcr';
  readonly format: 'dcr';
  /** The DCR immutable id (`dcr-…`) and the stream declared in it (`Custom-…`). */
  readonly dcr: string;
  readonly stream: string;
  /** How tokens are obtained from Microsoft Entra ID. */
  readonly azure: AzureAuth;
}

const vars = {
  azureTenantId: optStr('PROBECTL_SIEM_AZURE_TENANT_ID', { pattern: /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$/i, accepts: 'a Microsoft Entra tenant id (GUID) or domain', doc: 'sentinel: the Entra tenant of the application that may send to the DCR; with PROBECTL_SIEM_AZURE_CLIENT_ID and PROBECTL_SIEM_TOKEN (its client secret). Unset all three for the default credential chain (workload identity, managed identity).' }),
  azureClientId: optStr('PROBECTL_SIEM_AZURE_CLIENT_ID', { pattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, accepts: 'an application (client) id (GUID)', doc: 'sentinel: the application (client) id of the Entra app registration granted "Monitoring Metrics Publisher" on the DCR.' }),
  azureAuthorityHost: str('PROBECTL_SIEM_AZURE_AUTHORITY_HOST', { default: DEFAULT_AUTHORITY_HOST, accepts: 'an https:// origin', doc: 'sentinel: the Microsoft Entra authority host tokens come from (login.microsoftonline.us, login.chinacloudapi.cn for sovereign clouds; the token audience follows it).' }),
};

const notHere = { problem: 'is not used with this configuration (only the sentinel preset\'s Logs Ingestion API endpoint signs in to Microsoft Entra ID)', accepts: 'unset it' };

/**
 * Microsoft Sentinel through the Azure Monitor Logs Ingestion API: a JSON
 * array of DCR records per call, a Microsoft Entra token for
 * https://monitor.azure.com/.default. (Over syslog+tls the syslog target
 * carries CEF to an Azure Monitor Agent forwarder.)
 */
export const sentinel: TargetProvider<SentinelSettings> = {
  name: 'sentinel',
  serves: 'https',
  preset: {
    name: 'sentinel', authScheme: 'Bearer', defaultFormat: 'cef', syslogFormat: 'cef', tokenRequired: false,
    examples: ['https://probectl-dce-a1b2.westeurope-1.ingest.monitor.azure.com/dataCollectionRules/dcr-00112233445566778899aabbccddeeff/streams/Custom-ProbectlEvents?api-version=2023-01-01'],
    summary: 'a Microsoft Entra bearer token to the Logs Ingestion API, dcr records (cef over syslog+tls)',
  },
  vars,
  unused: { azureTenantId: notHere, azureClientId: notHere, azureAuthorityHost: notHere },
  configure({ url, format: chosen, vars: v, token, problems }) {
    const dcr = parseStreamUrl(url, problems);
    const format = chosen ?? 'dcr';
    if (dcr && format !== 'dcr') problems.push(problem('PROBECTL_SIEM_FORMAT', `${format} cannot travel there: the Logs Ingestion API takes DCR records (the column set in docs/siem.md)`, 'dcr (or unset: dcr)'));
    const azure = azureAuth({ tenantId: v.azureTenantId as string | undefined, clientId: v.azureClientId as string | undefined, token, authorityHost: v.azureAuthorityHost as string }, problems);
    if (!dcr || !azure || format !== 'dcr') return undefined;
    return { kind: 'sentinel-dcr', provider: 'sentinel', format, dcr: dcr.dcr, stream: dcr.stream, azure };
  },
  build(settings, target, ctx) {
    const token = settings.token;
    // The target puts its own Entra token on each request.
    const sender = httpsSender(settings, ctx, async () => undefined);
    return sentinelTarget({ sender, formatOptions: ctx.formatOptions, timeoutMs: settings.timeoutMs }, {
      maxBytes: settings.batchBytes,
      bearer: ctx.overrides.bearer ?? entraBearer({ auth: target.azure, clientSecret: token ? () => ctx.resolveToken(token) : undefined, caPem: ctx.tls.ca?.[0] }),
    });
  },
  describe: (settings) => `preset ${settings.preset}, Authorization: Bearer <OAuth access token>`,
  previewBearer: '<Microsoft Entra access token>',
  // Sign-in uses the default chain in a preview (never used): no credential needed.
  previewCredentials: () => ({}),
};
