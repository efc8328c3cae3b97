import type { Static, TSchema } from 'typebox';
import type { Principal, Permission } from '../identity/permissions.ts';

/**
 * The route contract every API route follows — core routes (src/server/routes)
 * with the server's dependencies, integration routes with their
 * integration's (IntegrationRouteDeps): method, URL, access, TypeBox schemas
 * (validation and the OpenAPI document) and a handler returning a Reply.
 * The server registers routes; nothing here imports it.
 */

export type Access =
  | { readonly public: true }
  /**
   * Any one of `anyOf`, and every one of `allOf` as well (when given);
   * `provider` additionally requires the provider tenant.
   */
  | { readonly anyOf: readonly Permission[]; readonly allOf?: readonly Permission[]; readonly provider?: boolean };

export interface RouteSchema {
  body?: TSchema;
  querystring?: TSchema;
  params?: TSchema;
  response?: Record<number, TSchema>;
}

type In<S, K extends keyof RouteSchema> = S extends Record<K, infer T extends TSchema> ? Static<T> : undefined;

export interface HandlerContext<D, S extends RouteSchema> {
  deps: D;
  principal: Principal;
  body: In<S, 'body'>;
  query: In<S, 'querystring'>;
  params: In<S, 'params'>;
  /** Remote address (or `local` for the control socket). */
  source: string;
  /** The request's headers (lower-case names), for the few routes that read one (webhook signatures, content encodings). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Aborted when the client goes away before the answer was sent in full (long-running answers stop their work). */
  signal: AbortSignal;
}

export interface Reply {
  status?: number;
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

/** How a raw-body route reads its body. */
export interface RawBody<D> {
  /** Accepted content types (media type only, lower-case); any when empty. */
  readonly contentTypes: readonly string[];
  /** Most bytes read (the route's dependencies may decide it, e.g. from its settings). */
  readonly limit: number | ((deps: D) => number);
  /** The error for a body over the limit (default: 413 PROBECTL_ERR_BODY_TOO_LARGE). */
  readonly tooLarge?: (limit: number) => Error;
  /** Called before a body over the limit is answered (an inbound webhook audits it); never fails the answer. */
  readonly onTooLarge?: (ctx: { deps: D; params: unknown; headers: Readonly<Record<string, string | string[] | undefined>>; source: string }) => Promise<void>;
}

export interface RouteDef<D = unknown, S extends RouteSchema = RouteSchema> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  summary: string;
  tags: readonly string[];
  access: Access;
  schema: S;
  /**
   * A route whose body is not JSON (remote-write), or must be seen exactly as
   * sent before it is parsed (a signed webhook): the handler gets the raw bytes
   * as `body` (a Buffer), for these content types (any when empty), at most
   * `limit` bytes (413 beyond). Access is checked before the body is read.
   */
  raw?: RawBody<D>;
  /**
   * Renders the route's error answers in a shape of its own (the Prometheus
   * API's `{"status":"error",…}`), for every error but authentication and
   * authorization (401/403 keep `{code, message}`). `err` is the error as the
   * server classified it.
   */
  renderError?(err: { readonly status: number; readonly code: string; readonly message: string }): { body: string; contentType: string };
  /**
   * How the OpenAPI document shows a route whose `url` is a router pattern it cannot show: a
   * wildcard standing for `<name>/values` is documented as `…/label/{name}/values`, with these
   * path parameters.
   */
  docs?: { readonly url: string; readonly params: RouteSchema['params'] };
  handler(ctx: HandlerContext<D, S>): Promise<Reply>;
}

/** Identity function that gives the handler typed body, query and params (`route<Deps>()(def)` fixes the deps type). */
export function routeWith<D>(): <S extends RouteSchema>(def: RouteDef<D, S>) => RouteDef<D> {
  return (def) => def as unknown as RouteDef<D>;
}

export function needs(...anyOf: Permission[]): Access {
  return { anyOf };
}

/** Every one of these permissions (a route showing what two permissions guard needs both). */
export function needsAll(first: Permission, ...rest: Permission[]): Access {
  return { anyOf: [first], allOf: [first, ...rest] };
}

export const PUBLIC: Access = { public: true };
