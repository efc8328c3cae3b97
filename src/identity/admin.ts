import type { Clock } from '../core/clock.ts';
import { ProbectlError } from '../core/errors.ts';
import type { Db } from '../store/db.ts';
import { inSystem, inTenant, type SystemTx, type TenantTx } from '../store/scope.ts';
import type { Permission } from './permissions.ts';
import { findTenant, findTenantByName, insertTenant, listTenants, type Tenant } from './tenants.ts';
import { createToken, listTokens, revokeToken, type TokenInfo } from './tokens.ts';

/** Who performs an administrative change, for the audit record. */
export interface Actor {
  tenantId: string;
  /** e.g. `token:<id>` or `cli:<user>` */
  name: string;
}

/**
 * Appends a record to a tenant's audit chain inside the given transaction
 * (audit/log.ts appendAudit in the server). Injected: identity does not
 * depend on the audit chain.
 */
export type AuditAppender = (tx: TenantTx, clock: Clock, entry: { actor: string; action: string; target: string; outcome: 'success' | 'failure' | 'denied'; data?: Record<string, unknown> }) => Promise<unknown>;

export interface AdminContext {
  db: Db;
  clock: Clock;
  audit: AuditAppender;
}

/**
 * Records a change in the chain of the tenant it touched and, when the actor
 * belongs to another tenant (a provider acting on a customer), in the actor's
 * chain too, all inside the transaction that makes the change.
 */
async function auditBoth(tx: SystemTx, ctx: AdminContext, actor: Actor, targetTenant: string, entry: { action: string; target: string; data: Record<string, unknown> }): Promise<void> {
  await tx.asTenant(targetTenant, (t) => ctx.audit(t, ctx.clock, { actor: actor.name, outcome: 'success', ...entry, data: { ...entry.data, actor_tenant: actor.tenantId } }));
  if (actor.tenantId !== targetTenant) {
    await tx.asTenant(actor.tenantId, (t) => ctx.audit(t, ctx.clock, { actor: actor.name, outcome: 'success', ...entry, data: { ...entry.data, target_tenant: targetTenant } }));
  }
}

export async function createTenant(ctx: AdminContext, actor: Actor | undefined, name: string, provider = false): Promise<Tenant> {
  return inSystem(ctx.db, async (tx) => {
    if (await findTenantByName(tx, name)) throw new ProbectlError('PROBECTL_ERR_CONFLICT', 'a tenant with this name already exists');
    const tenant = await insertTenant(tx, name, provider);
    const who = actor ?? { tenantId: tenant.id, name: 'system:bootstrap' };
    await auditBoth(tx, ctx, who, tenant.id, { action: 'tenant.create', target: `tenant:${tenant.id}`, data: { name, provider } });
    return tenant;
  });
}

export async function tenantList(ctx: AdminContext): Promise<Tenant[]> {
  return inSystem(ctx.db, (tx) => listTenants(tx));
}

/**
 * Refuses a tenant id that names no tenant: an unknown tenant is an error
 * (404), never answered as an empty one (an empty audit chain, no tokens).
 * @throws ProbectlError PROBECTL_ERR_NOT_FOUND naming the id
 */
export async function requireTenant(ctx: Pick<AdminContext, 'db'>, id: string): Promise<void> {
  if (!(await inSystem(ctx.db, (tx) => findTenant(tx, id)))) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', `no such tenant ${id}`);
}

export async function issueToken(ctx: AdminContext, actor: Actor, tenantId: string, input: { name: string; permissions: readonly Permission[] }): Promise<{ id: string; token: string }> {
  return inSystem(ctx.db, async (tx) => {
    if (!(await findTenant(tx, tenantId))) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', 'no such tenant');
    const created = await tx.asTenant(tenantId, (t) => createToken(t, { ...input, createdBy: actor.name }));
    await auditBoth(tx, ctx, actor, tenantId, {
      action: 'token.create',
      target: `token:${created.id}`,
      data: { name: input.name, permissions: [...new Set(input.permissions)].sort() },
    });
    return created;
  });
}

export async function tokenList(ctx: AdminContext, tenantId: string): Promise<TokenInfo[]> {
  return inTenant(ctx.db, tenantId, (tx) => listTokens(tx));
}

/** Revokes a token of `tenantId`; unknown ids are 404 (never revealing other tenants' tokens). */
export async function revokeTokenOf(ctx: AdminContext, actor: Actor, tenantId: string, tokenId: string): Promise<{ changed: boolean }> {
  return inSystem(ctx.db, async (tx) => {
    const result = await tx.asTenant(tenantId, (t) => revokeToken(t, tokenId, new Date(ctx.clock.now())));
    if (!result.found) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', 'no such token');
    if (result.changed) await auditBoth(tx, ctx, actor, tenantId, { action: 'token.revoke', target: `token:${tokenId}`, data: {} });
    return { changed: result.changed };
  });
}
