import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { ChainVerdict } from '../audit/chain.ts';
import { auditHead, MAX_AUDIT_PAGE, pageAudit, verifyAudit } from '../audit/log.ts';
import type { Config } from '../config/load.ts';
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

/** What the administrative commands need, whether the server runs or not. */
export interface AdminBackend {
  readonly mode: 'api' | 'direct';
  createTenant(name: string): Promise<{ id: string; name: string }>;
  listTenants(): Promise<Tenant[]>;
  createToken(tenant: string, permissions: Permission[], name: string): Promise<{ id: string; token: string }>;
  listTokens(tenant: string): Promise<TokenInfo[]>;
  revokeToken(id: string): Promise<{ changed: boolean }>;
  verifyAudit(tenant: string): Promise<ChainVerdict>;
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

  async close() {}
}

class DirectBackend implements AdminBackend {
  readonly mode = 'direct' as const;
  private readonly db: Db;
  private readonly lock: DataDirLock | undefined;
  private readonly providerTenantId: string;
  private readonly actorName = `cli:${safeUser()}`;

  constructor(db: Db, lock: DataDirLock | undefined, providerTenantId: string) {
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

  async close() {
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
  if (!config.databaseUrl && lockHolder(config.dataDir) !== undefined) {
    if (!existsSync(paths.controlSocket)) {
      throw new ProbectlError('PROBECTL_ERR_DATA_DIR_LOCKED', `a probectl server (pid ${lockHolder(config.dataDir)}) holds ${config.dataDir} and its control socket is missing; stop it or use its HTTPS API`);
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
      return new DirectBackend(db, lock, boot.provider.id);
    } catch (err) {
      await db.close();
      throw err;
    }
  } catch (err) {
    lock?.release();
    throw err;
  }
}
