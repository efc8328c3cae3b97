import type { ConfigProblem, SectionValue } from '../config/section.ts';
import { caBundleFile, duration, int, optDuration, optOneOf, optStr } from '../config/vars.ts';
import { isLoopbackHost } from '../core/net.ts';
import { secretRef } from '../secrets/config-var.ts';
import type { SecretRef } from '../secrets/ref.ts';

export const CMDB_PROVIDERS = ['servicenow', 'netbox'] as const;
export type CmdbProviderName = (typeof CMDB_PROVIDERS)[number];

const NEGATIVE_TTL_DEFAULT_MS = 60_000;
const ENRICH_TIMEOUT_DEFAULT_MS = 2000;

/** ServiceNow table names: lower-case letters, digits and underscores (cmdb_ci, cmdb_ci_server, u_custom_ci). */
const TABLE = /^[a-z][a-z0-9_]{0,79}$/;

/**
 * PROBECTL_CMDB_*: one CMDB per install (docs/cmdb.md). Off until
 * PROBECTL_CMDB_PROVIDER and PROBECTL_CMDB_URL are set; probectl only reads it.
 */
export const cmdbVars = {
  provider: optOneOf('PROBECTL_CMDB_PROVIDER', { values: CMDB_PROVIDERS, doc: 'The CMDB to correlate incidents and agents with: `servicenow` (Table API on PROBECTL_CMDB_TABLE) or `netbox` (REST API). Unset: CMDB correlation is off and no connection is ever opened.' }),
  url: optStr('PROBECTL_CMDB_URL', { accepts: 'https://host[:port][/path] (http:// only to loopback), without credentials', doc: 'Base URL of the CMDB: the ServiceNow instance (`https://example.service-now.com`) or NetBox (`https://netbox.example.com`; the API is under `/api/`). Credentials in the URL are refused.' }),
  secret: secretRef('PROBECTL_CMDB_SECRET', { doc: 'The CMDB credential, sent only in the Authorization header: for ServiceNow `user:password` (HTTP Basic) or an OAuth bearer token; for NetBox an API token (a v1 40-hex token is sent as `Token …`, a v2 `nbt_…` token as `Bearer …`). May be a secret reference, resolved at use time.' }),
  table: optStr('PROBECTL_CMDB_TABLE', { pattern: TABLE, effectiveDefault: 'cmdb_ci', accepts: 'a ServiceNow table name, e.g. cmdb_ci or cmdb_ci_server', doc: 'ServiceNow only: the CMDB table looked up (`cmdb_ci`, the default, is the base class: every CI class).' }),
  cacheTtl: duration('PROBECTL_CMDB_CACHE_TTL', { default: '10m', minMs: 1000, maxMs: 86_400_000, doc: 'How long a CMDB answer is used before it is asked again. After it, a failing CMDB still serves the last answer, marked stale.' }),
  negativeTtl: optDuration('PROBECTL_CMDB_NEGATIVE_TTL', { effectiveDefault: '1m', minMs: 1000, maxMs: 86_400_000, doc: 'How long an answer with no CI is used before it is asked again (at most PROBECTL_CMDB_CACHE_TTL; left unset, the default follows a shorter PROBECTL_CMDB_CACHE_TTL; set, even to `1m`, a value longer than it is refused).' }),
  cacheMax: int('PROBECTL_CMDB_CACHE_MAX', { default: 10_000, min: 10, max: 1_000_000, doc: 'Most keys cached; the least recently used goes first.' }),
  timeout: duration('PROBECTL_CMDB_TIMEOUT', { default: '5s', minMs: 100, maxMs: 120_000, doc: 'Deadline of one CMDB lookup (all its requests); a timeout serves the stale answer, or 503 when there is none.' }),
  enrichTimeout: optDuration('PROBECTL_CMDB_ENRICH_TIMEOUT', { effectiveDefault: '2s', minMs: 50, maxMs: 30_000, doc: 'How long a new incident\'s notification waits for its CIs: past it the page goes out without them (the lookup goes on and warms the cache). At most PROBECTL_CMDB_TIMEOUT; left unset, the default follows a shorter PROBECTL_CMDB_TIMEOUT; set, even to `2s`, a value longer than it is refused.' }),
  connections: int('PROBECTL_CMDB_CONNECTIONS', { default: 128, min: 1, max: 1024, doc: 'Most connections open to the CMDB at once (lookups of different keys in parallel; lookups of one key always share one request).' }),
  rateLimit: int('PROBECTL_CMDB_RATE_LIMIT', { default: 600, min: 1, max: 1_000_000, doc: 'CMDB lookups (API reads of /v1/cmdb/lookup, incident CIs and agent CIs) one tenant may make per minute; beyond it 429 with Retry-After.' }),
  caFile: caBundleFile('PROBECTL_CMDB_CA_FILE', { doc: 'PEM bundle of a private CA trusted for the CMDB, in addition to the system roots. Validation is never disabled.' }),
};

export type CmdbVars = SectionValue<typeof cmdbVars>;

export interface CmdbSettings {
  readonly provider: CmdbProviderName;
  readonly url: URL;
  readonly secret: SecretRef | undefined;
  readonly table: string;
  readonly cacheTtlMs: number;
  readonly negativeTtlMs: number;
  readonly cacheMax: number;
  readonly timeoutMs: number;
  readonly enrichTimeoutMs: number;
  readonly ratePerMinute: number;
  readonly connections: number;
  readonly caFile: string | undefined;
}

function problem(variable: string, text: string, accepts: string): ConfigProblem {
  return { variable, problem: text, accepts };
}

/**
 * The URL's own rules: parseable, https (http only to loopback), no credentials, no query or fragment.
 * Every problem of the value is pushed; the URL is returned (normalised to end in '/') whenever it parses,
 * so the provider's own rules (netboxChecks) are judged too, as the SIEM and notify endpoints are. A value
 * without a scheme (`acme.service-now.com`, or `host:443`, which parses as the scheme `host:`) is told to
 * add https:// rather than refused as an unknown scheme.
 */
function baseUrl(text: string, problems: ConfigProblem[]): URL | undefined {
  const name = 'PROBECTL_CMDB_URL';
  if (!text.includes('://')) {
    problems.push(problem(name, URL.canParse(`https://${text}`) ? 'not a URL: no scheme; add https:// in front (e.g. https://acme.service-now.com)' : 'not a URL', 'https://host[:port][/path]'));
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push(problem(name, 'not a URL', 'https://host[:port][/path]'));
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push(problem(name, `unsupported scheme ${url.protocol.replace(/:$/, '')}`, 'https://'));
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) problems.push(problem(name, 'plaintext http:// is refused to a non-loopback host', 'https://'));
  if (url.username || url.password) problems.push(problem(name, 'credentials in the URL are refused; use PROBECTL_CMDB_SECRET', 'a URL without user:password'));
  if (url.search || url.hash) problems.push(problem(name, 'a query or fragment is refused', 'https://host[:port][/path]'));
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url;
}

/**
 * NetBox's own rules: the URL is NetBox's base (probectl adds `/api/…`, so a
 * URL ending in /api would request /api/api/…), and a literal secret is
 * token-shaped (a v1 token is 40 hex characters, a v2 token `nbt_<id>.<secret>`:
 * never a ':' or whitespace, so `user:password` or `Token …` is refused). A
 * reference is judged when resolved. The secret is never echoed.
 */
function netboxChecks(v: CmdbVars, url: URL | undefined, problems: ConfigProblem[]): void {
  if (url && /\/api\/$/.test(url.pathname)) problems.push(problem('PROBECTL_CMDB_URL', 'ends in /api: probectl adds /api/ itself, so requests would go to /api/api/…', 'the NetBox base URL without /api, e.g. https://netbox.example.com'));
  if (v.secret?.scheme === 'literal' && /[:\s]/.test(v.secret.value)) {
    problems.push(problem('PROBECTL_CMDB_SECRET', 'not a NetBox API token (it holds a \':\' or whitespace; NetBox takes no user:password and probectl adds the Token/Bearer prefix itself)', 'a NetBox API token (v1: 40 hex characters; v2: nbt_…), or a secret reference'));
  }
}

/**
 * Validates the CMDB variables together: every variable that is set is
 * checked whether correlation is on or off, and whether or not the provider
 * itself is valid (what needs no provider — the URL's own rules, a literal
 * secret's characters, the TTL and timeout limits — is judged first, so a
 * refused PROBECTL_CMDB_PROVIDER hides none of it). On when PROBECTL_CMDB_PROVIDER is
 * set: then the URL and the secret are required (both CMDBs refuse anonymous
 * API reads), a NetBox URL and literal secret pass netboxChecks, and
 * PROBECTL_CMDB_TABLE is ServiceNow's only. Returns the settings when on and
 * valid, otherwise undefined.
 */
export function cmdbSettings(v: CmdbVars, problems: ConfigProblem[]): CmdbSettings | undefined {
  const before = problems.length;
  const url = v.url === undefined ? undefined : baseUrl(v.url, problems);
  // Checks that need no provider run first, so a provider that is unset or refused (PROBECTL_CMDB_PROVIDER=snow)
  // never hides them: one start names every bad variable.
  if (v.secret?.scheme === 'literal' && /[\u0000-\u001f\u007f]/.test(v.secret.value)) problems.push(problem('PROBECTL_CMDB_SECRET', 'holds a line break or another control character (never valid in an Authorization header)', 'the credential on one line, without control characters'));
  // Left unset (undefined), the default follows a shorter PROBECTL_CMDB_CACHE_TTL / PROBECTL_CMDB_TIMEOUT (an operator who
  // set only PROBECTL_CMDB_CACHE_TTL=30s is never refused for a PROBECTL_CMDB_NEGATIVE_TTL they did not set); a longer
  // value set explicitly is refused, even one written equal to the default (PROBECTL_CMDB_NEGATIVE_TTL=1m).
  const negativeTtl = v.negativeTtl ?? Math.min(NEGATIVE_TTL_DEFAULT_MS, v.cacheTtl);
  const enrichTimeout = v.enrichTimeout ?? Math.min(ENRICH_TIMEOUT_DEFAULT_MS, v.timeout);
  if (negativeTtl > v.cacheTtl) problems.push(problem('PROBECTL_CMDB_NEGATIVE_TTL', 'longer than PROBECTL_CMDB_CACHE_TTL', 'a duration no longer than the cache TTL'));
  if (enrichTimeout > v.timeout) problems.push(problem('PROBECTL_CMDB_ENRICH_TIMEOUT', 'longer than PROBECTL_CMDB_TIMEOUT', 'a duration no longer than the lookup timeout'));
  if (v.provider === undefined) {
    for (const [name, value] of [['PROBECTL_CMDB_URL', v.url], ['PROBECTL_CMDB_SECRET', v.secret], ['PROBECTL_CMDB_TABLE', v.table]] as const) {
      if (value !== undefined) problems.push(problem(name, 'set while PROBECTL_CMDB_PROVIDER is unset (CMDB correlation is off)', 'set PROBECTL_CMDB_PROVIDER too, or unset it'));
    }
    return undefined;
  }
  if (v.url === undefined) problems.push(problem('PROBECTL_CMDB_URL', `required when PROBECTL_CMDB_PROVIDER=${v.provider}`, 'https://host[:port][/path]'));
  if (v.secret === undefined) problems.push(problem('PROBECTL_CMDB_SECRET', `required when PROBECTL_CMDB_PROVIDER=${v.provider}`, v.provider === 'servicenow' ? 'user:password or an OAuth bearer token, or a secret reference' : 'a NetBox API token, or a secret reference'));
  if (v.provider === 'netbox') netboxChecks(v, url, problems);
  if (v.provider !== 'servicenow' && v.table !== undefined) problems.push(problem('PROBECTL_CMDB_TABLE', 'only the servicenow provider reads a table', 'unset it'));
  if (problems.length > before || !url) return undefined;
  return {
    provider: v.provider, url, secret: v.secret, table: v.table ?? 'cmdb_ci',
    cacheTtlMs: v.cacheTtl, negativeTtlMs: negativeTtl, cacheMax: v.cacheMax, timeoutMs: v.timeout,
    enrichTimeoutMs: enrichTimeout, ratePerMinute: v.rateLimit, connections: v.connections, caFile: v.caFile,
  };
}
