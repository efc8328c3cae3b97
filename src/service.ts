import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { appendAudit } from './audit/log.ts';
import { SensitiveReads } from './audit/sensitive-reads.ts';
import { configReferences, type Config } from './settings.ts';
import { systemClock, type Clock } from './core/clock.ts';
import { isProbectlError, ProbectlError } from './core/errors.ts';
import { createLogger, createStderrLogger } from './core/logger.ts';
import { formatHostPort } from './core/net.ts';
import { announcedAdminToken, bootstrap, firstRequestCommand, unannounced } from './identity/bootstrap.ts';
import type { IngestDeps } from './incidents/ingest.ts';
import type { IncidentEnricher } from './incidents/configuration-items.ts';
import type { IncidentListener } from './incidents/listeners.ts';
import { DeviceCredentials } from './secrets/device-credentials.ts';
import { loadKeyring } from './secrets/encryption-key.ts';
import { registerSecretsMetrics } from './secrets/metrics.ts';
import { redactRef, type SecretRef } from './secrets/ref.ts';
import type { SecretResolver } from './secrets/resolver.ts';
import { buildSecretResolver } from './secrets/setup.ts';
import { resolveAtStartup } from './secrets/startup.ts';
import { TlsIdentity } from './secrets/tls-identity.ts';
import { INTEGRATIONS } from './integrations/registry.ts';
import type { IntegrationRuntime } from './integrations/types.ts';
import { buildApp, clientErrorAnswer, HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from './server/app.ts';
import { Authenticator } from './server/auth.ts';
import type { AppDeps } from './server/deps.ts';
import { listenRefused, reserveListen } from './server/listen.ts';
import { Metrics } from './server/metrics.ts';
import { mountedRoutes } from './server/routes/index.ts';
import { loadServerIdentity } from './server/tls-identity.ts';
import { withKeyring, type Db } from './store/db.ts';
import { loadLegacyPlaintext, probeSealedKeys, type UnknownKeyFinding } from './store/sealed.ts';
import { dataPaths, ensureDataDir, lockDataDir, type DataDirLock } from './store/datadir.ts';
import { isMigrated, migrate } from './store/migrate.ts';
import { openStore } from './store/open.ts';
import { IocFileLoader } from './threat/ioc-loader.ts';
import { PostureScheduler } from './threat/posture-scheduler.ts';
import { VERSION } from './version.ts';

export interface RunningService {
  url: string;
  fingerprint256: string | undefined;
  adminTokenFile: string | undefined;
  deps: AppDeps;
  app: FastifyInstance;
  posture: PostureScheduler;
  iocFiles: IocFileLoader;
  devices: DeviceCredentials;
  /** The started integrations (those that are on), by name. */
  integrations: ReadonlyMap<string, IntegrationRuntime<unknown>>;
  /** The reloadable HTTPS identity (undefined when serving plain HTTP on loopback). */
  tlsIdentity: TlsIdentity | undefined;
  close(): Promise<void>;
}

export interface ServiceOptions {
  log?: Logger;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
}

// Unix socket paths are limited to 107 bytes on Linux.
const MAX_SOCKET_PATH = 100;

async function resolveText(secrets: SecretResolver, variable: string, ref: SecretRef | undefined): Promise<string | undefined> {
  if (ref === undefined) return undefined;
  try {
    return await secrets.use(ref, (b) => b.toString('utf8'));
  } catch (err) {
    if (!isProbectlError(err)) throw err;
    throw new ProbectlError(err.code, `${variable} (${redactRef(ref)}): ${err.message}`);
  }
}

/**
 * Opens the configured database, resolving its credentials through the secret
 * resolver at this moment (a resolver is built for the call when none is given).
 */
export async function openConfiguredStore(config: Config, secrets?: SecretResolver): Promise<Db> {
  const resolver = secrets ?? buildSecretResolver(config);
  try {
    return await openStore({
      databaseUrl: await resolveText(resolver, 'PROBECTL_DATABASE_URL', config.databaseUrl),
      // A long-lived resolver answers each new pool connection, so a rotated password applies without a restart.
      databasePassword: secrets && config.databasePassword
        ? passwordSource(secrets, config.databasePassword)
        : await resolveText(resolver, 'PROBECTL_DATABASE_PASSWORD', config.databasePassword),
      databaseCaFile: config.databaseCaFile,
      poolSize: config.databasePoolSize,
      dataDir: config.dataDir,
    });
  } finally {
    if (!secrets) await resolver.close();
  }
}

/** Asked by the pool for each new connection; the resolver's sealed lease makes repeats cheap. */
function passwordSource(secrets: SecretResolver, ref: SecretRef): () => Promise<string> {
  return async () => (await resolveText(secrets, 'PROBECTL_DATABASE_PASSWORD', ref)) as string;
}

/** The HTTPS identity: references, the operator's files, or the generated self-signed pair — all reloadable in place. */
async function serverTlsIdentity(config: Config, tlsDir: string, secrets: SecretResolver, clock: Clock): Promise<{ identity: TlsIdentity; generated: string | undefined; certFile: string | undefined }> {
  const common = { name: 'server', resolver: secrets, clock, intervalMs: config.tlsReloadInterval };
  if (config.tlsCertRef && config.tlsKeyRef) {
    return { identity: await TlsIdentity.load({ ...common, cert: { ref: config.tlsCertRef }, key: { ref: config.tlsKeyRef } }), generated: undefined, certFile: undefined };
  }
  const files = await loadServerIdentity({ certFile: config.tlsCertFile, keyFile: config.tlsKeyFile, tlsDir });
  const keyFile = config.tlsKeyFile ?? join(tlsDir, 'server.key');
  return {
    identity: await TlsIdentity.load({ ...common, cert: { file: files.certPath }, key: { file: keyFile } }),
    generated: files.generated ? files.certPath : undefined,
    certFile: files.certPath,
  };
}

/** A URL a client on this machine can use: a wildcard listen address is reached through loopback. */
function localUrl(scheme: string, host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${scheme}://${formatHostPort({ host: reachable, port })}`;
}

/**
 * Undo steps run last-in first-out, once: `close()` for a started service,
 * `fail(err)` when starting failed half-way (undoing what was done, rethrowing).
 */
function cleanupStack() {
  const steps: Array<() => Promise<void> | void> = [];
  let closing: Promise<void> | undefined;
  const unwind = async () => {
    for (const step of steps.reverse()) await step();
  };
  return {
    steps,
    close(): Promise<void> {
      closing ??= unwind();
      return closing;
    },
    async fail(err: unknown): Promise<never> {
      await unwind().catch(() => undefined);
      throw err;
    },
  };
}

/** The app and everything it stands on, built the same way for the server and for the CLI in-process. */
interface Core {
  deps: AppDeps;
  app: FastifyInstance;
  devices: DeviceCredentials;
  integrations: Map<string, IntegrationRuntime<unknown>>;
  adminTokenFile: string | undefined;
  /** This open created the default tenant and its admin token. */
  createdTenant: boolean;
  tls: { identity: TlsIdentity; generated: string | undefined; certFile: string | undefined } | undefined;
}

/**
 * Opens the store (migrated, bootstrapped), the secret resolver, the
 * dependencies every route uses and the integrations that are on, and builds
 * the app with every route. `background`: the server starts the integrations'
 * background work and its HTTPS identity; the CLI's in-process app starts
 * neither. Pushes its undo steps onto `cleanup`.
 */
/** The startup probe's findings as one line (key ids and tables, never a key); undefined when there are none. */
function describeUnknownKeys(found: UnknownKeyFinding[]): string | undefined {
  if (found.length === 0) return undefined;
  const ids = [...new Set(found.map((f) => f.keyId))].join(', ');
  const where = [...new Set(found.map((f) => `${f.table}.${f.column}`))].join(', ');
  return `stored values in ${where} (${new Set(found.map((f) => f.tenant)).size} tenant(s)) are sealed with key ${ids}, which is neither PROBECTL_ENCRYPTION_KEY nor PROBECTL_ENCRYPTION_KEY_PREVIOUS; every read of them would fail (docs/encryption.md)`;
}

async function openCore(config: Config, opts: ServiceOptions & { background: boolean }, cleanup: Array<() => Promise<void> | void>): Promise<Core> {
  const log = opts.log ?? createLogger(config.logLevel);
  const clock = opts.clock ?? systemClock;
  const paths = dataPaths(config.dataDir);
  const secrets = buildSecretResolver(config, { env: opts.env ?? process.env, clock });
  cleanup.push(() => secrets.close());
  const references = await resolveAtStartup(secrets, configReferences(config));
  if (references.length > 0 && opts.background) log.info({ references: references.length }, 'secret references resolved');
  const devices = new DeviceCredentials({
    resolver: secrets, specs: config.deviceCredentials, clock,
    onSkip: (name, err) => log.warn({ credential: name, code: err.code, reason: err.message }, 'poll cycle skipped: device credential unavailable'),
  });
  secrets.addHealthContributor(devices);

  // The keys that seal the payloads kept at rest (docs/encryption.md), handed to the store with it.
  const keys = await loadKeyring(config, secrets);
  if (keys.generatedFile) log.info({ key_file: keys.generatedFile, key_id: keys.keyring.current.id }, 'first start: generated the encryption key into the file named here (mode 0600); back it up with the database');
  const db = withKeyring(await openConfiguredStore(config, secrets), keys.keyring);
  cleanup.push(() => db.close());
  const report = await migrate(db);
  if (report.applied.length > 0) log.info({ applied: report.applied }, 'database migrations applied');
  await loadLegacyPlaintext(db);
  const encryptionProblem = describeUnknownKeys(await probeSealedKeys(db));
  if (encryptionProblem) log.error({ code: 'PROBECTL_ERR_ENCRYPTION_KEY_UNKNOWN', key_id: keys.keyring.current.id }, `not ready: ${encryptionProblem}`);

  const boot = await bootstrap(db, clock, { tenantName: config.tenantHint ?? 'default', adminTokenPath: paths.adminToken, audit: appendAudit });
  if (boot.adminTokenFile) {
    log.info({ tenant: boot.provider.id, admin_token_file: boot.adminTokenFile }, boot.created
      ? 'first start: created the default tenant; its admin token is in the file named here (mode 0600)'
      : 'first start of the server (the default tenant was created before, by a start that did not serve or a CLI command): its admin token is in the file named here (mode 0600)');
  }

  const metrics = new Metrics();
  registerSecretsMetrics(metrics.registry, secrets);
  const listeners: IncidentListener[] = [];
  const enrichers: IncidentEnricher[] = [];
  const ingest: IngestDeps = {
    db, clock, incidentWindowMs: config.incidentWindow, listeners,
    onIngested: (tenant, family, opened) => {
      metrics.signalsIngested.inc({ tenant, family });
      if (opened) metrics.incidentsOpened.inc({ tenant });
    },
  };
  const integrations = new Map<string, IntegrationRuntime<unknown>>();
  const auth = new Authenticator({
    db, clock, providerTenantId: boot.provider.id,
    failureAuditPerMinute: config.authFailureAuditPerMinute,
    successAuditIntervalMs: config.authSuccessAuditInterval,
    onOutcome: (outcome) => metrics.authOutcomes.inc({ outcome }),
  });
  cleanup.push(() => auth.close());
  const deps: AppDeps = {
    config, db, clock, log, metrics, ingest,
    providerTenantId: boot.provider.id,
    auth,
    sensitiveReads: new SensitiveReads(clock, config.authSuccessAuditInterval),
    audit: appendAudit,
    secrets,
    integrations,
    isReady: async () => (await db.ping()) && (await isMigrated(db)),
    encryptionProblem,
  };
  for (const integration of INTEGRATIONS) {
    const settings = config.integrations[integration.name];
    if (settings === undefined || !integration.start) continue;
    const started = await integration.start(settings, {
      db, clock, log: log.child({ component: integration.name }), registry: metrics.registry, secrets, version: VERSION,
      tlsReloadIntervalMs: config.tlsReloadInterval, providerTenantId: boot.provider.id, background: opts.background, enrichers,
    });
    integrations.set(integration.name, started);
    if (started.incidentListener) listeners.push(started.incidentListener);
    if (started.incidentEnricher) enrichers.push(started.incidentEnricher);
    cleanup.push(() => started.stop());
    if (opts.background) log.info({ integration: integration.name, ...started.summary() }, `${integration.config.title} on`);
  }

  const tls = config.allowPlaintextHttp || !opts.background ? undefined : await serverTlsIdentity(config, paths.tlsDir, secrets, clock);
  if (tls?.generated) log.info({ cert: tls.generated, sha256_fingerprint: tls.identity.fingerprint256 }, 'generated a self-signed server certificate');
  const material = tls?.identity.material();
  const app = await buildApp(deps, { routes: mountedRoutes(config), version: VERSION, logAnsweredErrors: opts.background, ...(material ? { tls: { cert: material.cert, key: material.key } } : {}) });
  cleanup.push(async () => {
    // Fastify closes the connections idle when close() starts; a keep-alive connection whose last
    // request finishes during shutdown goes idle later and would hold the close open until the
    // shutdown timeout. Close those as they go idle, so shutdown ends with the in-flight work.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
    try {
      await app.close();
    } finally {
      clearInterval(sweep);
    }
  });
  return { deps, app, devices, integrations, adminTokenFile: boot.adminTokenFile, createdTenant: boot.created === true, tls };
}

export async function startService(config: Config, opts: ServiceOptions = {}): Promise<RunningService> {
  const paths = dataPaths(config.dataDir);
  // Bind first: a taken PROBECTL_LISTEN refuses startup before anything is created or migrated.
  const reservation = await reserveListen(config.listen);
  const stack = cleanupStack();
  const cleanup = stack.steps;
  cleanup.push(() => reservation.release());
  let lock: DataDirLock | undefined;
  try {
    ensureDataDir(config.dataDir);
    lock = config.databaseUrl ? undefined : lockDataDir(config.dataDir, 'start the server');
    cleanup.push(() => lock?.release());
    const core = await openCore(config, { ...opts, background: true }, cleanup);
    const { deps, app, tls } = core;
    const { log, db, clock, metrics, ingest } = deps;
    const identity = tls?.identity;
    if (identity) {
      // Renewals apply to new connections; minVersion must be restated because setSecureContext replaces the options.
      identity.attach(app.server as unknown as TlsServer, { minVersion: 'TLSv1.2' });
      identity.start();
      cleanup.push(() => identity.stop());
    }
    await reservation.release();
    try {
      await app.listen({ host: config.listen.host, port: config.listen.port });
    } catch (err) {
      // Taken in the instant between the reservation and the listener: the same refusal.
      throw listenRefused(err, config.listen);
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.listen.port;
    const hostText = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
    const url = `${identity ? 'https' : 'http'}://${hostText}:${port}`;

    const control = await listenControlSocket(app, paths.controlSocket, log);
    if (control) cleanup.push(() => new Promise<void>((resolve) => control.close(() => resolve())));

    const posture = new PostureScheduler({
      targets: config.tlsPostureTargets, intervalMs: config.tlsPostureInterval, expiryDays: config.tlsPostureExpiryDays,
      caFile: config.tlsPostureCaFile, ingest, clock, log: log.child({ component: 'tls-posture' }),
      onResult: (result) => metrics.postureChecks.inc({ result }),
    });
    const iocFiles = new IocFileLoader({
      sources: config.iocFiles, intervalMs: config.iocReloadInterval, db, clock, log: log.child({ component: 'ioc-files' }),
      onLoad: (result) => metrics.iocFileLoads.inc({ result }),
    });
    posture.start();
    iocFiles.start();
    cleanup.push(() => posture.stop(), () => iocFiles.stop());

    if (core.adminTokenFile) {
      const command = firstRequestCommand({ url: localUrl(identity ? 'https' : 'http', config.listen.host, port), adminTokenFile: core.adminTokenFile, caFile: tls?.certFile });
      log.info({ command }, 'first start: reach the API with the command in "command" (it reads the admin token from its file)');
    }
    log.info({ url, pid: process.pid, version: VERSION, driver: db.driver, data_dir: config.dataDir, ...(identity ? { sha256_fingerprint: identity.fingerprint256 } : {}) }, 'probectl serving');
    if (core.adminTokenFile) {
      // Housekeeping only: a marker that cannot be removed must not stop a server that serves (the next start announces again).
      try {
        announcedAdminToken(core.adminTokenFile);
      } catch (err) {
        log.warn({ marker: unannounced(core.adminTokenFile), reason: (err as { code?: unknown }).code ?? String(err) }, 'could not remove the first-start marker: the next start repeats the first-start guidance; remove the file named in "marker"');
      }
    }

    return {
      url, fingerprint256: identity?.fingerprint256, adminTokenFile: core.adminTokenFile, deps, app, posture, iocFiles, devices: core.devices,
      integrations: core.integrations, tlsIdentity: identity,
      close: () => stack.close(),
    };
  } catch (err) {
    return stack.fail(err);
  }
}

/** `probectl migrate`: applies pending migrations (under the data-directory lock on the embedded database). */
export async function migrateDatabase(config: Config): Promise<{ applied: string[]; current: number }> {
  const lock = config.databaseUrl ? undefined : lockDataDir(config.dataDir, 'migrate (the running server already migrated it at start)');
  try {
    const db = await openConfiguredStore(config);
    try {
      return await migrate(db);
    } finally {
      await db.close();
    }
  } finally {
    lock?.release();
  }
}

/** The app in this process, without a listener or background work: what the CLI calls when no server runs. */
export interface InProcessApp {
  app: FastifyInstance;
  adminTokenFile: string;
  close(): Promise<void>;
}

/**
 * The same app the server runs, opened in this process for one CLI command
 * when no server holds the data directory (or the database is PostgreSQL):
 * the store migrated and bootstrapped as the server would, the integrations
 * that are on without their background work, every route. The CLI calls its
 * routes with the admin token (one authorization path for every operation).
 */
export async function openInProcessApp(config: Config, opts: ServiceOptions = {}): Promise<InProcessApp> {
  const stack = cleanupStack();
  const cleanup = stack.steps;
  try {
    ensureDataDir(config.dataDir);
    const lock = config.databaseUrl ? undefined : lockDataDir(config.dataDir, 'run this command');
    cleanup.push(() => lock?.release());
    // A CLI command's app: its logs never mix with the command's output (stderr), and by default only errors —
    // the command reports what went wrong itself.
    const log = opts.log ?? createStderrLogger(config.logLevel === 'info' ? 'error' : config.logLevel);
    const core = await openCore(config, { ...opts, log, background: false }, cleanup);
    if (core.createdTenant && core.adminTokenFile) process.stderr.write(`probectl: first use of this database: created the default tenant; admin token written to ${core.adminTokenFile}\n`);
    await core.app.ready();
    return { app: core.app, adminTokenFile: dataPaths(config.dataDir).adminToken, close: () => stack.close() };
  } catch (err) {
    return stack.fail(err);
  }
}

/**
 * A local HTTP listener on a 0600 Unix socket in the data directory, routed
 * into the same app (same authentication). The CLI uses it while a server
 * holds the embedded database, so the database files are never opened twice.
 */
async function listenControlSocket(app: FastifyInstance, path: string, log: Logger): Promise<Server | undefined> {
  if (path.length > MAX_SOCKET_PATH) {
    log.warn({ path }, 'data directory path too long for the local control socket; the CLI cannot reach this server while it runs');
    return undefined;
  }
  rmSync(path, { force: true });
  // The deadlines and the answer to a request the HTTP parser refuses are the HTTPS listener's (buildApp), not Node's
  // (requestTimeout 300 s, a bare 400 without body).
  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS }, (req, res) => app.routing(req, res));
  server.on('clientError', clientErrorAnswer);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return server;
}
