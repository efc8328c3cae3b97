import { Type } from 'typebox';
import { MAX_AUDIT_PAGE, pageAudit } from '../../audit/log.ts';
import { inTenant } from '../../store/scope.ts';
import { needs, route, type RouteDef } from '../route.ts';
import { AuditEventOut, Seq } from '../schemas.ts';

export const auditRoutes: RouteDef[] = [
  route({
    method: 'GET', url: '/v1/audit', summary: 'Page the tenant\'s tamper-evident audit log in seq order', tags: ['audit'], access: needs('audit-read'),
    schema: {
      querystring: Type.Object({
        after: Type.Optional(Seq(0, { default: 0, description: 'Return events with seq greater than this cursor' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_AUDIT_PAGE, default: 500 })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ events: Type.Array(AuditEventOut), next_cursor: Type.Integer() }) },
    },
    handler: async ({ deps, principal, query }) => {
      const after = query.after ?? 0;
      const limit = query.limit ?? 500;
      const events = await inTenant(deps.db, principal.tenantId, async (tx) => {
        const page = await pageAudit(tx, after, limit);
        await deps.sensitiveReads.record(tx, principal, 'audit.read', 'audit', { after, limit, returned: page.length });
        return page;
      });
      const last = events[events.length - 1];
      return { body: { events, next_cursor: last ? last.seq : after } };
    },
  }),
];
