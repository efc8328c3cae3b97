import { Type } from 'typebox';
import type { IngestResult } from '../../incidents/correlator.ts';
import type { SignalInput } from '../../incidents/model.ts';
import { ingestForTenant } from '../../incidents/ingest.ts';
import { matchObservations } from '../../threat/ioc.ts';
import { needs, route, type RouteDef } from '../route.ts';
import { SignalIn, Uuid } from '../schemas.ts';

const MAX_BATCH = 1000;

const Accepted = Type.Object({
  signals: Type.Array(Type.Object({ id: Uuid, seq: Type.Integer(), incident_id: Uuid, incident_opened: Type.Boolean() })),
});

function accepted(results: IngestResult[]) {
  return { signals: results.map((r) => ({ id: r.signal.id, seq: r.signal.seq, incident_id: r.signal.incident_id, incident_opened: r.incidentOpened })) };
}

const Observation = Type.Object({
  src_ip: Type.Optional(Type.String({ maxLength: 64 })),
  dst_ip: Type.Optional(Type.String({ maxLength: 64 })),
  domain: Type.Optional(Type.String({ maxLength: 253 })),
  url: Type.Optional(Type.String({ maxLength: 2048 })),
  agent: Type.Optional(Type.String({ maxLength: 128 })),
  observed_at: Type.Optional(Type.String({ format: 'date-time' })),
}, { additionalProperties: false, minProperties: 1 });

export const signalRoutes: RouteDef[] = [
  route({
    method: 'POST', url: '/v1/signals', summary: 'Ingest one signal, or an array of up to 1000, into the tenant\'s threat stream', tags: ['signals'], access: needs('signals-write'),
    schema: {
      body: Type.Union([SignalIn, Type.Array(SignalIn, { minItems: 1, maxItems: MAX_BATCH })]),
      response: { 201: Accepted },
    },
    handler: async ({ deps, principal, body }) => {
      const inputs = (Array.isArray(body) ? body : [body]) as SignalInput[];
      const results = await ingestForTenant(deps.ingest, principal.tenantId, async () => inputs);
      return { status: 201, body: accepted(results) };
    },
  }),
  route({
    method: 'POST', url: '/v1/observations', summary: 'Match observations against the tenant\'s indicators; hits become ioc.match signals', tags: ['signals'], access: needs('signals-write'),
    schema: {
      body: Type.Object({ observations: Type.Array(Observation, { minItems: 1, maxItems: MAX_BATCH }) }, { additionalProperties: false }),
      response: { 201: Type.Object({ matched: Type.Integer(), signals: Accepted.properties.signals }) },
    },
    handler: async ({ deps, principal, body }) => {
      const results = await ingestForTenant(deps.ingest, principal.tenantId, (tx) => matchObservations(tx, body.observations));
      return { status: 201, body: { matched: results.length, ...accepted(results) } };
    },
  }),
];
