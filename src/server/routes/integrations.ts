import { Type } from 'typebox';
import { INTEGRATIONS } from '../../integrations/registry.ts';
import { needs, route, type RouteDef } from '../route.ts';

const IntegrationOut = Type.Object({
  name: Type.String(), title: Type.String(), description: Type.String(), enabled: Type.Boolean(),
  summary: Type.Record(Type.String(), Type.Unknown(), { description: 'Non-secret facts (endpoint hosts, counts) of an integration that is on' }),
});

export const integrationRoutes: RouteDef[] = [
  route({
    method: 'GET', url: '/v1/integrations', summary: 'Every integration of this server: whether it is on, and a summary without secrets', tags: ['integrations'],
    access: needs('admin', 'provider-admin'),
    schema: { response: { 200: Type.Object({ integrations: Type.Array(IntegrationOut) }) } },
    handler: async ({ deps }) => ({
      body: {
        integrations: INTEGRATIONS.map((i) => {
          const running = deps.integrations.get(i.name);
          return { name: i.name, title: i.config.title, description: i.description, enabled: running !== undefined, summary: running?.summary() ?? {} };
        }),
      },
    }),
  }),
];
