import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { ChainVerdict } from '../audit/chain.ts';
import { auditHead, MAX_AUDIT_PAGE, pageAudit, verifyAudit } from '../audit/log.ts';
import { loadConfig, type Config } from '../config/load.ts';
import { systemClock } from '../core/clock.ts';
import { ProbectlError } from '../core/errors.ts';
import { createTenant, issueToken, revokeTokenOf, tenantList, tokenList } from '../identity/admin.ts';
import { bootstrap } from '../identity/bootstrap.ts';
import type { Permission } from '../identity/permissions.ts';
import type { Tenant } from '../identity/tenants.ts';
import { findTokenTenant, type TokenInfo } from '../identity/tokens.ts';
import { openConfiguredStore } from '../service.ts';
import type { Db } from '../store/db.ts';
import { dataPaths, lockDataDir, lockHolder, type DataDirLock } from '../store/datadir.ts';
import { migrate } from '../store/migrate.ts';
import { inSystem, inTenant } from '../store/scope.ts';
import { ControlClient } from './control-client.ts';
import { parkedEvents, replay, retryParked, siemStatus, type ReplayProgress, type SiemRuntime, type SiemStatus } from '../siem/admin.ts';
import type { SiemStream } from '../siem/cursor.ts';
import { createRedactor } from '../siem/redact.ts';
import { siemFormatOptions, tokenResolver } from '../siem/runtime.ts';
import { buildTarget } from '../siem/targets/index.ts';
import type { SecretResolver } from '../secrets/resolver.ts';
import { buildSecretResolver } from '../secrets/setup.ts';
import { VERSION } from '../version.ts';

/** What the administrative commands need, whether the server runs or not. */
export interface AdminBackend {
  readonly mode: 'api' | 'direct';
  createTenant(name: string): Promise<{ id: string; name: string }>;
  listTenants(): Promise<Tenant[]>;
  createToken(tenant: string, permissions: Permission[], name: string): Promise<{ id: string; token: string }>;
  listTokens(tenant: string): Promise<TokenInfo[]>;
  revokeToken(id: string): Promise<{ changed: boolean }>;
  verifyAudit(tenant: string): Promise<ChainVerdict>;
  siemStatus(tenant: string): Promise<SiemStatus>;
  siemParked(tenant: string): Promise<Array<Record<string, unknown>>>;
  siemRetryParked(tenant: string): Promise<{ retried: number; delivered: number; still_parked: number }>;
  siemReplay(tenant: string, range: { stream: SiemStream; from: number; to?: number | undefined }, onProgress: (p: ReplayProgress) => void): Promise<ReplayProgress>;
  close(): Promise<void>;
}

class ApiBackend implements AdminBackend {
  readonly mode = 'api' as const;
  private readonly client: ControlClient;

  constructor(client: ControlClient) {
    this.client = client;
  }

  createTenant(name: string) {
    return this.client.call<{ id: string; name: string }>('POST', '/v1/tenants', { name });
  }

  async listTenants() {
    return (await this.client.call<{ tenants: Tenant[] }>('GET', '/v1/tenants')).tenants;
  }

  createToken(tenant: string, permissions: Permission[], name: string) {
    return this.client.call<{ id: string; token: string }>('POST', '/v1/tokens', { tenant, permissions, name });
  }

  async listTokens(tenant: string) {
    return (await this.client.call<{ tokens: TokenInfo[] }>('GET', `/v1/tokens?tenant=${encodeURIComponent(tenant)}`)).tokens;
  }

  async revokeToken(id: string) {
    return this.client.call<{ changed: boolean }>('DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
  }

  verifyAudit(tenant: string) {
    return this.client.call<ChainVerdict>('GET', `/v1/audit/verify?tenant=${encodeURIComponent(tenant)}`);
  }

  siemStatus(tenant: string) {
    return this.client.call<SiemStatus>('GET', `/v1/siem/status?tenant=${encodeURIComponent(tenant)}`);
  }

  async siemParked(tenant: string) {
    return (await this.client.call<{ parked: Array<Record<string, unknown>> }>('GET', `/v1/siem/parked?tenant=${encodeURIComponent(tenant)}`)).parked;
  }

  siemRetryParked(tenant: string) {
    return this.client.call<{ retried: number; delivered: number; still_parked: number }>('POST', '/v1/siem/parked/retry', { tenant });
  }

  async siemReplay(tenant: string, range: { stream: SiemStream; from: number; to?: number | undefined }, onProgress: (p: ReplayProgress) => void) {
    let last: ReplayProgress = { sent: 0, total: 0, rejected: 0 };
    let failure: string | undefined;
    await this.client.stream('POST', '/v1/siem/replay', { tenant, stream: range.stream, from: range.from, ...(range.to !== undefined ? { to: range.to } : {}) }, (line) => {
      const p = line as ReplayProgress & { done?: boolean; error?: string };
      if (p.error) failure = p.error;
      else {
        last = { sent: p.sent, total: p.total, rejected: p.rejected };
        onProgress(last);
      }
    });
    if (failure) throw new ProbectlError('PROBECTL_ERR_INTERNAL', `replay failed on the server: ${failure}`);
    return last;
  }

  async close() {}
}

class DirectBackend implements AdminBackend {
  readonly mode = 'direct' as const;
  private readonly db: Db;
  private readonly lock: DataDirLock | undefined;
  private readonly providerTenantId: string;
  private readonly actorName = `cli:${safeUser()}`;
  private readonly config: Config;
  private runtime: SiemRuntime | undefined;
  private resolver: SecretResolver | undefined;

  constructor(config: Config, db: Db, lock: DataDirLock | undefined, providerTenantId: string) {
    this.config = config;
    this.db = db;
    this.lock = lock;
    this.providerTenantId = providerTenantId;
  }

  private get ctx() {
    return { db: this.db, clock: systemClock };
  }

  private get actor() {
    return { tenantId: this.providerTenantId, name: this.actorName };
  }

  async createTenant(name: string) {
    const t = await createTenant(this.ctx, this.actor, name);
    return { id: t.id, name: t.name };
  }

  listTenants() {
    return tenantList(this.ctx);
  }

  createToken(tenant: string, permissions: Permission[], name: string) {
    return issueToken(this.ctx, this.actor, tenant, { name, permissions });
  }

  listTokens(tenant: string) {
    return tokenList(this.ctx, tenant);
  }

  async revokeToken(id: string) {
    const tenant = await inSystem(this.db, (tx) => findTokenTenant(tx, id));
    if (!tenant) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', 'no such token');
    return revokeTokenOf(this.ctx, this.actor, tenant, id);
  }

  async verifyAudit(tenant: string) {
    const head = await inTenant(this.db, tenant, (tx) => auditHead(tx));
    return verifyAudit(tenant, (after) => inTenant(this.db, tenant, (tx) => pageAudit(tx, after, MAX_AUDIT_PAGE)), head);
  }

  /** A SIEM runtime for this command only (no drainers): the same targets the server uses. */
  private siemRuntime(): SiemRuntime {
    if (!this.config.siem) throw new ProbectlError('PROBECTL_ERR_SIEM_DISABLED', 'SIEM export is off (PROBECTL_SIEM_ENABLED=false)');
    if (!this.runtime) {
      const settings = this.config.siem;
      this.resolver = buildSecretResolver(this.config);
      const target = buildTarget(settings, siemFormatOptions(settings, VERSION), tokenResolver(this.resolver));
      this.runtime = { settings, target, redactor: createRedactor(settings.redactKeys), policy: settings.retry, live: () => [] };
    }
    return this.runtime;
  }

  siemStatus(tenant: string) {
    return siemStatus(this.db, systemClock, tenant, this.config.siem ? this.siemRuntime() : undefined);
  }

  async siemParked(tenant: string) {
    return (await parkedEvents(this.db, tenant)).map((r) => ({ ...r, parked_at: r.parked_at.toISOString() }));
  }

  siemRetryParked(tenant: string) {
    return retryParked(this.db, systemClock, this.siemRuntime(), tenant, this.actorName);
  }

  siemReplay(tenant: string, range: { stream: SiemStream; from: number; to?: number | undefined }, onProgress: (p: ReplayProgress) => void) {
    return replay(this.db, systemClock, this.siemRuntime(), tenant, this.actorName, range, onProgress);
  }

  async close() {
    await this.runtime?.target.close();
    await this.resolver?.close();
    await this.db.close();
    this.lock?.release();
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

/**
 * With the embedded database, a running server owns the files: the CLI goes
 * through its control socket. Otherwise (no server, or PostgreSQL) it opens
 * the database itself, migrated and bootstrapped exactly as the server would.
 */
export async function openAdminBackend(config: Config, opts: { tokenFile?: string | undefined } = {}): Promise<AdminBackend> {
  const paths = dataPaths(config.dataDir);
  // A live holder only: a lock left by a process that is gone (killed, a zombie, a reused pid) is no server.
  const holder = config.databaseUrl ? undefined : lockHolder(config.dataDir);
  if (holder !== undefined) {
    if (!existsSync(paths.controlSocket)) {
      throw new ProbectlError('PROBECTL_ERR_DATA_DIR_LOCKED', `a probectl server (pid ${holder}) holds ${config.dataDir} and its control socket is missing; stop it or use its HTTPS API`);
    }
    return new ApiBackend(new ControlClient(paths.controlSocket, opts.tokenFile ?? paths.adminToken));
  }
  const lock = config.databaseUrl ? undefined : lockDataDir(config.dataDir, 'run this command');
  try {
    const db = await openConfiguredStore(config);
    try {
      await migrate(db);
      const boot = await bootstrap(db, systemClock, { tenantName: config.tenantHint ?? 'default', adminTokenPath: paths.adminToken });
      if (boot.adminTokenFile) process.stderr.write(`probectl: first use of this database: created the default tenant; admin token written to ${boot.adminTokenFile}\n`);
      return new DirectBackend(config, db, lock, boot.provider.id);
    } catch (err) {
      await db.close();
      throw err;
    }
  } catch (err) {
    lock?.release();
    throw err;
  }
}

/** Runs fn with an admin backend for the current configuration and closes it afterwards. */
export async function withAdminBackend<T>(tokenFile: string | undefined, fn: (backend: AdminBackend) => Promise<T>): Promise<T> {
  const backend = await openAdminBackend(loadConfig(), { tokenFile });
  try {
    return await fn(backend);
  } finally {
    await backend.close();
  }
}
