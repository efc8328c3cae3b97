import { PUBLIC, route, type Access, type RouteDef } from '../route.ts';

export function metricsRoutes(metricsPublic: boolean): RouteDef[] {
  const access: Access = metricsPublic ? PUBLIC : { anyOf: ['metrics-read'], provider: true };
  return [
    route({
      method: 'GET', url: '/metrics', summary: 'The process\'s own Prometheus metrics', tags: ['operations'], access, schema: {},
      handler: async ({ deps }) => ({ body: await deps.metrics.registry.metrics(), contentType: deps.metrics.registry.contentType }),
    }),
  ];
}
