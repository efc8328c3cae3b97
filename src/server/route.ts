import { routeWith, type RouteDef as GenericRouteDef } from '../integrations/route.ts';
import type { AppDeps } from './deps.ts';

export { needs, PUBLIC, type Access, type Reply, type RouteSchema } from '../integrations/route.ts';

/** A core API route: its handler gets the server's dependencies. */
export type RouteDef = GenericRouteDef<AppDeps>;

/** Defines a core route with typed body, query and params. */
export const route = routeWith<AppDeps>();
