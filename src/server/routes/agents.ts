import { isIP } from 'node:net';
import { Type } from 'typebox';
import { listAgents, registerAgent } from '../../agents/registry.ts';
import { appendAudit } from '../../audit/log.ts';
import { ProbectlError } from '../../core/errors.ts';
import { inTenant } from '../../store/scope.ts';
import { needs, route, type RouteDef } from '../route.ts';
import { Uuid } from '../schemas.ts';

export const AgentOut = Type.Object({
  id: Uuid, tenant: Uuid, name: Type.String(), hostname: Type.Union([Type.String(), Type.Null()]),
  address: Type.Union([Type.String(), Type.Null()]), created_at: Type.String(),
});

const HOSTNAME = '^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\\.?$';

/**
 * The agent registry: the probes a tenant runs, with the host name and
 * address its CMDB knows them by. Registering needs `admin`; listing needs
 * `incidents-read` (the operators who read incidents see which probe raised
 * them) — no new permission.
 */
export const agentRoutes: RouteDef[] = [
  route({
    method: 'POST', url: '/v1/agents', summary: 'Register an agent (name, host name and/or address)', tags: ['agents'], access: needs('admin'),
    schema: {
      body: Type.Object({
        name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' }),
        hostname: Type.Optional(Type.String({ pattern: HOSTNAME, maxLength: 254 })),
        address: Type.Optional(Type.String({ minLength: 2, maxLength: 64 })),
      }, { additionalProperties: false }),
      response: { 201: AgentOut },
    },
    handler: async ({ deps, principal, body }) => {
      if (body.address !== undefined && isIP(body.address) === 0) throw new ProbectlError('PROBECTL_ERR_VALIDATION', 'address is not an IPv4 or IPv6 address');
      // node:net accepts a zone id (fe80::1%eth0): a host-local interface name, meaningless to a CMDB and to another host.
      if (body.address?.includes('%')) throw new ProbectlError('PROBECTL_ERR_VALIDATION', 'address carries an IPv6 zone id (%…); give the address without it');
      if (body.hostname === undefined && body.address === undefined) throw new ProbectlError('PROBECTL_ERR_VALIDATION', 'an agent needs a hostname, an address or both');
      const agent = await inTenant(deps.db, principal.tenantId, async (tx) => {
        const saved = await registerAgent(tx, new Date(deps.clock.now()), body);
        await appendAudit(tx, deps.clock, { actor: principal.actor, action: 'agents.register', target: `agent:${saved.id}`, outcome: 'success', data: { name: saved.name } });
        return saved;
      });
      return { status: 201, body: agent };
    },
  }),
  route({
    method: 'GET', url: '/v1/agents', summary: 'List the tenant\'s agents, oldest first', tags: ['agents'], access: needs('incidents-read'),
    schema: {
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 500 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ agents: Type.Array(AgentOut) }) },
    },
    handler: async ({ deps, principal, query }) => ({
      body: { agents: await inTenant(deps.db, principal.tenantId, (tx) => listAgents(tx, query.limit ?? 500)) },
    }),
  }),
];
