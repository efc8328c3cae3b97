/**
 * Every error probectl reports to an operator or an API client carries a stable
 * code from this table. A code is never reused for a different meaning; a retired
 * code stays here with `retired: true`. docs/errors.md lists every code and a test
 * checks both directions.
 */
export const ERROR_CODES = {
  PROBECTL_ERR_CONFIG_INVALID: { status: 500, summary: 'One or more PROBECTL_* variables are invalid; startup is refused.' },
  PROBECTL_ERR_UNAUTHENTICATED: { status: 401, summary: 'No credentials, or credentials that match no active token.' },
  PROBECTL_ERR_FORBIDDEN: { status: 403, summary: 'The token is valid but lacks the permission the route requires.' },
  PROBECTL_ERR_NOT_FOUND: { status: 404, summary: 'No such route, or no such object in the caller\'s tenant.' },
  PROBECTL_ERR_VALIDATION: { status: 400, summary: 'The request body, query or path failed schema validation.' },
  PROBECTL_ERR_BAD_JSON: { status: 400, summary: 'The request body is not valid JSON (RFC 8259) or not valid UTF-8; the JSON path and character are named.' },
  PROBECTL_ERR_JSON_REFUSED: { status: 400, summary: 'The request body is valid JSON but refused at the boundary: NUL or a lone surrogate in a string or key, nesting, members, items or values beyond the limits in docs/api.md, a number that would not be kept exactly, or a __proto__ / constructor.prototype key; the JSON path is named.' },
  PROBECTL_ERR_BODY_TOO_LARGE: { status: 413, summary: 'The request body exceeds PROBECTL_BODY_LIMIT.' },
  PROBECTL_ERR_HEADERS_TOO_LARGE: { status: 431, summary: 'The request line and headers together exceed Node\'s limit of 16 KiB; nothing was routed and the connection is closed.' },
  PROBECTL_ERR_REQUEST_TIMEOUT: { status: 408, summary: 'The request\'s headers did not arrive within 60 s, or the whole request (headers and body) within 120 s; nothing was routed and the connection is closed.' },
  PROBECTL_ERR_BAD_HTTP: { status: 400, summary: 'The request is not valid HTTP/1.1 (a malformed request line or header, a character not allowed in a header, an invalid chunk size, both Content-Length and Transfer-Encoding); nothing was routed and the connection is closed.' },
  PROBECTL_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, summary: 'The request body has a content type the route does not accept.' },
  PROBECTL_ERR_CONFLICT: { status: 409, summary: 'The change conflicts with existing state (for example a duplicate name).' },
  PROBECTL_ERR_INCIDENT_TRANSITION: { status: 409, summary: 'The requested incident status change is not allowed from the current status.' },
  PROBECTL_ERR_INTERNAL: { status: 500, summary: 'An unexpected internal error; details are in the server log, never in the response.' },
  PROBECTL_ERR_DB_UNAVAILABLE: { status: 503, summary: 'The database cannot be reached or is not migrated.' },
  PROBECTL_ERR_MIGRATION_CHECKSUM: { status: 500, summary: 'An applied migration differs from the file shipped with this build.' },
  PROBECTL_ERR_MIGRATION_NEWER: { status: 500, summary: 'The database carries migrations newer than this build knows.' },
  PROBECTL_ERR_DATA_DIR_LOCKED: { status: 500, summary: 'Another process holds the embedded database in this data directory.' },
  PROBECTL_ERR_TENANT_SCOPE: { status: 500, summary: 'Tenant data was touched without a valid tenant scope.' },
  PROBECTL_ERR_AUDIT_CHAIN_BROKEN: { status: 500, summary: 'The audit hash chain does not verify; the first broken seq is named.' },
  PROBECTL_ERR_SERVER_UNREACHABLE: { status: 503, summary: 'The CLI could not reach the running server for this data directory.' },
  PROBECTL_ERR_LISTEN_UNAVAILABLE: { status: 500, summary: 'The address in PROBECTL_LISTEN is in use or cannot be bound; startup is refused before anything is changed.' },
  PROBECTL_ERR_TLS_SETUP: { status: 500, summary: 'The server certificate or key could not be loaded or generated.' },
  PROBECTL_ERR_CANONICAL_ENCODING: { status: 500, summary: 'A value cannot be canonically encoded for the audit hash (non-finite number, unsafe integer).' },
  PROBECTL_ERR_IOC_FILE: { status: 500, summary: 'An indicator file could not be read or has an invalid line.' },
  PROBECTL_ERR_CLI_USAGE: { status: 400, summary: 'The CLI was called with missing or invalid arguments.' },
  // Secret references (src/secrets)
  PROBECTL_ERR_SECRET_REF_INVALID: { status: 500, summary: 'A secret reference is malformed; the variable is named, the value never shown.' },
  PROBECTL_ERR_SECRET_BACKEND_UNCONFIGURED: { status: 500, summary: 'A reference names a secret backend that is not configured.' },
  PROBECTL_ERR_SECRET_UNAVAILABLE: { status: 503, summary: 'The secret backend is unreachable, timed out or answered with a server error.' },
  PROBECTL_ERR_SECRET_DENIED: { status: 503, summary: 'The secret backend refused probectl\'s credentials (401/403).' },
  PROBECTL_ERR_SECRET_NOT_FOUND: { status: 503, summary: 'The secret or the named field does not exist in the backend.' },
  PROBECTL_ERR_SECRET_MALFORMED: { status: 503, summary: 'The secret backend answered with something that is not a valid secret.' },
  PROBECTL_ERR_SECRET_INSECURE_TRANSPORT: { status: 500, summary: 'A secret backend address uses plain http:// to a non-loopback host.' },
  // -- secrets codes end
  // Encryption at rest (src/core/envelope.ts, src/store/sealed.ts)
  PROBECTL_ERR_ENCRYPTION_KEY_UNKNOWN: { status: 500, summary: 'A stored value is sealed with a key that is neither PROBECTL_ENCRYPTION_KEY nor PROBECTL_ENCRYPTION_KEY_PREVIOUS; the key id and the row are named (never a key). Set the key it was sealed with as PROBECTL_ENCRYPTION_KEY_PREVIOUS.' },
  PROBECTL_ERR_ENCRYPTION_DECRYPT: { status: 500, summary: 'A stored encrypted value did not authenticate (a wrong key under a known id, a tampered value, or a value moved from another row or tenant) or is malformed; nothing of it is returned.' },
  PROBECTL_ERR_ENCRYPTION_NOT_READY: { status: 503, summary: 'Readiness: at startup, stored encrypted values were found sealed with a key that is neither PROBECTL_ENCRYPTION_KEY nor PROBECTL_ENCRYPTION_KEY_PREVIOUS (every read of them would fail); the key ids and tables are named (never a key). Restart with that key as PROBECTL_ENCRYPTION_KEY_PREVIOUS (or, embedded, restore the key file).' },
  PROBECTL_ERR_ENCRYPTION_UNCONFIGURED: { status: 500, summary: 'A value that is kept encrypted was read or written through a database opened without an encryption key.' },
  // -- encryption codes end
  // SIEM export (src/siem)
  PROBECTL_ERR_SIEM_ENCODING: { status: 500, summary: 'An event cannot be rendered in the chosen wire format.' },
  PROBECTL_ERR_SIEM_EVENT_INVALID: { status: 400, summary: 'A SIEM event given to probectl siem preview is not a valid canonical event, audit record or signal; the field is named.' },
  PROBECTL_ERR_DELIVERY_UNAVAILABLE: { status: 503, summary: 'An operator\'s re-send (parked retry, replay) gave up: the receiver did not accept within the operation\'s attempts and deadline; nothing was counted delivered and parked events stay parked.' },
  PROBECTL_ERR_SIEM_DISABLED: { status: 409, summary: 'A SIEM operation was asked for while SIEM export is off.' },
  // -- siem codes end
  // On-call and ITSM mirroring (src/notify)
  PROBECTL_ERR_INBOUND_BUSY: { status: 503, summary: 'An inbound webhook delivery\'s incident kept changing (other deliveries, replicas or API calls) while it was applied, past a few tries; nothing was changed and Retry-After is set: the vendor sends it again.' },
  PROBECTL_ERR_NOTIFY_DISABLED: { status: 409, summary: 'An on-call operation was asked for while no connector is configured (PROBECTL_NOTIFY_CONNECTORS is empty).' },
  PROBECTL_ERR_WEBHOOK_UNAUTHENTICATED: { status: 401, summary: 'An inbound webhook delivery was refused before anything was parsed or changed: unknown id or provider, unsigned, a signature that does not match, a timestamp outside the 5-minute window, a replayed signature, or a wrong token.' },
  PROBECTL_ERR_WEBHOOK_BODY: { status: 400, summary: 'An authenticated inbound webhook body is neither the portable {"external_ref","status"} document nor one the provider understands; the problem is named.' },
  // -- notify codes end
  // Metrics federation (src/federation)
  PROBECTL_ERR_METRICS_QUERY_REFUSED: { status: 400, summary: 'A metrics query or match[] selector was refused: not a plain series selector or constant number, not valid PromQL, or selecting nothing but the tenant (the query API answers it as Prometheus errorType bad_data; /federate as this code).' },
  PROBECTL_ERR_METRICS_BAD_PARAM: { status: 400, summary: 'A Prometheus API time, duration or step parameter is invalid or asks for too many points; the parameter is named as Prometheus names it.' },
  PROBECTL_ERR_METRICS_WRITE_MALFORMED: { status: 400, summary: 'A remote-write body is not valid snappy-compressed protobuf WriteRequest, or carries an invalid series (missing __name__, bad or duplicate label name, invalid UTF-8, native histograms) or a sample the store would not keep (more than 10 minutes ahead; in the embedded store, older than PROBECTL_METRICS_RETENTION); nothing of the request is stored; Prometheus does not retry a 400.' },
  PROBECTL_ERR_METRICS_WRITE_LIMIT: { status: 400, summary: 'A remote-write request exceeds a configured limit (body size, decompressed size, series, samples, labels per series, label name or value length); the limit is named.' },
  PROBECTL_ERR_METRICS_BUSY: { status: 503, summary: 'A metrics read waited PROBECTL_METRICS_QUERY_TIMEOUT for its turn while PROBECTL_METRICS_MAX_CONCURRENT_QUERIES reads were in flight; nothing was read: retry (Prometheus errorType unavailable).' },
  PROBECTL_ERR_METRICS_WRITE_UNSUPPORTED: { status: 415, summary: 'A remote-write request uses a protocol version or encoding probectl does not accept (remote-write 2.0, an encoding other than snappy); a Prometheus sender falls back to 1.0 on 415.' },
  // -- federation codes end
  // Metrics store (src/federation/store)
  PROBECTL_ERR_METRICS_TOO_MANY_SERIES: { status: 422, summary: 'A metrics read matches more series than PROBECTL_METRICS_MAX_SERIES allows; nothing is returned (never truncated): narrow the selector.' },
  PROBECTL_ERR_METRICS_TOO_MANY_SAMPLES: { status: 422, summary: 'A metrics query would load or return more samples than PROBECTL_METRICS_QUERY_MAX_SAMPLES allows (Prometheus\'s --query.max-samples); nothing is returned: narrow the selector or the time range.' },
  PROBECTL_ERR_METRICS_TENANT_SERIES_LIMIT: { status: 400, summary: 'New series were refused because the tenant has as many active series as PROBECTL_METRICS_MAX_TENANT_SERIES allows; samples of existing series were stored.' },
  PROBECTL_ERR_METRICS_SAMPLE_CONFLICT: { status: 400, summary: 'A sample carries a different value for a timestamp the series already has; the stored value is kept and the sample refused (an identical re-sent sample is accepted and stored once).' },
  PROBECTL_ERR_METRICS_SAMPLE_TOO_NEW: { status: 400, summary: 'A sample lies further in the future than the store accepts (10 minutes, as Prometheus); it was refused.' },
  PROBECTL_ERR_METRICS_BAD_SERIES: { status: 400, summary: 'A series given to the metrics store has an invalid label set or timestamp (the problem is named); nothing of the request was stored.' },
  PROBECTL_ERR_METRICS_BAD_MATCHER: { status: 400, summary: 'A label matcher is invalid: an unknown operator, a regular expression RE2 does not accept, or a tenant_id matcher other than the caller\'s own tenant.' },
  PROBECTL_ERR_METRICS_QUERY_TIMEOUT: { status: 503, summary: 'A metrics read ran out of time: its regular-expression matchers together used more CPU time than the read\'s budget (5 s) over the tenant\'s values of their labels; simplify the expression (Prometheus errorType timeout).' },
  PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE: { status: 503, summary: 'Upstream mode: the metrics engine (PROBECTL_METRICS_UPSTREAM_URL) is unreachable, answered a server error or 429, refused probectl\'s own credentials, or answered 2xx with something other than its API\'s JSON (or federate\'s text format), such as a proxy\'s HTML page; nothing was stored or answered: retry (remote-write answers 503 with Retry-After so Prometheus retries; queries answer Prometheus errorType unavailable).' },
  PROBECTL_ERR_METRICS_UPSTREAM_TIMEOUT: { status: 503, summary: 'Upstream mode: the metrics engine did not answer within PROBECTL_METRICS_UPSTREAM_TIMEOUT; the call was cancelled (Prometheus errorType timeout; remote-write: retry).' },
  PROBECTL_ERR_METRICS_UPSTREAM_REFUSED: { status: 400, summary: 'Upstream mode: the metrics engine refused the tenant-scoped request with a 4xx; the answer keeps the engine\'s status and error class, its message with label sets elided.' },
  PROBECTL_ERR_METRICS_UPSTREAM_CHECK: { status: 500, summary: 'Upstream mode: at startup the metrics engine did not answer a query and an empty remote-write with the configured URL, TLS settings and credentials; startup is refused (the reason is named, never the credentials).' },
  PROBECTL_ERR_METRICS_CORRUPT_CHUNK: { status: 500, summary: 'A stored metrics chunk could not be decoded; the series and chunk are named in the server log.' },
  // -- metrics store codes end
  // CMDB correlation (src/cmdb) and the agent registry
  PROBECTL_ERR_CMDB_DISABLED: { status: 409, summary: 'A CMDB lookup was asked for while CMDB correlation is off (PROBECTL_CMDB_PROVIDER is unset).' },
  PROBECTL_ERR_CMDB_KEY_INVALID: { status: 400, summary: 'A CMDB lookup key is not an IP address, a host name, an FQDN or a URL naming one (a CIDR prefix, free text or a query operator character is refused before any request).' },
  PROBECTL_ERR_CMDB_UNAVAILABLE: { status: 503, summary: 'The CMDB could not answer (unreachable, timed out, refused the credential, throttled, malformed) and nothing was cached for the key; incident and agent views still answer, with the CMDB part marked unavailable.' },
  PROBECTL_ERR_CMDB_RATE_LIMITED: { status: 429, summary: 'The tenant made more CMDB lookups this minute than PROBECTL_CMDB_RATE_LIMIT allows; retry after retry_after_seconds.' },
  // -- cmdb codes end
} as const satisfies Record<string, { status: number; summary: string; retired?: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ProbectlError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Safe, structured detail for API clients (never secrets). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown>; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProbectlError';
    this.code = code;
    this.status = options?.status ?? ERROR_CODES[code].status;
    this.details = options?.details;
  }

  toJSON(): { code: ErrorCode; message: string } & Record<string, unknown> {
    return { code: this.code, message: this.message, ...(this.details ?? {}) };
  }
}

export function isProbectlError(err: unknown, code?: ErrorCode): err is ProbectlError {
  return err instanceof ProbectlError && (code === undefined || err.code === code);
}
