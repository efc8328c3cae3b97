import { ProbectlError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { TenantTx } from '../store/scope.ts';

/** A registered agent (probe) of a tenant: what a CMDB may know it by. */
export interface Agent {
  id: string;
  tenant: string;
  name: string;
  hostname: string | null;
  address: string | null;
  created_at: string;
}

interface AgentRow { id: string; tenant_id: string; name: string; hostname: string | null; address: string | null; created_at: Date }

const COLUMNS = 'id, tenant_id, name, hostname, address, created_at';

function toAgent(r: AgentRow): Agent {
  return { id: r.id, tenant: r.tenant_id, name: r.name, hostname: r.hostname, address: r.address, created_at: r.created_at.toISOString() };
}

/** Registers an agent in the scope's tenant; a name the tenant already uses is PROBECTL_ERR_CONFLICT (nothing changed). */
export async function registerAgent(tx: TenantTx, at: Date, input: { name: string; hostname?: string | undefined; address?: string | undefined }): Promise<Agent> {
  const res = await tx.query<AgentRow>(
    `INSERT INTO agents (id, tenant_id, name, hostname, address, created_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (tenant_id, name) DO NOTHING RETURNING ${COLUMNS}`,
    [newId(), tx.tenantId, input.name, input.hostname ?? null, input.address ?? null, at]);
  const row = res.rows[0];
  if (!row) throw new ProbectlError('PROBECTL_ERR_CONFLICT', `an agent named ${input.name} is already registered`);
  return toAgent(row);
}

/** The scope tenant's agents, oldest first, at most `limit`. */
export async function listAgents(tx: TenantTx, limit: number): Promise<Agent[]> {
  const res = await tx.query<AgentRow>(`SELECT ${COLUMNS} FROM agents WHERE tenant_id = $1 ORDER BY created_at, id LIMIT $2`, [tx.tenantId, limit]);
  return res.rows.map(toAgent);
}

/** One agent of the scope's tenant, or undefined (another tenant's agent is as absent as a missing one). */
export async function getAgent(tx: TenantTx, id: string): Promise<Agent | undefined> {
  const res = await tx.query<AgentRow>(`SELECT ${COLUMNS} FROM agents WHERE tenant_id = $1 AND id = $2`, [tx.tenantId, id]);
  const row = res.rows[0];
  return row ? toAgent(row) : undefined;
}
