import { Type } from 'typebox';
import { auditHead, MAX_AUDIT_PAGE, pageAudit, verifyAudit } from '../../audit/log.ts';
import { inTenant } from '../../store/scope.ts';
import { needs, route, type RouteDef } from '../route.ts';
import { targetTenant } from '../../identity/target-tenant.ts';
import { TenantQuery } from '../schemas.ts';

export const auditVerifyRoutes: RouteDef[] = [
  route({
    method: 'GET', url: '/v1/audit/verify', summary: 'Recompute a tenant\'s audit hash chain; names the first broken seq', tags: ['audit'],
    access: needs('audit-read', 'provider-admin'),
    schema: {
      querystring: TenantQuery,
      response: {
        200: Type.Object({
          ok: Type.Boolean(), count: Type.Optional(Type.Integer()), head: Type.Optional(Type.Object({ seq: Type.Integer(), hash: Type.String() })),
          seq: Type.Optional(Type.Integer()), reason: Type.Optional(Type.String()),
        }),
      },
    },
    handler: async ({ deps, principal, query }) => {
      const tenant = await targetTenant(deps.db, principal, query.tenant, ['audit-read'], 'verifying the audit chain');
      const head = await inTenant(deps.db, tenant, (tx) => auditHead(tx));
      const verdict = await verifyAudit(tenant, (after) => inTenant(deps.db, tenant, (tx) => pageAudit(tx, after, MAX_AUDIT_PAGE)), head);
      await inTenant(deps.db, principal.tenantId, (tx) => deps.sensitiveReads.record(tx, principal, 'audit.verify', `tenant:${tenant}`, { ok: verdict.ok }));
      return { body: verdict };
    },
  }),
];
