import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../core/canonical.ts';
import { newId } from '../core/ids.ts';
import type { SystemTx, TenantTx } from '../store/scope.ts';
import type { Permission } from './permissions.ts';

const TOKEN_PREFIX = 'pcl_';
const TOKEN_RE = /^pcl_[A-Za-z0-9_-]{43}$/;

/** 256 random bits, base64url, with a recognisable prefix for secret scanners. */
export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function looksLikeToken(text: string): boolean {
  return TOKEN_RE.test(text);
}

export function hashToken(token: string): string {
  return sha256Hex(token);
}

export interface TokenInfo {
  id: string;
  tenant: string;
  name: string;
  permissions: Permission[];
  created_at: string;
  created_by: string;
  revoked_at: string | null;
}

interface TokenRow {
  id: string;
  tenant_id: string;
  name: string;
  permissions: Permission[];
  created_at: Date;
  created_by: string;
  revoked_at: Date | null;
}

const toInfo = (r: TokenRow): TokenInfo => ({
  id: r.id,
  tenant: r.tenant_id,
  name: r.name,
  permissions: r.permissions,
  created_at: r.created_at.toISOString(),
  created_by: r.created_by,
  revoked_at: r.revoked_at ? r.revoked_at.toISOString() : null,
});

/** Creates a token in the scope's tenant. The plaintext is returned once and never stored. */
export async function createToken(tx: TenantTx, input: { name: string; permissions: readonly Permission[]; createdBy: string }): Promise<{ id: string; token: string }> {
  const id = newId();
  const token = generateToken();
  await tx.query(
    'INSERT INTO tokens (id, tenant_id, name, token_hash, permissions, created_by) VALUES ($1, $2, $3, $4, $5, $6)',
    [id, tx.tenantId, input.name, hashToken(token), [...new Set(input.permissions)].sort(), input.createdBy],
  );
  return { id, token };
}

export async function listTokens(tx: TenantTx): Promise<TokenInfo[]> {
  const res = await tx.query<TokenRow>(
    'SELECT id, tenant_id, name, permissions, created_at, created_by, revoked_at FROM tokens WHERE tenant_id = $1 ORDER BY created_at, id',
    [tx.tenantId],
  );
  return res.rows.map(toInfo);
}

export async function getToken(tx: TenantTx, id: string): Promise<TokenInfo | undefined> {
  const res = await tx.query<TokenRow>(
    'SELECT id, tenant_id, name, permissions, created_at, created_by, revoked_at FROM tokens WHERE tenant_id = $1 AND id = $2',
    [tx.tenantId, id],
  );
  const row = res.rows[0];
  return row ? toInfo(row) : undefined;
}

/**
 * The stream announced (after commit) when a token is revoked: every replica's authenticator
 * empties its cache of verified tokens (server/auth.ts).
 */
export const TOKENS_STREAM = 'tokens';

/**
 * Revokes; returns false when the token does not exist in this tenant. Revoking twice is a
 * no-op. Announces TOKENS_STREAM after commit when this call revoked it.
 */
export async function revokeToken(tx: TenantTx, id: string, at: Date): Promise<{ found: boolean; changed: boolean }> {
  const res = await tx.query<{ revoked_at: Date | null }>(
    'UPDATE tokens SET revoked_at = coalesce(revoked_at, $3) WHERE tenant_id = $1 AND id = $2 RETURNING revoked_at',
    [tx.tenantId, id, at],
  );
  const row = res.rows[0];
  if (!row) return { found: false, changed: false };
  const changed = row.revoked_at?.getTime() === at.getTime();
  // Announced only when this call revoked it: repeating a revocation must not let a caller empty
  // every replica's cache (all tenants') in a loop.
  if (changed) tx.streamGrew(TOKENS_STREAM);
  return { found: true, changed };
}

export interface TokenMatch {
  id: string;
  tenantId: string;
  permissions: Permission[];
  revoked: boolean;
}

/** Authentication lookup by hash: the one cross-tenant read of tokens. */
export async function findTokenByHash(tx: SystemTx, hash: string): Promise<TokenMatch | undefined> {
  const res = await tx.query<{ id: string; tenant_id: string; permissions: Permission[]; revoked_at: Date | null }>(
    'SELECT id, tenant_id, permissions, revoked_at FROM tokens WHERE token_hash = $1', [hash]);
  const row = res.rows[0];
  return row ? { id: row.id, tenantId: row.tenant_id, permissions: row.permissions, revoked: row.revoked_at !== null } : undefined;
}

/** Which tenant a token id belongs to, for provider-wide revocation. */
export async function findTokenTenant(tx: SystemTx, id: string): Promise<string | undefined> {
  const res = await tx.query<{ tenant_id: string }>('SELECT tenant_id FROM tokens WHERE id = $1', [id]);
  return res.rows[0]?.tenant_id;
}
