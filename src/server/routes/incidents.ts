import { Type } from 'typebox';
import { ProbectlError } from '../../core/errors.ts';
import { getIncident, incidentSignals, listIncidents } from '../../incidents/incidents.ts';
import { changeIncidentStatus } from '../../incidents/status.ts';
import { inTenant } from '../../store/scope.ts';
import { needs, route, type RouteDef } from '../route.ts';
import { IdParams, IncidentOut, IncidentStatus, SignalOut } from '../schemas.ts';

export const incidentRoutes: RouteDef[] = [
  route({
    method: 'GET', url: '/v1/incidents', summary: 'List the tenant\'s incidents, newest first', tags: ['incidents'], access: needs('incidents-read'),
    schema: {
      querystring: Type.Object({
        status: Type.Optional(IncidentStatus),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
        cursor: Type.Optional(Type.String({ maxLength: 200 })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ incidents: Type.Array(IncidentOut), next_cursor: Type.Union([Type.String(), Type.Null()]) }) },
    },
    handler: async ({ deps, principal, query }) => ({
      body: await inTenant(deps.db, principal.tenantId, (tx) => listIncidents(tx, { status: query.status, limit: query.limit ?? 100, cursor: query.cursor })),
    }),
  }),
  route({
    method: 'GET', url: '/v1/incidents/:id', summary: 'One incident with its signals', tags: ['incidents'], access: needs('incidents-read'),
    schema: { params: IdParams, response: { 200: Type.Intersect([IncidentOut, Type.Object({ signals: Type.Array(SignalOut) })]) } },
    handler: async ({ deps, principal, params }) => {
      const found = await inTenant(deps.db, principal.tenantId, async (tx) => {
        const incident = await getIncident(tx, params.id);
        return incident ? { ...incident, signals: await incidentSignals(tx, incident.id) } : undefined;
      });
      if (!found) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', 'no such incident');
      return { body: found };
    },
  }),
  route({
    method: 'PATCH', url: '/v1/incidents/:id', summary: 'Acknowledge or resolve an incident', tags: ['incidents'], access: needs('incidents-write'),
    schema: {
      params: IdParams,
      body: Type.Object({ status: Type.Union([Type.Literal('acknowledged'), Type.Literal('resolved')]) }, { additionalProperties: false }),
      response: { 200: IncidentOut },
    },
    handler: async ({ deps, principal, params, body }) => {
      const incident = await inTenant(deps.db, principal.tenantId, async (tx) => (
        await changeIncidentStatus(tx, deps.clock, params.id, body.status, { actor: principal.actor }, deps.ingest.listeners ?? [])
      )?.incident);
      if (!incident) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', 'no such incident');
      return { body: incident };
    },
  }),
];
