/**
 * The startup check of upstream mode: before the server takes requests, the engine must
 * answer (1) an instant query `vector(1)` on its Prometheus API and (2) an empty
 * remote-write 1.0 request on its write URL, with the configured TLS settings, credentials
 * and (header tenancy) the provider tenant's X-Scope-OrgID. Anything else refuses startup
 * with PROBECTL_ERR_METRICS_UPSTREAM_CHECK naming what failed and the variable to fix —
 * never the credentials, never more of the address than scheme and host.
 */
import { ProbectlError } from '../../core/errors.ts';
import { safeOrigin } from '../../core/http/transport.ts';
import { engineMessage, type UpstreamAnswer, type UpstreamClient } from './client.ts';
import { encodeTenantWriteRequest } from './encode.ts';
import { parseJson } from '../../core/json.ts';

function refuse(message: string): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_CHECK', `metrics upstream check failed: ${message}`);
}

function statusProblem(a: UpstreamAnswer, what: string, variable: string, hint404: string): string | undefined {
  if (a.status >= 200 && a.status < 300) return undefined;
  if (a.status === 401 || a.status === 403) return `the engine refused probectl's credentials for ${what} (HTTP ${a.status}): check PROBECTL_METRICS_UPSTREAM_TOKEN and the client certificate`;
  if (a.status === 404 || a.status === 405) return `no ${what} at ${variable} (HTTP ${a.status}): ${hint404}`;
  // Another answer (VictoriaMetrics answers an unknown path 400 "unsupported path"): the engine's own words, and what to check.
  const said = engineMessage(a.body);
  return `the ${what} at ${variable} answered HTTP ${a.status}${said === '' ? '' : ` (${said})`}: check ${variable} (${hint404})`;
}

async function attempt(fn: () => Promise<UpstreamAnswer>, what: string, origin: string, variable: string): Promise<UpstreamAnswer> {
  try {
    return await fn();
  } catch (err) {
    // The runtime wording ("…; retry") is for API clients; at startup the operator fixes a variable.
    const reason = (err instanceof ProbectlError ? err.message : String(err)).replace(/;\s*retry( later)?$/, '');
    // A certificate the engine's chain does not reach is fixed with the CA file (or the client certificate), not the URL.
    const tls = reason.includes('TLS verification failed') ? ', or PROBECTL_METRICS_UPSTREAM_CA_FILE for its certificate' : '';
    throw refuse(`${what} at ${origin} (${variable}${tls}): ${reason}`);
  }
}

/** Runs the check for `tenant` (the provider tenant); resolves when both calls succeeded. */
export async function checkUpstream(client: UpstreamClient, tenant: string): Promise<void> {
  const s = client.settings;
  const origin = safeOrigin(s.url);
  const q = await attempt(() => client.api(tenant, '/api/v1/query', [['query', 'vector(1)']]), 'the query API', origin, 'PROBECTL_METRICS_UPSTREAM_URL');
  const qp = statusProblem(q, 'Prometheus-compatible query API', 'PROBECTL_METRICS_UPSTREAM_URL', 'set the URL under which <URL>/api/v1/query answers (Mimir: https://mimir/prometheus)');
  if (qp !== undefined) throw refuse(qp);
  let parsed: { status?: unknown } | undefined;
  try {
    parsed = parseJson(q.body.toString('utf8')) as { status?: unknown };
  } catch {
    parsed = undefined;
  }
  if (parsed?.status !== 'success') throw refuse(`${origin} did not answer a Prometheus query with {"status":"success"}: is PROBECTL_METRICS_UPSTREAM_URL a Prometheus HTTP API?`);
  const writeOrigin = safeOrigin(s.writeUrl);
  const w = await attempt(() => client.write(tenant, encodeTenantWriteRequest(tenant, [])), 'the remote-write receiver', writeOrigin, s.writeUrl.href === new URL(`${s.url.href.replace(/\/+$/, '')}/api/v1/write`).href ? 'PROBECTL_METRICS_UPSTREAM_URL, PROBECTL_METRICS_UPSTREAM_WRITE_URL' : 'PROBECTL_METRICS_UPSTREAM_WRITE_URL');
  const wp = statusProblem(w, 'remote-write receiver', 'PROBECTL_METRICS_UPSTREAM_WRITE_URL', 'Prometheus needs --web.enable-remote-write-receiver; Mimir/Cortex take /api/v1/push, Thanos Receive /api/v1/receive');
  if (wp !== undefined) throw refuse(wp);
}
