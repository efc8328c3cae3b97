import { Type } from 'typebox';
import { appendAudit } from '../../audit/log.ts';
import { ProbectlError } from '../../core/errors.ts';
import { inTenant } from '../../store/scope.ts';
import { classifyIndicator, deleteIndicator, listIndicators, upsertIndicators } from '../../threat/indicators.ts';
import { needs, route, type RouteDef } from '../route.ts';
import { IdParams, Severity, Uuid } from '../schemas.ts';

const IndicatorOut = Type.Object({
  id: Uuid, kind: Type.String(), value: Type.String(), confidence: Type.Integer(), severity: Severity,
  source: Type.String(), origin: Type.String(), created_at: Type.String(),
});

export const indicatorRoutes: RouteDef[] = [
  route({
    method: 'POST', url: '/v1/indicators', summary: 'Add or update indicators (IP, CIDR, domain)', tags: ['signals'], access: needs('admin'),
    schema: {
      body: Type.Object({
        indicators: Type.Array(Type.Object({
          value: Type.String({ minLength: 1, maxLength: 253 }),
          confidence: Type.Integer({ minimum: 0, maximum: 100 }),
          source: Type.String({ minLength: 1, maxLength: 128 }),
          severity: Type.Optional(Severity),
        }, { additionalProperties: false }), { minItems: 1, maxItems: 10_000 }),
      }, { additionalProperties: false }),
      response: { 201: Type.Object({ indicators: Type.Array(IndicatorOut) }) },
    },
    handler: async ({ deps, principal, body }) => {
      const bad = body.indicators.findIndex((i) => !classifyIndicator(i.value));
      if (bad >= 0) throw new ProbectlError('PROBECTL_ERR_VALIDATION', `indicators[${bad}].value is not an IP address, CIDR or domain`);
      const indicators = await inTenant(deps.db, principal.tenantId, async (tx) => {
        const saved = await upsertIndicators(tx, 'api', body.indicators, new Date(deps.clock.now()));
        await appendAudit(tx, deps.clock, { actor: principal.actor, action: 'indicators.upsert', target: 'indicators', outcome: 'success', data: { count: saved.length } });
        return saved;
      });
      return { status: 201, body: { indicators } };
    },
  }),
  route({
    method: 'GET', url: '/v1/indicators', summary: 'List indicators in value order', tags: ['signals'], access: needs('admin'),
    schema: {
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, default: 500 })),
        after: Type.Optional(Type.String({ maxLength: 253 })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ indicators: Type.Array(IndicatorOut) }) },
    },
    handler: async ({ deps, principal, query }) => ({
      body: { indicators: await inTenant(deps.db, principal.tenantId, (tx) => listIndicators(tx, query.limit ?? 500, query.after)) },
    }),
  }),
  route({
    method: 'DELETE', url: '/v1/indicators/:id', summary: 'Remove an indicator', tags: ['signals'], access: needs('admin'),
    schema: { params: IdParams, response: { 200: IndicatorOut } },
    handler: async ({ deps, principal, params }) => {
      const removed = await inTenant(deps.db, principal.tenantId, async (tx) => {
        const gone = await deleteIndicator(tx, params.id);
        if (gone) await appendAudit(tx, deps.clock, { actor: principal.actor, action: 'indicators.delete', target: `indicator:${gone.id}`, outcome: 'success', data: { value: gone.value } });
        return gone;
      });
      if (!removed) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', 'no such indicator');
      return { body: removed };
    },
  }),
];
