import { Type } from 'typebox';
import { ProbectlError } from '../../core/errors.ts';
import { PUBLIC, route, type RouteDef } from '../route.ts';

export const healthRoutes: RouteDef[] = [
  route({
    method: 'GET', url: '/healthz', summary: 'Liveness: the process is serving', tags: ['operations'], access: PUBLIC,
    schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    handler: async () => ({ body: { status: 'ok' } }),
  }),
  route({
    method: 'GET', url: '/readyz', summary: 'Readiness: database reachable, every migration applied, and the stored encrypted values under a configured key', tags: ['operations'], access: PUBLIC,
    schema: { response: { 200: Type.Object({ status: Type.Literal('ready') }) } },
    handler: async ({ deps }) => {
      if (deps.encryptionProblem !== undefined) throw new ProbectlError('PROBECTL_ERR_ENCRYPTION_NOT_READY', deps.encryptionProblem);
      const ready = await deps.isReady();
      deps.metrics.dbUp.set(ready ? 1 : 0);
      if (!ready) throw new ProbectlError('PROBECTL_ERR_DB_UNAVAILABLE', 'database unreachable or not migrated');
      return { body: { status: 'ready' } };
    },
  }),
];
