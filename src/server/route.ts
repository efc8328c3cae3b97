import type { Static, TSchema } from 'typebox';
import type { Principal, Permission } from '../identity/permissions.ts';
import type { AppDeps } from './deps.ts';

export type Access =
  | { readonly public: true }
  /** Any one of these permissions; `provider` additionally requires the provider tenant. */
  | { readonly anyOf: readonly Permission[]; readonly provider?: boolean };

export interface RouteSchema {
  body?: TSchema;
  querystring?: TSchema;
  params?: TSchema;
  response?: Record<number, TSchema>;
}

type In<S, K extends keyof RouteSchema> = S extends Record<K, infer T extends TSchema> ? Static<T> : undefined;

export interface HandlerContext<S extends RouteSchema> {
  deps: AppDeps;
  principal: Principal;
  body: In<S, 'body'>;
  query: In<S, 'querystring'>;
  params: In<S, 'params'>;
  /** Remote address (or `local` for the control socket). */
  source: string;
}

export interface Reply {
  status?: number;
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RouteDef<S extends RouteSchema = RouteSchema> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  summary: string;
  tags: readonly string[];
  access: Access;
  schema: S;
  /** Routes whose bodies are not JSON (remote-write) name their content types. */
  handler(ctx: HandlerContext<S>): Promise<Reply>;
}

/** Identity function that gives the handler typed body, query and params. */
export function route<S extends RouteSchema>(def: RouteDef<S>): RouteDef {
  return def as unknown as RouteDef;
}

export function needs(...anyOf: Permission[]): Access {
  return { anyOf };
}

export const PUBLIC: Access = { public: true };
