import type { SectionValue } from '../config/section.ts';
import { bool, duration, hostPort, int, list, oneOf, optStr, readableFile, str, VarProblem } from '../config/vars.ts';
import { parseHostPort } from '../core/net.ts';
import { isUuid } from '../core/ids.ts';
import { secretRef } from '../secrets/config-var.ts';

/** The server's own section: data directory, database, listener and TLS, logging, incidents, authentication audit, TLS posture, indicator files, metrics. */
export const serverVars = {
  dataDir: str('PROBECTL_DATA_DIR', { default: './.probectl', doc: 'Directory for the embedded database, the generated server certificate, the admin token file and the local control socket. Created with mode 0700.' }),
  databaseUrl: secretRef('PROBECTL_DATABASE_URL', { doc: 'PostgreSQL connection URL (`postgres://user:pass@host:5432/db?sslmode=verify-full`). When unset, probectl uses the embedded PGlite database in the data directory. May be a secret reference.' }),
  databasePassword: secretRef('PROBECTL_DATABASE_PASSWORD', { doc: 'Password for the PostgreSQL connection; overrides any password in PROBECTL_DATABASE_URL. May be a secret reference (for example `vault:kv/probectl/db#password`).' }),
  encryptionKey: secretRef('PROBECTL_ENCRYPTION_KEY', { doc: 'The key that encrypts the sensitive payloads kept in the database (AES-256-GCM): 32 random bytes, base64 (`openssl rand -base64 32`). Required with PROBECTL_DATABASE_URL; with the embedded database, when unset, one is generated on first start into `<data dir>/encryption-key` (mode 0600). May be a secret reference. Back it up: rows sealed with it cannot be read without it. See [encryption.md](encryption.md).' }),
  encryptionKeyPrevious: secretRef('PROBECTL_ENCRYPTION_KEY_PREVIOUS', { doc: 'During a key rotation, the key being replaced: values sealed with it still read, and `probectl keys rotate` re-seals them with PROBECTL_ENCRYPTION_KEY. Needs PROBECTL_ENCRYPTION_KEY. May be a secret reference.' }),
  databaseCaFile: readableFile('PROBECTL_DATABASE_CA_FILE', { doc: 'PEM bundle of CAs trusted for the PostgreSQL server certificate, added to the system roots.' }),
  databasePoolSize: int('PROBECTL_DATABASE_POOL_SIZE', { default: 10, min: 1, max: 200, doc: 'Maximum PostgreSQL connections held by this process.' }),
  listen: hostPort('PROBECTL_LISTEN', { default: '127.0.0.1:8443', doc: 'Address the HTTPS API listens on.' }),
  tlsCertFile: readableFile('PROBECTL_TLS_CERT_FILE', { doc: 'PEM server certificate (with chain). When unset together with PROBECTL_TLS_KEY_FILE, a self-signed certificate is generated into the data directory on first start.' }),
  tlsKeyFile: readableFile('PROBECTL_TLS_KEY_FILE', { doc: 'PEM private key for PROBECTL_TLS_CERT_FILE.', secret: false }),
  allowPlaintextHttp: bool('PROBECTL_ALLOW_PLAINTEXT_HTTP', { default: false, doc: 'Serve plain HTTP instead of HTTPS. Accepted only when PROBECTL_LISTEN is a loopback address.' }),
  bodyLimit: int('PROBECTL_BODY_LIMIT', { default: 1_048_576, min: 1024, max: 64 * 1_048_576, doc: 'Maximum request body size in bytes; larger bodies get 413.' }),
  logLevel: oneOf('PROBECTL_LOG_LEVEL', { values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'], default: 'info', doc: 'Minimum level of the JSON log written to stdout.' }),
  shutdownTimeout: duration('PROBECTL_SHUTDOWN_TIMEOUT', { default: '30s', minMs: 1000, maxMs: 600_000, doc: 'How long SIGTERM waits for in-flight requests and background work before closing the database.' }),
  incidentWindow: duration('PROBECTL_INCIDENT_WINDOW', { default: '30m', minMs: 1000, maxMs: 30 * 86_400_000, doc: 'A signal joins the open incident with the same correlation key if that incident saw a signal within this window; otherwise it opens a new incident.' }),
  authFailureAuditPerMinute: int('PROBECTL_AUTH_FAILURE_AUDIT_PER_MINUTE', { default: 10, min: 1, max: 10_000, doc: 'Failed authentications recorded in the audit log per source address per minute; further failures in that minute are counted and reported in the next record.' }),
  authSuccessAuditInterval: duration('PROBECTL_AUTH_SUCCESS_AUDIT_INTERVAL', { default: '5m', minMs: 0, maxMs: 86_400_000, doc: 'A successful token authentication is recorded once per token and source address per interval (0 records every request).' }),
  tlsPostureTargets: list('PROBECTL_TLS_POSTURE_TARGETS', {
    accepts: 'comma-separated <tenant-uuid>|host:port[|servername]',
    doc: 'Endpoints whose TLS posture is checked, each registered against one tenant: `<tenant-uuid>|host:port[|servername]`. Findings (expired, expiring, self-signed or untrusted chain, hostname mismatch, protocol below TLS 1.2) become signals in that tenant.',
    item: (text) => {
      const [tenant, address, servername, extra] = text.split('|');
      if (extra !== undefined || tenant === undefined || address === undefined) throw new VarProblem('expected <tenant-uuid>|host:port[|servername]');
      if (!isUuid(tenant)) throw new VarProblem('tenant is not a UUID');
      const hp = parseHostPort(address);
      if (!hp) throw new VarProblem('address is not host:port');
      return Object.freeze({ tenantId: tenant.toLowerCase(), host: hp.host, port: hp.port, servername: servername || undefined });
    },
  }),
  tlsPostureInterval: duration('PROBECTL_TLS_POSTURE_INTERVAL', { default: '1h', minMs: 10_000, maxMs: 7 * 86_400_000, doc: 'How often each TLS posture target is checked.' }),
  tlsPostureExpiryDays: int('PROBECTL_TLS_POSTURE_EXPIRY_DAYS', { default: 14, min: 1, max: 365, doc: 'A certificate expiring within this many days produces a `tls.expiring` signal.' }),
  tlsPostureCaFile: readableFile('PROBECTL_TLS_POSTURE_CA_FILE', { doc: 'PEM bundle of private CAs trusted by the TLS posture check in addition to the system roots.' }),
  iocFiles: list('PROBECTL_IOC_FILES', {
    accepts: 'comma-separated <tenant-uuid>|/path/to/indicators',
    doc: 'Indicator files loaded into a tenant: `<tenant-uuid>|/path`. One indicator per line: `value[,confidence[,source]]` (IP, CIDR or domain; `#` starts a comment). Reloaded when the file changes.',
    item: (text) => {
      const [tenant, path, extra] = text.split('|');
      if (extra !== undefined || tenant === undefined || !path) throw new VarProblem('expected <tenant-uuid>|/path');
      if (!isUuid(tenant)) throw new VarProblem('tenant is not a UUID');
      return Object.freeze({ tenantId: tenant.toLowerCase(), path });
    },
  }),
  iocReloadInterval: duration('PROBECTL_IOC_RELOAD_INTERVAL', { default: '1m', minMs: 1000, maxMs: 86_400_000, doc: 'How often indicator files are checked for changes.' }),
  metricsPublic: bool('PROBECTL_METRICS_PUBLIC', { default: false, doc: 'Serve GET /metrics without authentication. When false, /metrics needs a token of the provider tenant with metrics-read.' }),
  tenantHint: optStr('PROBECTL_DEFAULT_TENANT_NAME', { doc: 'Name of the tenant created on first start with an empty database (default `default`).' }),
};

/** The server's own settings as parsed. */
export type ServerSettings = SectionValue<typeof serverVars>;
