/**
 * PROBECTL_METRICS_UPSTREAM_*: the Prometheus-compatible engine (Prometheus, VictoriaMetrics,
 * Grafana Mimir, Cortex, Thanos Receive) that holds the series in upstream mode
 * (docs/federation.md, "Scaling out"). Unset URL: the embedded store.
 */
import type { ConfigProblem, SectionValue } from '../../config/section.ts';
import { caBundleFile, duration, oneOf, optDuration, optStr, readableFile } from '../../config/vars.ts';
import { transportProblem } from '../../core/http/transport.ts';
import { secretRef } from '../../secrets/config-var.ts';
import type { SecretRef } from '../../secrets/ref.ts';

export const TENANCY_MODES = ['label', 'header'] as const;
export type UpstreamTenancy = (typeof TENANCY_MODES)[number];

export const upstreamVars = {
  upstreamUrl: optStr('PROBECTL_METRICS_UPSTREAM_URL', { accepts: 'https://host[:port][/prefix] (http:// only to loopback): the base of the engine\'s Prometheus HTTP API', doc: 'Switches the metrics backend from the embedded store to a Prometheus-compatible engine: the URL under which its Prometheus HTTP API answers (`<URL>/api/v1/query`): `https://prometheus:9090`, `https://victoria:8428`, `https://mimir/prometheus`. Remote-write is re-encoded with the tenant forced and forwarded, queries (full PromQL, every selector tenant-scoped) are forwarded after enforcement, probectl\'s own series are remote-written there. Startup checks the engine answers with these credentials.' }),
  upstreamWriteUrl: optStr('PROBECTL_METRICS_UPSTREAM_WRITE_URL', { accepts: 'https://host[:port]/path (http:// only to loopback)', doc: 'The engine\'s remote-write 1.0 receiver. Default: `<PROBECTL_METRICS_UPSTREAM_URL>/api/v1/write` (Prometheus with --web.enable-remote-write-receiver, VictoriaMetrics); Mimir and Cortex: `https://mimir/api/v1/push`; Thanos Receive: `https://receive:19291/api/v1/receive`.' }),
  upstreamCaFile: caBundleFile('PROBECTL_METRICS_UPSTREAM_CA_FILE', { doc: 'PEM bundle of a private CA trusted for the metrics engine, in addition to the system roots. Validation is never disabled.' }),
  upstreamClientCertFile: readableFile('PROBECTL_METRICS_UPSTREAM_CLIENT_CERT_FILE', { doc: 'PEM client certificate for mutual TLS to the metrics engine.' }),
  upstreamClientKeyFile: readableFile('PROBECTL_METRICS_UPSTREAM_CLIENT_KEY_FILE', { doc: 'PEM private key of PROBECTL_METRICS_UPSTREAM_CLIENT_CERT_FILE.' }),
  upstreamToken: secretRef('PROBECTL_METRICS_UPSTREAM_TOKEN', { doc: 'Credentials for the metrics engine, resolved at each request (a secret reference or a literal): `user:password` is sent as HTTP Basic, any value without a colon as `Authorization: Bearer <token>`. Never logged, never in a URL.' }),
  upstreamTenancy: oneOf('PROBECTL_METRICS_UPSTREAM_TENANCY', { values: TENANCY_MODES, default: 'label', doc: 'How tenants map onto the engine. `label`: every series and every selector carries `tenant_id="<tenant>"` (Prometheus, VictoriaMetrics single-node). `header`: in addition, every request carries `X-Scope-OrgID: <tenant>`, so each probectl tenant is the engine\'s own tenant (Mimir, Cortex, Thanos Receive).' }),
  upstreamRetention: optDuration('PROBECTL_METRICS_UPSTREAM_RETENTION', { minMs: 3_600_000, maxMs: 100 * 365 * 86_400_000, doc: 'The engine\'s own retention (VictoriaMetrics `-retentionPeriod`, Prometheus `--storage.tsdb.retention.time`, Mimir\'s `compactor_blocks_retention_period`): a remote-write request holding a sample older than now minus this is refused whole with 400 (the variable named), as in embedded mode, instead of forwarded. Set it for an engine that answers 2xx to samples it will not keep (VictoriaMetrics drops samples older than its retention with only a warning in its own log), so a sender is told rather than its samples lost silently. Unset: every sample is forwarded and the engine decides.' }),
  upstreamTimeout: duration('PROBECTL_METRICS_UPSTREAM_TIMEOUT', { default: '25s', minMs: 100, maxMs: 600_000, doc: 'Deadline of one call to the metrics engine (a query, a forwarded remote-write, the cardinality check); the call is cancelled when it passes (queries answer 503 `timeout`, remote-write 503 so the sender retries). An answer passed on as it arrives (query, query_range, federate, labels and label values without limit) must start within it and then never pause that long while its reader waits (an error answer must end within it); writing it to a slow reader is bounded by PROBECTL_METRICS_QUERY_TIMEOUT instead. A client that goes away cancels its call too. Keep it below the remote-write senders\' `remote_timeout` (Prometheus default 30s), so a sender hears 503 and retries rather than timing out itself; set the engine\'s own query timeout (Prometheus `--query.timeout`, default 2m) at most this value, so the engine stops evaluating a query probectl has given up on.' }),
};

export type UpstreamVars = SectionValue<typeof upstreamVars>;

export interface UpstreamSettings {
  /** Base of the Prometheus HTTP API, without a trailing slash. */
  readonly url: URL;
  readonly writeUrl: URL;
  readonly caFile: string | undefined;
  readonly clientCertFile: string | undefined;
  readonly clientKeyFile: string | undefined;
  readonly token: SecretRef | undefined;
  readonly tenancy: UpstreamTenancy;
  readonly timeoutMs: number;
  /** PROBECTL_METRICS_UPSTREAM_RETENTION: samples before now − this are refused, not forwarded; undefined: all forwarded. */
  readonly retentionMs?: number | undefined;
}

function urlOf(variable: string, text: string, problems: ConfigProblem[]): URL | undefined {
  const problem = transportProblem(text);
  if (problem !== undefined) {
    problems.push({ variable, problem, accepts: 'https://host[:port][/path] (http:// only to loopback)' });
    return undefined;
  }
  const url = new URL(text);
  if (url.search !== '' || url.hash !== '') {
    problems.push({ variable, problem: 'a query string or fragment is not accepted', accepts: 'https://host[:port][/path]' });
    return undefined;
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** The upstream settings, or undefined in embedded mode (no URL) or when a variable is wrong (problems pushed). */
export function upstreamSettings(v: UpstreamVars, problems: ConfigProblem[]): UpstreamSettings | undefined {
  const before = problems.length;
  if (v.upstreamUrl === undefined) {
    for (const [value, name] of [[v.upstreamWriteUrl, 'PROBECTL_METRICS_UPSTREAM_WRITE_URL'], [v.upstreamCaFile, 'PROBECTL_METRICS_UPSTREAM_CA_FILE'], [v.upstreamClientCertFile, 'PROBECTL_METRICS_UPSTREAM_CLIENT_CERT_FILE'], [v.upstreamClientKeyFile, 'PROBECTL_METRICS_UPSTREAM_CLIENT_KEY_FILE'], [v.upstreamToken, 'PROBECTL_METRICS_UPSTREAM_TOKEN'], [v.upstreamRetention, 'PROBECTL_METRICS_UPSTREAM_RETENTION']] as const) {
      if (value !== undefined) problems.push({ variable: name, problem: 'is set but PROBECTL_METRICS_UPSTREAM_URL is not (the embedded store is in use)', accepts: 'unset it, or set PROBECTL_METRICS_UPSTREAM_URL' });
    }
    return undefined;
  }
  const url = urlOf('PROBECTL_METRICS_UPSTREAM_URL', v.upstreamUrl, problems);
  const writeUrl = v.upstreamWriteUrl === undefined ? (url ? new URL(`${url.href.replace(/\/+$/, '')}/api/v1/write`) : undefined) : urlOf('PROBECTL_METRICS_UPSTREAM_WRITE_URL', v.upstreamWriteUrl, problems);
  if ((v.upstreamClientCertFile === undefined) !== (v.upstreamClientKeyFile === undefined)) {
    problems.push({ variable: v.upstreamClientCertFile === undefined ? 'PROBECTL_METRICS_UPSTREAM_CLIENT_CERT_FILE' : 'PROBECTL_METRICS_UPSTREAM_CLIENT_KEY_FILE', problem: 'must be set together with its pair', accepts: 'both client certificate and key, or neither' });
  }
  if (problems.length > before || !url || !writeUrl) return undefined;
  return {
    url, writeUrl,
    caFile: v.upstreamCaFile, clientCertFile: v.upstreamClientCertFile, clientKeyFile: v.upstreamClientKeyFile,
    token: v.upstreamToken, tenancy: v.upstreamTenancy, timeoutMs: v.upstreamTimeout, retentionMs: v.upstreamRetention,
  };
}
