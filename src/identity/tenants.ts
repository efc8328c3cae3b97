import { ProbectlError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { SystemTx } from '../store/scope.ts';

export interface Tenant {
  id: string;
  name: string;
  provider: boolean;
  created_at: string;
}

interface TenantRow { id: string; name: string; provider: boolean; created_at: Date }
const toTenant = (r: TenantRow): Tenant => ({ id: r.id, name: r.name, provider: r.provider, created_at: r.created_at.toISOString() });

/**
 * Inserts a tenant. A name taken meanwhile by a concurrent transaction is a
 * conflict (409), never a unique-violation 500.
 * @throws ProbectlError PROBECTL_ERR_CONFLICT
 */
export async function insertTenant(tx: SystemTx, name: string, provider = false): Promise<Tenant> {
  const res = await tx.query<TenantRow>(
    'INSERT INTO tenants (id, name, provider) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING id, name, provider, created_at',
    [newId(), name, provider],
  );
  const row = res.rows[0];
  if (!row) throw new ProbectlError('PROBECTL_ERR_CONFLICT', 'a tenant with this name already exists');
  return toTenant(row);
}

export async function listTenants(tx: SystemTx): Promise<Tenant[]> {
  const res = await tx.query<TenantRow>('SELECT id, name, provider, created_at FROM tenants ORDER BY created_at, id');
  return res.rows.map(toTenant);
}

export async function findTenant(tx: SystemTx, id: string): Promise<Tenant | undefined> {
  const res = await tx.query<TenantRow>('SELECT id, name, provider, created_at FROM tenants WHERE id = $1', [id]);
  const row = res.rows[0];
  return row ? toTenant(row) : undefined;
}

export async function findTenantByName(tx: SystemTx, name: string): Promise<Tenant | undefined> {
  const res = await tx.query<TenantRow>('SELECT id, name, provider, created_at FROM tenants WHERE name = $1', [name]);
  const row = res.rows[0];
  return row ? toTenant(row) : undefined;
}

export async function providerTenant(tx: SystemTx): Promise<Tenant | undefined> {
  const res = await tx.query<TenantRow>('SELECT id, name, provider, created_at FROM tenants WHERE provider');
  const row = res.rows[0];
  return row ? toTenant(row) : undefined;
}
