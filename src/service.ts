import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { SensitiveReads } from './audit/sensitive-reads.ts';
import type { Config } from './config/load.ts';
import { systemClock, type Clock } from './core/clock.ts';
import { isProbectlError, ProbectlError } from './core/errors.ts';
import { createLogger } from './core/logger.ts';
import { bootstrap } from './identity/bootstrap.ts';
import type { IngestDeps } from './incidents/ingest.ts';
import { DeviceCredentials } from './secrets/device-credentials.ts';
import { registerSecretsMetrics } from './secrets/metrics.ts';
import { redactRef, type SecretRef } from './secrets/ref.ts';
import type { SecretResolver } from './secrets/resolver.ts';
import { buildSecretResolver } from './secrets/setup.ts';
import { configReferences, resolveAtStartup } from './secrets/startup.ts';
import { TlsIdentity } from './secrets/tls-identity.ts';
import { endpointHost } from './siem/config.ts';
import { startSiemExport, type SiemExport } from './siem/runtime.ts';
import { buildApp } from './server/app.ts';
import { Authenticator } from './server/auth.ts';
import type { AppDeps } from './server/deps.ts';
import { Metrics } from './server/metrics.ts';
import { allRoutes } from './server/routes/index.ts';
import { loadServerIdentity } from './server/tls-identity.ts';
import type { Db } from './store/db.ts';
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
  /** The SIEM export, when PROBECTL_SIEM_ENABLED=true. */
  siem: SiemExport | undefined;
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
async function serverTlsIdentity(config: Config, tlsDir: string, secrets: SecretResolver, clock: Clock): Promise<{ identity: TlsIdentity; generated: string | undefined }> {
  const common = { name: 'server', resolver: secrets, clock, intervalMs: config.tlsReloadInterval };
  if (config.tlsCertRef && config.tlsKeyRef) {
    return { identity: await TlsIdentity.load({ ...common, cert: { ref: config.tlsCertRef }, key: { ref: config.tlsKeyRef } }), generated: undefined };
  }
  const files = await loadServerIdentity({ certFile: config.tlsCertFile, keyFile: config.tlsKeyFile, tlsDir });
  const keyFile = config.tlsKeyFile ?? join(tlsDir, 'server.key');
  return { identity: await TlsIdentity.load({ ...common, cert: { file: files.certPath }, key: { file: keyFile } }), generated: files.generated ? files.certPath : undefined };
}

export async function startService(config: Config, opts: ServiceOptions = {}): Promise<RunningService> {
  const log = opts.log ?? createLogger(config.logLevel);
  const clock = opts.clock ?? systemClock;
  const paths = dataPaths(config.dataDir);
  ensureDataDir(config.dataDir);
  const lock: DataDirLock | undefined = config.databaseUrl ? undefined : lockDataDir(config.dataDir, 'start the server');
  const cleanup: Array<() => Promise<void> | void> = [() => lock?.release()];
  const unwind = async () => {
    for (const step of cleanup.reverse()) await step();
  };
  try {
    const secrets = buildSecretResolver(config, { env: opts.env ?? process.env, clock });
    cleanup.push(() => secrets.close());
    const references = await resolveAtStartup(secrets, configReferences(config));
    if (references.length > 0) log.info({ references: references.length }, 'secret references resolved');
    const devices = new DeviceCredentials({
      resolver: secrets, specs: config.deviceCredentials, clock,
      onSkip: (name, err) => log.warn({ credential: name, code: err.code, reason: err.message }, 'poll cycle skipped: device credential unavailable'),
    });
    secrets.addHealthContributor(devices);

    const db = await openConfiguredStore(config, secrets);
    cleanup.push(() => db.close());
    const report = await migrate(db);
    if (report.applied.length > 0) log.info({ applied: report.applied }, 'database migrations applied');

    const boot = await bootstrap(db, clock, { tenantName: config.tenantHint ?? 'default', adminTokenPath: paths.adminToken });
    if (boot.adminTokenFile) log.info({ tenant: boot.provider.id, admin_token_file: boot.adminTokenFile }, 'first start: created the default tenant; its admin token is in the file named here (mode 0600)');

    const metrics = new Metrics();
    registerSecretsMetrics(metrics.registry, secrets);
    const ingest: IngestDeps = {
      db, clock, incidentWindowMs: config.incidentWindow,
      onIngested: (tenant, family, opened) => {
        metrics.signalsIngested.inc({ tenant, family });
        if (opened) metrics.incidentsOpened.inc({ tenant });
      },
    };
    const deps: AppDeps = {
      config, db, clock, log, metrics, ingest,
      providerTenantId: boot.provider.id,
      auth: new Authenticator({
        db, clock, providerTenantId: boot.provider.id,
        failureAuditPerMinute: config.authFailureAuditPerMinute,
        successAuditIntervalMs: config.authSuccessAuditInterval,
        onOutcome: (outcome) => metrics.authOutcomes.inc({ outcome }),
      }),
      sensitiveReads: new SensitiveReads(clock, config.authSuccessAuditInterval),
      secrets,
      siem: undefined,
      isReady: async () => (await db.ping()) && (await isMigrated(db)),
    };
    const siem = config.siem ? await startSiemExport(config.siem, { db, clock, log, registry: metrics.registry, secrets, version: VERSION, reloadIntervalMs: config.tlsReloadInterval }) : undefined;
    if (siem) {
      deps.siem = siem.runtime;
      cleanup.push(() => siem.stop());
      log.info({ endpoint: endpointHost(config.siem!.endpoint), preset: config.siem!.preset, format: config.siem!.format, streams: config.siem!.streams }, 'SIEM export on');
    }

    const tls = config.allowPlaintextHttp ? undefined : await serverTlsIdentity(config, paths.tlsDir, secrets, clock);
    const identity = tls?.identity;
    if (tls?.generated) log.info({ cert: tls.generated, sha256_fingerprint: identity?.fingerprint256 }, 'generated a self-signed server certificate');

    const material = identity?.material();
    const app = await buildApp(deps, { routes: allRoutes(config), version: VERSION, ...(material ? { tls: { cert: material.cert, key: material.key } } : {}) });
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
    if (identity) {
      // Renewals apply to new connections; minVersion must be restated because setSecureContext replaces the options.
      identity.attach(app.server as unknown as TlsServer, { minVersion: 'TLSv1.2' });
      identity.start();
      cleanup.push(() => identity.stop());
    }
    await app.listen({ host: config.listen.host, port: config.listen.port });
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

    log.info({ url, version: VERSION, driver: db.driver, data_dir: config.dataDir, ...(identity ? { sha256_fingerprint: identity.fingerprint256 } : {}) }, 'probectl serving');

    let closing: Promise<void> | undefined;
    return {
      url, fingerprint256: identity?.fingerprint256, adminTokenFile: boot.adminTokenFile, deps, app, posture, iocFiles, devices, siem, tlsIdentity: identity,
      close() {
        closing ??= unwind();
        return closing;
      },
    };
  } catch (err) {
    await unwind().catch(() => undefined);
    throw err;
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
  const server = createServer((req, res) => app.routing(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return server;
}
