import { isLoopbackHost } from '../core/net.ts';
import type { ConfigProblem, SectionValue } from '../config/section.ts';
import { secretRef } from '../config/secret-var.ts';
import { bool, duration, int, list, oneOf, optOneOf, optStr, readableFile, str, VarProblem } from '../config/vars.ts';
import type { SecretRef } from '../secrets/ref.ts';
import { SIEM_FORMATS, type SiemFormat } from './formatters/index.ts';
import { PRESETS, SIEM_PRESETS, type SiemPreset } from './presets.ts';
import { CHRONICLE_FORMATS, chronicleTarget, checkServiceAccountFile, type ChronicleTarget } from './targets/chronicle-settings.ts';
import { azureAuth, DEFAULT_AUTHORITY_HOST, sentinelTarget, type AzureAuth, type SentinelTarget } from './targets/sentinel-settings.ts';

export const siemVars = {
  enabled: bool('PROBECTL_SIEM_ENABLED', { default: false, doc: 'Turn SIEM export on. Off by default: enabling it opens an outbound connection to the SIEM.' }),
  preset: oneOf('PROBECTL_SIEM_PRESET', { values: SIEM_PRESETS, default: 'generic', doc: 'Target SIEM: sets the auth header and the default format (splunk → `Authorization: Splunk`, cef; sentinel → a Microsoft Entra bearer token to the Logs Ingestion API, dcr records (cef over syslog+tls); elastic → ApiKey, ecs; chronicle → a Google OAuth bearer token to the Chronicle API import methods (otlp raw logs, udm events) or the webhook feed\'s API key; generic → Bearer if a token is set, cef).' }),
  endpoint: optStr('PROBECTL_SIEM_ENDPOINT', { accepts: 'https://host[:port]/path or syslog+tls://host:port (http:// and syslog+tcp:// only to loopback)', doc: 'Where events go: the HEC, ingest or Elasticsearch `_bulk` URL, the Logs Ingestion API stream URL (sentinel), the Chronicle API `logs:import` / `events:import` / webhook feed `:importPushLogs` URL (chronicle), or `syslog+tls://host:port` for RFC 5425 syslog over TLS.' }),
  token: secretRef('PROBECTL_SIEM_TOKEN', { doc: 'Ingest token, sent only in a header (never in a URL, never logged): the Authorization token; with sentinel the Entra application\'s client secret; with a chronicle webhook feed the Google API key (`X-goog-api-key`). May be a secret reference, resolved at use time.' }),
  format: optOneOf('PROBECTL_SIEM_FORMAT', { values: SIEM_FORMATS, doc: 'Wire format: syslog (RFC 5424), cef, ecs, otlp, udm (Google UDM events) or dcr (Azure Monitor Logs Ingestion records). Default: the preset\'s (sentinel\'s Logs Ingestion API: dcr; Chronicle events:import: udm); syslog for a syslog+tls endpoint (cef with sentinel).' }),
  redactKeys: list('PROBECTL_SIEM_REDACT_KEYS', { accepts: 'comma-separated key names', doc: 'Keys redacted in addition to the built-in denylist (password, passwd, secret, token, api_key, apikey, authorization, cookie, private_key, client_secret, ssn), at any depth of audit data and signal attributes.', item: (t) => t }),
  streams: list('PROBECTL_SIEM_STREAMS', { accepts: 'comma-separated: audit, threat', default: 'audit,threat', doc: 'Which streams to export: the audit log, threat signals, or both.', item: (t) => {
    if (t !== 'audit' && t !== 'threat') throw new VarProblem('not a stream');
    return t as 'audit' | 'threat';
  } }),
  caFile: readableFile('PROBECTL_SIEM_CA_FILE', { doc: 'PEM bundle of a private CA trusted for the SIEM endpoint, in addition to the system roots. Validation is never disabled.' }),
  clientCertFile: readableFile('PROBECTL_SIEM_CLIENT_CERT_FILE', { doc: 'PEM client certificate for mutual TLS to the SIEM.' }),
  clientKeyFile: readableFile('PROBECTL_SIEM_CLIENT_KEY_FILE', { doc: 'PEM private key of PROBECTL_SIEM_CLIENT_CERT_FILE.' }),
  gzip: bool('PROBECTL_SIEM_GZIP', { default: false, doc: 'Compress HTTPS request bodies (Content-Encoding: gzip).' }),
  batchSize: int('PROBECTL_SIEM_BATCH_SIZE', { default: 1000, min: 1, max: 50_000, doc: 'Most events per request (or per syslog write).' }),
  batchBytes: int('PROBECTL_SIEM_BATCH_BYTES', { default: 900_000, min: 4096, max: 100 * 1_048_576, doc: 'Most bytes per request body before compression (Splunk HEC refuses bodies over 1 MB by default). The Sentinel and Chronicle targets split a batch into requests of at most this size (Sentinel never above the Logs Ingestion API\'s 1 MB) and park an event that cannot fit one alone.' }),
  pollInterval: duration('PROBECTL_SIEM_POLL_INTERVAL', { default: '1s', minMs: 50, maxMs: 300_000, doc: 'How often drainers look for new events when no in-process wake-up arrived.' }),
  timeout: duration('PROBECTL_SIEM_TIMEOUT', { default: '15s', minMs: 100, maxMs: 600_000, doc: 'Deadline of one delivery attempt; a timeout is retried.' }),
  retryBase: duration('PROBECTL_SIEM_RETRY_BASE', { default: '500ms', minMs: 10, maxMs: 600_000, doc: 'First retry backoff; doubles per attempt with full jitter.' }),
  retryMax: duration('PROBECTL_SIEM_RETRY_MAX', { default: '60s', minMs: 100, maxMs: 3_600_000, doc: 'Longest backoff between retries (retries never give up on 5xx, 429, timeouts or connection errors).' }),
  inflight: int('PROBECTL_SIEM_INFLIGHT', { default: 4, min: 1, max: 64, doc: 'Batches of one tenant stream in flight at once (each waits for its acknowledgement; the cursor still moves in order).' }),
  bufferEvents: int('PROBECTL_SIEM_BUFFER_EVENTS', { default: 5000, min: 100, max: 1_000_000, doc: 'Bound of the in-memory pipeline, shared by every tenant stream of the process: events read from the database and not yet delivered. When it is spent, drainers wait (backpressure); nothing is dropped.' }),
  splunkAck: bool('PROBECTL_SIEM_SPLUNK_ACK', { default: false, doc: 'Use HEC indexer acknowledgement: send X-Splunk-Request-Channel and move the cursor only after /services/collector/ack confirms the batch.' }),
  splunkAckTimeout: duration('PROBECTL_SIEM_SPLUNK_ACK_TIMEOUT', { default: '2m', minMs: 100, maxMs: 3_600_000, doc: 'How long to wait for an indexer acknowledgement before the batch is sent again (same ids; Splunk may then hold it twice).' }),
  splunkSourcetype: optStr('PROBECTL_SIEM_SPLUNK_SOURCETYPE', { doc: 'HEC sourcetype (default `probectl:<format>`).' }),
  splunkIndex: optStr('PROBECTL_SIEM_SPLUNK_INDEX', { pattern: /^[a-z0-9_][a-z0-9_-]{0,79}$/, accepts: 'a Splunk index name', doc: 'HEC target index (default: the token\'s default index).' }),
  elasticIndex: optStr('PROBECTL_SIEM_ELASTIC_INDEX', { pattern: /^[a-z0-9][a-z0-9._-]{0,254}$/, accepts: 'a lower-case index or data stream name', doc: 'Target index or data stream for `_bulk` when the endpoint path does not name one (`/<index>/_bulk`).' }),
  syslogPen: int('PROBECTL_SIEM_SYSLOG_PEN', { default: 32473, min: 1, max: 2_147_483_647, doc: 'Private enterprise number in the syslog SD-ID `probectl@<PEN>`; 32473 is the documentation example (RFC 5612) — use your organisation\'s.' }),
  syslogMaxMessage: int('PROBECTL_SIEM_SYSLOG_MAX_MESSAGE', { default: 8096, min: 480, max: 16 * 1_048_576, doc: 'Largest RFC 5424 message (bytes) the syslog receiver accepts; rsyslog\'s default maxMessageSize is 8096. A larger event is parked (never truncated, never split into garbage).' }),
  syslogFacility: int('PROBECTL_SIEM_SYSLOG_FACILITY', { default: 13, min: 0, max: 23, doc: 'RFC 5424 facility of the PRI (13 = log audit).' }),
  azureTenantId: optStr('PROBECTL_SIEM_AZURE_TENANT_ID', { pattern: /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$/i, accepts: 'a Microsoft Entra tenant id (GUID) or domain', doc: 'sentinel: the Entra tenant of the application that may send to the DCR; with PROBECTL_SIEM_AZURE_CLIENT_ID and PROBECTL_SIEM_TOKEN (its client secret). Unset all three for the default credential chain (workload identity, managed identity).' }),
  azureClientId: optStr('PROBECTL_SIEM_AZURE_CLIENT_ID', { pattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, accepts: 'an application (client) id (GUID)', doc: 'sentinel: the application (client) id of the Entra app registration granted "Monitoring Metrics Publisher" on the DCR.' }),
  azureAuthorityHost: str('PROBECTL_SIEM_AZURE_AUTHORITY_HOST', { default: DEFAULT_AUTHORITY_HOST, accepts: 'an https:// origin', doc: 'sentinel: the Microsoft Entra authority host tokens come from (login.microsoftonline.us, login.chinacloudapi.cn for sovereign clouds; the token audience follows it).' }),
  gcpCredentialsFile: readableFile('PROBECTL_SIEM_GCP_CREDENTIALS_FILE', { doc: 'chronicle logs:import / events:import: a Google service-account key file (its `token_uri` honoured). Unset: application default credentials (GOOGLE_APPLICATION_CREDENTIALS, workload identity, the metadata server).' }),
  webhookSecret: secretRef('PROBECTL_SIEM_WEBHOOK_SECRET', { doc: 'chronicle webhook feed: the feed\'s secret key, sent only as `X-Webhook-Access-Key` (never in a URL, never logged). May be a secret reference.' }),
  rebalanceInterval: duration('PROBECTL_SIEM_REBALANCE_INTERVAL', { default: '10s', minMs: 1000, maxMs: 600_000, doc: 'How often a replica announces itself and re-balances which tenant streams it drains (each stream is drained by one replica at a time, under a PostgreSQL advisory lock).' }),
};

export type SiemVars = SectionValue<typeof siemVars>;

export type SiemTransport = 'https' | 'syslog-tls' | 'syslog-tcp';

/** Where and how a Splunk HEC request goes. */
export type Target =
  | { kind: 'splunk-raw' }
  | { kind: 'splunk-event' }
  | { kind: 'elastic-bulk'; index: string | undefined }
  | { kind: 'post' }
  | { kind: 'syslog' }
  | SentinelTarget
  | ChronicleTarget;

export interface SiemSettings {
  enabled: boolean;
  preset: SiemPreset;
  format: SiemFormat;
  transport: SiemTransport;
  endpoint: URL;
  target: Target;
  token: SecretRef | undefined;
  authScheme: string;
  /** sentinel over HTTPS: how tokens are obtained from Microsoft Entra ID. */
  azure: AzureAuth | undefined;
  /** chronicle import methods: a service-account key file; unset means application default credentials. */
  gcpCredentialsFile: string | undefined;
  /** chronicle webhook feed: the feed's secret key. */
  webhookSecret: SecretRef | undefined;
  redactKeys: readonly string[];
  streams: readonly ('audit' | 'threat')[];
  caFile: string | undefined;
  clientCertFile: string | undefined;
  clientKeyFile: string | undefined;
  gzip: boolean;
  batchSize: number;
  batchBytes: number;
  pollIntervalMs: number;
  timeoutMs: number;
  retry: { baseMs: number; capMs: number; maxAttempts: number; maxRetryAfterMs: number };
  inflight: number;
  bufferEvents: number;
  splunkAck: boolean;
  splunkAckTimeoutMs: number;
  splunkSourcetype: string | undefined;
  splunkIndex: string | undefined;
  syslogPen: number;
  syslogFacility: number;
  syslogMaxMessage: number;
  rebalanceIntervalMs: number;
}

const problem = (variable: string, what: string, accepts: string): ConfigProblem => ({ variable, problem: what, accepts });

/** Where events go, read from PROBECTL_SIEM_ENDPOINT: the URL, its transport, the format and (for HTTPS) the request target. */
interface Wire {
  readonly url: URL;
  readonly transport: SiemTransport;
  readonly format: SiemFormat;
  readonly target: Target;
}

/** The endpoint's own rules: a URL without credentials, a known scheme, plaintext only to loopback, a port for syslog. */
function endpointUrl(endpoint: string, problems: ConfigProblem[]): { url: URL; transport: SiemTransport } | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    problems.push(problem('PROBECTL_SIEM_ENDPOINT', 'not a URL', 'https://host[:port]/path or syslog+tls://host:port'));
    return undefined;
  }
  if (url.username || url.password) problems.push(problem('PROBECTL_SIEM_ENDPOINT', 'credentials in the URL are refused; use PROBECTL_SIEM_TOKEN', 'a URL without user:password'));
  if ([...url.searchParams.keys()].some((k) => /token|key|secret|auth/i.test(k))) problems.push(problem('PROBECTL_SIEM_ENDPOINT', 'a credential-like query parameter is refused; the token goes only in the Authorization header', 'a URL without credentials'));
  const loopback = isLoopbackHost(url.hostname);
  let transport: SiemTransport;
  switch (url.protocol) {
    case 'https:':
      transport = 'https';
      break;
    case 'http:':
      transport = 'https';
      if (!loopback) problems.push(problem('PROBECTL_SIEM_ENDPOINT', 'plaintext http:// is refused to a non-loopback host', 'https://'));
      break;
    case 'syslog+tls:':
      transport = 'syslog-tls';
      break;
    case 'syslog+tcp:':
      transport = 'syslog-tcp';
      if (!loopback) problems.push(problem('PROBECTL_SIEM_ENDPOINT', 'plaintext syslog+tcp:// is refused to a non-loopback host', 'syslog+tls://host:port'));
      break;
    default:
      problems.push(problem('PROBECTL_SIEM_ENDPOINT', `unsupported scheme ${url.protocol.replace(/:$/, '')}`, 'https, syslog+tls'));
      return undefined;
  }
  if (transport !== 'https' && !url.port) problems.push(problem('PROBECTL_SIEM_ENDPOINT', 'a syslog endpoint needs a port', 'syslog+tls://host:6514'));
  return { url, transport };
}

/**
 * The endpoint with the preset and format: the request target, and the
 * formats that target takes. Sentinel and Chronicle over HTTPS: the endpoint
 * path names the vendor API, which fixes what the format may be.
 */
function wire(v: SiemVars, endpoint: string, problems: ConfigProblem[]): Wire | undefined {
  const parsed = endpointUrl(endpoint, problems);
  if (!parsed) return undefined;
  const { url, transport } = parsed;
  const syslogTransport = transport !== 'https';
  const preset = PRESETS[v.preset];
  let mode: { target: SentinelTarget | ChronicleTarget; default: SiemFormat; accepted: readonly SiemFormat[]; why: string } | undefined;
  if (!syslogTransport && v.preset === 'sentinel') {
    const t = sentinelTarget(url, problems);
    if (t) mode = { target: t, default: 'dcr', accepted: ['dcr'], why: 'the Logs Ingestion API takes DCR records (the column set in docs/siem.md)' };
  } else if (!syslogTransport && v.preset === 'chronicle') {
    const t = chronicleTarget(url, problems);
    if (t) mode = { target: t, ...CHRONICLE_FORMATS[t.kind] };
  }
  const format: SiemFormat = v.format ?? mode?.default ?? (syslogTransport ? preset.syslogFormat : preset.defaultFormat);
  if (syslogTransport && format !== 'syslog' && format !== 'cef') problems.push(problem('PROBECTL_SIEM_FORMAT', `${format} cannot travel as RFC 5425 syslog frames`, 'syslog or cef (a CEF line as the syslog MSG) with a syslog+tls endpoint'));
  if (mode && !mode.accepted.includes(format)) problems.push(problem('PROBECTL_SIEM_FORMAT', `${format} cannot travel there: ${mode.why}`, `${mode.accepted.join(', ')} (or unset: ${mode.default})`));
  if (!mode && (format === 'dcr' || format === 'udm') && (v.preset === 'splunk' || v.preset === 'sentinel')) problems.push(problem('PROBECTL_SIEM_FORMAT', `${format} is not a payload of the ${v.preset} preset's endpoint`, v.preset === 'splunk' ? 'syslog, cef or ecs with the splunk preset' : 'cef or syslog over syslog+tls with the sentinel preset'));
  let target: Target = mode?.target ?? { kind: 'post' };
  if (syslogTransport) target = { kind: 'syslog' };
  else if (v.preset === 'splunk') {
    const path = url.pathname.replace(/\/+$/, '');
    if (path.endsWith('/services/collector/raw') || path.endsWith('/services/collector/raw/1.0')) target = { kind: 'splunk-raw' };
    else if (path.endsWith('/services/collector/event') || path.endsWith('/services/collector') || path.endsWith('/services/collector/event/1.0')) target = { kind: 'splunk-event' };
    else problems.push(problem('PROBECTL_SIEM_ENDPOINT', 'a Splunk HEC endpoint path must end in /services/collector/raw or /services/collector/event', 'https://splunk:8088/services/collector/raw'));
    if (format === 'otlp') problems.push(problem('PROBECTL_SIEM_FORMAT', 'OTLP is not a Splunk HEC payload', 'syslog, cef or ecs with the splunk preset'));
  } else if (v.preset === 'elastic') {
    const m = /^(?:\/([^/]+))?\/_bulk\/?$/.exec(url.pathname);
    if (!m) problems.push(problem('PROBECTL_SIEM_ENDPOINT', 'an Elasticsearch endpoint must be a _bulk URL', 'https://es:9200/<index>/_bulk or https://es:9200/_bulk with PROBECTL_SIEM_ELASTIC_INDEX'));
    const index = m?.[1] ? decodeURIComponent(m[1]) : v.elasticIndex;
    if (m && !m[1] && !v.elasticIndex) problems.push(problem('PROBECTL_SIEM_ELASTIC_INDEX', 'required when the _bulk URL names no index', 'an index or data stream name'));
    if (format !== 'ecs') problems.push(problem('PROBECTL_SIEM_FORMAT', `_bulk takes JSON documents; ${format} is not one`, 'ecs with the elastic preset'));
    target = { kind: 'elastic-bulk', index };
  }
  return { url, transport, format, target };
}

/**
 * Validates the SIEM variables together, whether export is on or off: every
 * variable that is set is checked (the endpoint's syntax, the plaintext rule,
 * its fit with the preset and format, the vendor credentials, pairs, ranges),
 * so an operator is never told OK for a value that would be refused once
 * export is enabled. Only what export needs to run — an endpoint, the
 * credentials its receiver requires — is required, and only when
 * PROBECTL_SIEM_ENABLED=true. Returns the settings when export is on and
 * nothing is wrong, otherwise undefined.
 */
export function siemSettings(v: SiemVars, problems: ConfigProblem[]): SiemSettings | undefined {
  const before = problems.length;
  const w = v.endpoint === undefined ? undefined : wire(v, v.endpoint, problems);
  if (v.enabled && v.endpoint === undefined) problems.push(problem('PROBECTL_SIEM_ENDPOINT', 'required when PROBECTL_SIEM_ENABLED=true', 'https://… or syslog+tls://host:port'));
  const preset = PRESETS[v.preset];
  const syslogTransport = w !== undefined && w.transport !== 'https';
  if (v.enabled && w && !syslogTransport && preset.tokenRequired && v.token === undefined) problems.push(problem('PROBECTL_SIEM_TOKEN', `the ${v.preset} preset needs an ingest token`, 'a token or a secret reference'));
  if ((v.clientCertFile === undefined) !== (v.clientKeyFile === undefined)) problems.push(problem(v.clientCertFile === undefined ? 'PROBECTL_SIEM_CLIENT_CERT_FILE' : 'PROBECTL_SIEM_CLIENT_KEY_FILE', 'must be set together with its pair', 'both client certificate and key, or neither'));
  if (v.retryBase > v.retryMax) problems.push(problem('PROBECTL_SIEM_RETRY_BASE', 'larger than PROBECTL_SIEM_RETRY_MAX', 'a base no larger than the maximum'));

  const kind = w?.target.kind;
  // The vendor API the preset and scheme point at, even when its URL was refused above (its credentials are still checked).
  const sentinelApi = v.preset === 'sentinel' && !syslogTransport;
  const chronicleApi = v.preset === 'chronicle' && !syslogTransport;
  const azure = sentinelApi ? azureAuth({ tenantId: v.azureTenantId, clientId: v.azureClientId, token: v.token, authorityHost: v.azureAuthorityHost }, problems) : undefined;
  const unused = (variable: string, isSet: boolean, where: string) => {
    if (isSet) problems.push(problem(variable, `is not used with this configuration (${where})`, 'unset it'));
  };
  if (!sentinelApi) {
    const where = 'only the sentinel preset\'s Logs Ingestion API endpoint signs in to Microsoft Entra ID';
    unused('PROBECTL_SIEM_AZURE_TENANT_ID', v.azureTenantId !== undefined, where);
    unused('PROBECTL_SIEM_AZURE_CLIENT_ID', v.azureClientId !== undefined, where);
    unused('PROBECTL_SIEM_AZURE_AUTHORITY_HOST', v.azureAuthorityHost !== DEFAULT_AUTHORITY_HOST, where);
  }
  const importMode = kind === 'chronicle-logs' || kind === 'chronicle-events';
  if (importMode) unused('PROBECTL_SIEM_TOKEN', v.token !== undefined, 'the Chronicle API import methods authenticate with Google OAuth: PROBECTL_SIEM_GCP_CREDENTIALS_FILE or application default credentials');
  if (v.gcpCredentialsFile !== undefined) {
    if (importMode) checkServiceAccountFile(v.gcpCredentialsFile, problems);
    else if (!chronicleApi || kind !== undefined) unused('PROBECTL_SIEM_GCP_CREDENTIALS_FILE', true, 'only the chronicle preset\'s logs:import and events:import endpoints use Google OAuth');
  }
  if (kind === 'chronicle-webhook') {
    if (v.enabled && v.token === undefined) problems.push(problem('PROBECTL_SIEM_TOKEN', 'a Chronicle webhook feed needs the Google API key (sent as X-goog-api-key)', 'an API key restricted to the Chronicle API, or a secret reference'));
    if (v.enabled && v.webhookSecret === undefined) problems.push(problem('PROBECTL_SIEM_WEBHOOK_SECRET', 'a Chronicle webhook feed needs the feed\'s secret key (sent as X-Webhook-Access-Key)', 'the secret generated for the feed, or a secret reference'));
  } else if ((!chronicleApi || kind !== undefined) && w !== undefined) {
    unused('PROBECTL_SIEM_WEBHOOK_SECRET', v.webhookSecret !== undefined, 'only a chronicle webhook feed endpoint (…/feeds/<feed>:importPushLogs) takes a webhook secret');
  }
  const hec = w ? kind === 'splunk-raw' || kind === 'splunk-event' : v.preset === 'splunk';
  if (v.splunkAck && !hec) problems.push(problem('PROBECTL_SIEM_SPLUNK_ACK', 'indexer acknowledgement exists only for Splunk HEC', 'true only with the splunk preset'));
  if (!v.enabled || !w || problems.length > before) return undefined;
  const { url, transport, format, target } = w;
  return {
    enabled: true,
    preset: v.preset,
    format,
    transport,
    endpoint: url,
    target,
    token: v.token,
    authScheme: preset.authScheme,
    azure,
    gcpCredentialsFile: importMode ? v.gcpCredentialsFile : undefined,
    webhookSecret: v.webhookSecret,
    redactKeys: v.redactKeys,
    streams: [...new Set(v.streams)],
    caFile: v.caFile,
    clientCertFile: v.clientCertFile,
    clientKeyFile: v.clientKeyFile,
    gzip: v.gzip,
    batchSize: v.batchSize,
    batchBytes: v.batchBytes,
    pollIntervalMs: v.pollInterval,
    timeoutMs: v.timeout,
    retry: { baseMs: v.retryBase, capMs: v.retryMax, maxAttempts: Number.POSITIVE_INFINITY, maxRetryAfterMs: Math.max(v.retryMax, 300_000) },
    inflight: v.inflight,
    bufferEvents: v.bufferEvents,
    splunkAck: v.splunkAck,
    splunkAckTimeoutMs: v.splunkAckTimeout,
    splunkSourcetype: v.splunkSourcetype,
    splunkIndex: v.splunkIndex,
    syslogPen: v.syslogPen,
    syslogFacility: v.syslogFacility,
    syslogMaxMessage: v.syslogMaxMessage,
    rebalanceIntervalMs: v.rebalanceInterval,
  };
}

/** The endpoint as status and errors may show it: scheme and host only. */
export function endpointHost(url: URL): string {
  return `${url.protocol}//${url.host}`;
}
