import { Type } from 'typebox';
import { createTenant, tenantList } from '../../identity/admin.ts';
import { needs, route, type RouteDef } from '../route.ts';
import { Name, Uuid } from '../schemas.ts';

const TenantOut = Type.Object({ id: Uuid, name: Type.String(), provider: Type.Boolean(), created_at: Type.String() });

export const tenantRoutes: RouteDef[] = [
  route({
    method: 'POST', url: '/v1/tenants', summary: 'Create a tenant', tags: ['identity'], access: needs('provider-admin'),
    schema: {
      body: Type.Object({ name: Name }, { additionalProperties: false }),
      response: { 201: Type.Object({ id: Uuid, name: Type.String() }) },
    },
    handler: async ({ deps, principal, body }) => {
      const t = await createTenant(deps, { tenantId: principal.tenantId, name: principal.actor }, body.name);
      return { status: 201, body: { id: t.id, name: t.name } };
    },
  }),
  route({
    method: 'GET', url: '/v1/tenants', summary: 'List tenants', tags: ['identity'], access: needs('provider-admin'),
    schema: { response: { 200: Type.Object({ tenants: Type.Array(TenantOut) }) } },
    handler: async ({ deps }) => ({ body: { tenants: await tenantList(deps) } }),
  }),
];
