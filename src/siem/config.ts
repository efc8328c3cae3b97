import { isLoopbackHost } from '../core/net.ts';
import type { ConfigProblem, SectionValue, Vars } from '../config/section.ts';
import { secretRef } from '../secrets/config-var.ts';
import { bool, caBundleFile, duration, int, list, oneOf, optOneOf, optStr, readableFile, VarProblem, type VarSpec } from '../config/vars.ts';
import type { SecretRef } from '../secrets/ref.ts';
import { SIEM_FORMATS, type SiemFormat } from './formatters/index.ts';
import { PRESETS, SIEM_PRESETS, type SiemPreset } from './presets.ts';
import { problem, type PresetSpec, type TargetProvider, type TargetSettings } from './targets/provider.ts';
import { PRESET_SPECS, providerFor, TARGET_PROVIDERS } from './targets/registry.ts';

/** The variables every SIEM target shares; each target adds its own (targets/<name>/index.ts). */
const commonVars = {
  enabled: bool('PROBECTL_SIEM_ENABLED', { default: false, doc: 'Turn SIEM export on. Off by default: enabling it opens an outbound connection to the SIEM.' }),
  preset: oneOf('PROBECTL_SIEM_PRESET', { values: SIEM_PRESETS, default: 'generic', doc: `Target SIEM: sets the auth header and the default format (${PRESET_SPECS.map((p) => `${p.name} → ${p.summary}`).join('; ')}).` }),
  endpoint: optStr('PROBECTL_SIEM_ENDPOINT', { accepts: 'https://host[:port]/path or syslog+tls://host:port (http:// and syslog+tcp:// only to loopback)', doc: 'Where events go: the HEC, ingest or Elasticsearch `_bulk` URL, the Logs Ingestion API stream URL (sentinel), the Chronicle API `logs:import` / `events:import` / webhook feed `:importPushLogs` URL (chronicle), or `syslog+tls://host:port` for RFC 5425 syslog over TLS.' }),
  token: secretRef('PROBECTL_SIEM_TOKEN', { doc: 'Ingest token, sent only in a header (never in a URL, never logged): the Authorization token; with sentinel the Entra application\'s client secret; with a chronicle webhook feed the Google API key (`X-goog-api-key`). May be a secret reference, resolved at use time.' }),
  format: optOneOf('PROBECTL_SIEM_FORMAT', { values: SIEM_FORMATS, doc: 'Wire format: syslog (RFC 5424), cef, ecs, otlp, udm (Google UDM events) or dcr (Azure Monitor Logs Ingestion records). Default: the preset\'s (sentinel\'s Logs Ingestion API: dcr; Chronicle events:import: udm); syslog for a syslog+tls endpoint (cef with sentinel).' }),
  redactKeys: list('PROBECTL_SIEM_REDACT_KEYS', { accepts: 'comma-separated key names', doc: 'Keys redacted in addition to the built-in denylist (password, passwd, secret, token, api_key, apikey, authorization, cookie, private_key, client_secret, ssn), at any depth of audit data and signal attributes.', item: (t) => t }),
  streams: list('PROBECTL_SIEM_STREAMS', { accepts: 'comma-separated: audit, threat', default: 'audit,threat', doc: 'Which streams to export: the audit log, threat signals, or both.', item: (t) => {
    if (t !== 'audit' && t !== 'threat') throw new VarProblem('not a stream');
    return t as 'audit' | 'threat';
  } }),
  caFile: caBundleFile('PROBECTL_SIEM_CA_FILE', { doc: 'PEM bundle of a private CA trusted for the SIEM endpoint, in addition to the system roots. Validation is never disabled.' }),
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
  syslogPen: int('PROBECTL_SIEM_SYSLOG_PEN', { default: 32473, min: 1, max: 2_147_483_647, doc: 'Private enterprise number in the syslog SD-ID `probectl@<PEN>`; 32473 is the documentation example (RFC 5612) — use your organisation\'s.' }),
  syslogFacility: int('PROBECTL_SIEM_SYSLOG_FACILITY', { default: 13, min: 0, max: 23, doc: 'RFC 5424 facility of the PRI (13 = log audit).' }),
  rebalanceInterval: duration('PROBECTL_SIEM_REBALANCE_INTERVAL', { default: '10s', minMs: 1000, maxMs: 600_000, doc: 'How often a replica announces itself and re-balances which tenant streams it drains (each stream is drained by one replica at a time, under a PostgreSQL advisory lock).' }),
};

/** Every PROBECTL_SIEM_* variable: the shared ones, then each registered target's own. */
export const siemVars: typeof commonVars & Vars = Object.freeze({
  ...commonVars,
  ...Object.assign({}, ...TARGET_PROVIDERS.map((p) => p.vars)),
}) as typeof commonVars & Vars;

export type SiemVars = SectionValue<typeof commonVars> & Readonly<Record<string, unknown>>;

export type SiemTransport = 'https' | 'syslog-tls' | 'syslog-tcp';

export interface SiemSettings {
  enabled: boolean;
  preset: SiemPreset;
  format: SiemFormat;
  transport: SiemTransport;
  endpoint: URL;
  /** The chosen target's own settings (targets/<name>/index.ts), with its request kind. */
  target: TargetSettings;
  token: SecretRef | undefined;
  authScheme: string;
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
  syslogPen: number;
  syslogFacility: number;
  rebalanceIntervalMs: number;
}


/** A target's variables that hold something other than their default. */
function setVarsOf(provider: TargetProvider, v: SiemVars): string[] {
  return Object.entries(provider.vars).filter(([key, spec]) => JSON.stringify(v[key]) !== JSON.stringify(spec.parse(undefined))).map(([key]) => key);
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

/** The variables that choose the target: its findings are withheld while one of them is invalid. */
const TARGET_CHOICE = ['PROBECTL_SIEM_PRESET', 'PROBECTL_SIEM_ENDPOINT', 'PROBECTL_SIEM_FORMAT'];

/**
 * Validates the SIEM variables together, whether export is on or off: every
 * variable that is set is checked (the endpoint's syntax, the plaintext rule,
 * the chosen target's own rules and variables, pairs, ranges), so an operator
 * is never told OK for a value that would be refused once export is enabled.
 * The chosen target is the preset's over https://, the syslog target over
 * syslog+tls (targets/registry.ts); a variable of another target that is set
 * is refused as unused. Only what export needs to run — an endpoint, the
 * credentials its receiver requires — is required, and only when
 * PROBECTL_SIEM_ENABLED=true. Returns the settings when export is on and
 * nothing is wrong, otherwise undefined.
 */
export function siemSettings(v: SiemVars, problems: ConfigProblem[]): SiemSettings | undefined {
  const before = problems.length;
  const preset = PRESETS[v.preset] as PresetSpec;
  const parsed = v.endpoint === undefined ? undefined : endpointUrl(v.endpoint, problems);
  if (v.enabled && v.endpoint === undefined) problems.push(problem('PROBECTL_SIEM_ENDPOINT', 'required when PROBECTL_SIEM_ENABLED=true', 'https://… or syslog+tls://host:port'));
  const transport = parsed?.transport ?? 'https';
  const chosen = providerFor(v.preset, transport === 'https' ? 'https' : 'syslog') as TargetProvider;
  // What the chosen target finds, and which variables go unused, are judged against the preset, the endpoint and the format.
  const judged = problems.length;
  const target = parsed ? chosen.configure({ url: parsed.url, transport, format: v.format, preset, vars: v, token: v.token, enabled: v.enabled, problems }) : undefined;
  if (v.enabled && parsed && transport === 'https' && preset.tokenRequired && v.token === undefined) problems.push(problem('PROBECTL_SIEM_TOKEN', `the ${v.preset} preset needs an ingest token`, 'a token or a secret reference'));
  if ((v.clientCertFile === undefined) !== (v.clientKeyFile === undefined)) problems.push(problem(v.clientCertFile === undefined ? 'PROBECTL_SIEM_CLIENT_CERT_FILE' : 'PROBECTL_SIEM_CLIENT_KEY_FILE', 'must be set together with its pair', 'both client certificate and key, or neither'));
  if (v.retryBase > v.retryMax) problems.push(problem('PROBECTL_SIEM_RETRY_BASE', 'larger than PROBECTL_SIEM_RETRY_MAX', 'a base no larger than the maximum'));
  for (const other of TARGET_PROVIDERS) {
    if (other === chosen) continue;
    for (const key of setVarsOf(other, v)) {
      const spec = other.vars[key] as VarSpec<unknown>;
      const custom = other.unused?.[key];
      problems.push(problem(spec.name, custom?.problem ?? `is not used with this configuration (only the ${other.name} target uses it)`, custom?.accepts ?? 'unset it'));
    }
  }
  for (let i = judged; i < problems.length; i++) problems[i] = { ...(problems[i] as ConfigProblem), depends: TARGET_CHOICE };
  if (!v.enabled || !parsed || !target || problems.length > before) return undefined;
  return {
    enabled: true,
    preset: v.preset,
    format: target.format,
    transport,
    endpoint: parsed.url,
    target,
    token: v.token,
    authScheme: preset.authScheme,
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
    syslogPen: v.syslogPen,
    syslogFacility: v.syslogFacility,
    rebalanceIntervalMs: v.rebalanceInterval,
  };
}

/** The endpoint as status and errors may show it: scheme and host only. */
export function endpointHost(url: URL): string {
  return `${url.protocol}//${url.host}`;
}
