import type { ConfigProblem } from '../../../config/section.ts';
import type { SecretRef } from '../../../secrets/ref.ts';

/** The Logs Ingestion API version probectl speaks (the current stable one). */
export const LOGS_INGESTION_API_VERSION = '2023-01-01';
/** The Entra ID scope of the Logs Ingestion API in the public cloud. */
export const MONITOR_SCOPE = 'https://monitor.azure.com/.default';
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

/** Token audiences of the sovereign clouds, by authority host (Logs Ingestion API overview, "Token audience"). */
const SCOPE_BY_AUTHORITY: Readonly<Record<string, string>> = {
  'login.microsoftonline.us': 'https://monitor.azure.us/.default',
  'login.chinacloudapi.cn': 'https://monitor.azure.cn/.default',
  'login.partner.microsoftonline.cn': 'https://monitor.azure.cn/.default',
};

const STREAM_PATH = /^\/dataCollectionRules\/(dcr-[0-9a-f]{32})\/streams\/(Custom-[A-Za-z][A-Za-z0-9_-]{0,254})$/i;
const ACCEPTS_URL = `https://<data collection endpoint>/dataCollectionRules/dcr-<32 hex digits>/streams/Custom-<stream>?api-version=${LOGS_INGESTION_API_VERSION}`;

export interface SentinelTarget {
  kind: 'sentinel-dcr';
  /** The DCR immutable id (`dcr-…`). */
  dcr: string;
  /** The stream declared in the DCR (`Custom-…`). */
  stream: string;
}

export interface AzureAuth {
  /** Set for client-secret sign-in (with clientId and PROBECTL_SIEM_TOKEN); unset for the default credential chain. */
  tenantId: string | undefined;
  clientId: string | undefined;
  authorityHost: URL;
  /** `https://monitor.azure.com/.default`, or the sovereign cloud's audience for its authority host. */
  scope: string;
}

const problem = (variable: string, what: string, accepts: string): ConfigProblem => ({ variable, problem: what, accepts });

/**
 * Checks a Logs Ingestion API stream URL:
 * `{DCE}/dataCollectionRules/{dcr-immutable-id}/streams/{Custom-…}?api-version=2023-01-01`
 * (Azure Monitor Ingestion REST spec, DataCollectionRules.json, stable
 * 2023-01-01). Problems name PROBECTL_SIEM_ENDPOINT; the URL is never echoed.
 */
export function parseStreamUrl(url: URL, problems: ConfigProblem[]): SentinelTarget | undefined {
  const m = STREAM_PATH.exec(url.pathname);
  if (!m) {
    problems.push(problem('PROBECTL_SIEM_ENDPOINT', 'with the sentinel preset an https:// endpoint must be a Logs Ingestion API stream URL', ACCEPTS_URL));
    return undefined;
  }
  const version = url.searchParams.getAll('api-version');
  if (version.length !== 1 || version[0] !== LOGS_INGESTION_API_VERSION) {
    problems.push(problem('PROBECTL_SIEM_ENDPOINT', `the stream URL must carry api-version=${LOGS_INGESTION_API_VERSION} (the Logs Ingestion API version probectl speaks)`, ACCEPTS_URL));
    return undefined;
  }
  if ([...url.searchParams.keys()].some((k) => k !== 'api-version')) {
    problems.push(problem('PROBECTL_SIEM_ENDPOINT', 'the stream URL takes no query parameter but api-version', ACCEPTS_URL));
    return undefined;
  }
  return { kind: 'sentinel-dcr', dcr: m[1] as string, stream: m[2] as string };
}

/**
 * The Entra ID sign-in: a client secret when PROBECTL_SIEM_AZURE_TENANT_ID,
 * PROBECTL_SIEM_AZURE_CLIENT_ID and PROBECTL_SIEM_TOKEN are all set, the
 * default credential chain (workload identity, managed identity) when none
 * is; a partial set names every missing variable.
 */
export function azureAuth(v: { tenantId: string | undefined; clientId: string | undefined; token: SecretRef | undefined; authorityHost: string }, problems: ConfigProblem[]): AzureAuth | undefined {
  const before = problems.length;
  const set = { PROBECTL_SIEM_AZURE_TENANT_ID: v.tenantId !== undefined, PROBECTL_SIEM_AZURE_CLIENT_ID: v.clientId !== undefined, PROBECTL_SIEM_TOKEN: v.token !== undefined };
  if (Object.values(set).some(Boolean) && !Object.values(set).every(Boolean)) {
    for (const [name, isSet] of Object.entries(set)) {
      if (!isSet) problems.push(problem(name, 'client-secret sign-in needs PROBECTL_SIEM_AZURE_TENANT_ID, PROBECTL_SIEM_AZURE_CLIENT_ID and PROBECTL_SIEM_TOKEN (the client secret) together', 'all three set, or none (the default credential chain: workload identity, managed identity)'));
    }
  }
  let host: URL | undefined;
  try {
    host = new URL(v.authorityHost);
  } catch {
    host = undefined;
  }
  if (!host || host.protocol !== 'https:' || host.username || host.password || host.search || host.hash || (host.pathname !== '/' && host.pathname !== '')) {
    problems.push(problem('PROBECTL_SIEM_AZURE_AUTHORITY_HOST', 'not an https:// authority host', `an https:// origin such as ${DEFAULT_AUTHORITY_HOST} (Microsoft Entra ID) or login.microsoftonline.us / login.chinacloudapi.cn`));
  }
  if (problems.length > before || !host) return undefined;
  return { tenantId: v.tenantId, clientId: v.clientId, authorityHost: host, scope: SCOPE_BY_AUTHORITY[host.hostname.toLowerCase()] ?? MONITOR_SCOPE };
}
