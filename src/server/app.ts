import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions } from 'node:tls';
import { ProbectlError, type ErrorCode } from '../core/errors.ts';
import { parseJsonBytes } from '../core/json-input.ts';
import type { Principal } from '../identity/permissions.ts';
import type { AppDeps } from './deps.ts';
import type { RouteDef } from '../integrations/route.ts';
import type { MountedRoute } from './routes/index.ts';
import { ErrorBody } from './schemas.ts';
import { checkUrlInput } from './url-input.ts';
import { describeValidation, validatorCompiler } from './validation.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface AppOptions {
  /** TLS identity; undefined serves plain HTTP (loopback only, checked by config). */
  tls?: SecureContextOptions & { SNICallback?: (servername: string, cb: (err: Error | null, ctx?: import('node:tls').SecureContext) => void) => void };
  /** Every route with how its handler gets its dependencies (server/routes/index.ts). */
  routes: readonly MountedRoute[];
  version: string;
  /**
   * Log 5xx answers of our own ({code, message}, e.g. a 503 of an unavailable
   * dependency) as `request failed` errors; default true. The CLI's in-process
   * app sets false: the CLI reports the answer itself, and its stderr gets no
   * server log line. Unhandled errors (500 INTERNAL) are logged either way.
   */
  logAnsweredErrors?: boolean;
}

function sourceOf(req: FastifyRequest): string {
  return req.socket.remoteAddress ?? 'local';
}

/**
 * Sends `{code, message, ...extra}`. An error whose body carries
 * `retry_after_seconds` (a positive integer) also carries it as the
 * `Retry-After` header in delta seconds (RFC 9110 §10.2.3).
 */
function errorReply(reply: FastifyReply, code: ErrorCode, status: number, message: string, extra?: Record<string, unknown>) {
  const retry = extra?.['retry_after_seconds'];
  if (typeof retry === 'number' && Number.isSafeInteger(retry) && retry > 0) reply.header('retry-after', String(retry));
  return reply.code(status).type('application/json').send({ code, message, ...(extra ?? {}) });
}

/** An error as the API answers it: status, stable code, message, extra fields; `unhandled` when it was not one of ours. */
interface DescribedError {
  status: number;
  code: ErrorCode;
  message: string;
  extra?: Record<string, unknown> | undefined;
  unhandled?: boolean;
}

/** Classifies any error a route, hook or body parser threw (the one place that decides status and code). */
function describeError(err: FastifyError & { validationContext?: string }, bodyLimit: number): DescribedError {
  if (err instanceof ProbectlError) return { status: err.status, code: err.code, message: err.message, extra: err.details };
  if (err.validation) return { status: 400, code: 'PROBECTL_ERR_VALIDATION', message: describeValidation(err.validationContext, err.validation) };
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'PROBECTL_ERR_BODY_TOO_LARGE', message: `request body exceeds ${bodyLimit} bytes` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'PROBECTL_ERR_UNSUPPORTED_MEDIA_TYPE', message: 'unsupported content type; send application/json' };
    default:
      break;
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, code: 'PROBECTL_ERR_VALIDATION', message: 'bad request' };
  }
  return { status: 500, code: 'PROBECTL_ERR_INTERNAL', message: 'internal error; see the server log', unhandled: true };
}

function logError(req: FastifyRequest, err: unknown, e: DescribedError, answered: boolean): void {
  if (e.unhandled) req.log.error({ err }, 'unhandled error');
  else if (answered && e.status >= 500) req.log.error({ err: { code: e.code, message: e.message } }, 'request failed');
}

/** JSON is UTF-8 (RFC 8259 §8.1): a body declared in another charset is refused, never reinterpreted. */
function refuseNonUtf8Charset(contentType: string | undefined): void {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ProbectlError('PROBECTL_ERR_UNSUPPORTED_MEDIA_TYPE', `JSON bodies must be UTF-8; charset=${JSON.stringify(charset)} is not accepted`);
  }
}

/** Fastify's default longest path parameter (find-my-way): longer ones are refused before routing. */
const MAX_PARAM_LENGTH = 100;

/** How a route renders its errors (RouteDef.renderError). */
type ErrorRenderer = NonNullable<RouteDef['renderError']>;

/**
 * The folders of routes that render their errors in their own shape, longest first: a route
 * `/v1/grafana/api/v1/query` makes `/v1/grafana/api/v1/` answer its router-level refusals (no
 * such route or method, a malformed path) in that shape too, so a Prometheus client that asks
 * an endpoint probectl lacks reads a Prometheus error, not probectl's {code, message}.
 */
function routerErrorShapes(routes: readonly MountedRoute[]): Array<{ folder: string; render: ErrorRenderer }> {
  const shapes = new Map<string, ErrorRenderer>();
  for (const { def } of routes) {
    if (def.renderError) shapes.set(def.url.slice(0, def.url.lastIndexOf('/') + 1), def.renderError);
  }
  return [...shapes].map(([folder, render]) => ({ folder, render })).sort((a, b) => b.folder.length - a.folder.length);
}

/**
 * The answer to a request Node's HTTP parser refused before Fastify saw it (the server's `clientError` event,
 * https://nodejs.org/api/http.html#event-clienterror): probectl's `{code, message}` with 431 (headers over Node's
 * 16 KiB), 408 (its headers not received within `headersTimeout` or all of it within `requestTimeout`) or 400 (not valid HTTP/1.1), written to the socket
 * as Node itself would (`Connection: close`), which is then destroyed. A reset or already-closed socket gets nothing.
 * Fastify's default handler answers these in its own `{error, message, statusCode}` shape.
 *
 * On a keep-alive connection the refused request may follow others whose answers are still being written
 * (`socket._httpMessage`, pipelined requests parsed in one read, or a 408 for a next request stalling while a long
 * answer streams): written now, the refusal would be read as the answer to the earlier request, or land inside its
 * body. It is written once those answers have ended (Node's own handler writes it at once, or drops it once an answer
 * began). A refused request that is itself being answered (its body cut by a bad chunk, or not arrived in time) is
 * refused at once, or only closed once its answer began. The parser refuses every later read of a refused connection
 * again: it is no longer read.
 */
export function clientErrorAnswer(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (refused.has(socket)) return;
  refused.add(socket);
  socket.pause();
  const [status, code, message]: [number, ErrorCode, string] = err.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'PROBECTL_ERR_HEADERS_TOO_LARGE', 'the request line and headers exceed 16 KiB']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'PROBECTL_ERR_REQUEST_TIMEOUT', `the request did not arrive in time: its headers within ${HEADERS_TIMEOUT_MS / 1000} s, all of it within ${REQUEST_TIMEOUT_MS / 1000} s`]
      : [400, 'PROBECTL_ERR_BAD_HTTP', 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify({ code, message });
  const refusal = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  const answer = () => {
    if (socket.destroyed) return;
    const inFlight = (socket as Duplex & { _httpMessage?: InFlight | null })._httpMessage;
    if (inFlight && inFlight.req?.complete === false) {
      // The refused request is this answer's own (its body cut by a bad chunk, or not arrived in time): now, unless
      // its answer began (then only closed, as Node does: the client sees an answer cut short, never a spliced one).
      if (!inFlight.headersSent && socket.writable) socket.write(refusal);
      socket.destroy();
      return;
    }
    if (inFlight && inFlight.writableFinished !== true) {
      // Node's own 'finish' listener (registered first) hands the socket to the next queued answer, if any.
      let waited = false;
      const next = () => {
        if (waited) return;
        waited = true;
        setImmediate(answer);
      };
      inFlight.once('finish', next);
      inFlight.once('close', next);
      return;
    }
    if (socket.writable) socket.write(refusal);
    socket.destroy();
  };
  answer();
}

/** An answer being written on a connection (Node's `socket._httpMessage`, a ServerResponse) and its request. */
type InFlight = NodeJS.EventEmitter & { writableFinished?: boolean; headersSent?: boolean; req?: { complete?: boolean } };

/** Connections whose request clientErrorAnswer has refused (answered once, however many reads the parser refuses after). */
const refused = new WeakSet<Duplex>();

/** Node's deadline for a whole request, headers and body (ms); past it, clientErrorAnswer's 408. */
export const REQUEST_TIMEOUT_MS = 120_000;
/**
 * Node's deadline for a request's headers (ms; `server.headersTimeout`, Node's default of 60 s pinned here): past it
 * the same 408 (ERR_HTTP_REQUEST_TIMEOUT, which does not say which deadline passed), so its message names both.
 */
export const HEADERS_TIMEOUT_MS = 60_000;

export async function buildApp(deps: AppDeps, opts: AppOptions): Promise<FastifyInstance> {
  const logAnswered = opts.logAnsweredErrors ?? true;
  const shapes = routerErrorShapes(opts.routes);
  /** A refusal of the router itself (before any route), in the shape of the route family the path is under. */
  const routerError = (req: FastifyRequest, reply: FastifyReply, code: ErrorCode, status: number, message: string, extra?: Record<string, unknown>) => {
    const path = req.url.split('?')[0] ?? '';
    const shape = shapes.find((s) => path.startsWith(s.folder));
    if (!shape) return errorReply(reply, code, status, message, extra);
    const rendered = shape.render({ status, code, message });
    return reply.code(status).type(rendered.contentType).send(rendered.body);
  };
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.config.bodyLimit,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestTimeout: REQUEST_TIMEOUT_MS,
    clientErrorHandler: clientErrorAnswer,
    // The router's own refusals, before any route or hook: probectl's {code, message} (or the shape of the route family
    // the path is under, routerErrorShapes), never the URL echoed back.
    frameworkErrors: (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => routerError(req, reply, 'PROBECTL_ERR_VALIDATION', 400, err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? `a path segment is longer than ${MAX_PARAM_LENGTH} characters`
      : err.code === 'FST_ERR_BAD_URL' ? 'the URL path is not valid percent-encoded UTF-8' : 'the request could not be routed'),
    ...(opts.tls ? { https: { ...opts.tls, minVersion: 'TLSv1.2' as const } } : {}),
  }) as unknown as FastifyInstance;
  app.server.headersTimeout = HEADERS_TIMEOUT_MS;

  app.setValidatorCompiler(validatorCompiler);

  app.setErrorHandler((err: FastifyError & { validationContext?: string }, req, reply) => {
    const e = describeError(err, deps.config.bodyLimit);
    logError(req, err, e, logAnswered);
    // A refusal on the way to the not-found answer (checkUrlInput: a NUL in the path or query) is the router's too;
    // authentication keeps probectl's shape, as in a route's own error handler.
    if (req.is404 && e.status !== 401 && e.status !== 403) return routerError(req, reply, e.code, e.status, e.message, e.extra);
    return errorReply(reply, e.code, e.status, e.message, e.extra);
  });

  // The one JSON boundary for every route: bounded, non-recursive, refusing what
  // PostgreSQL would refuse or what would be stored changed (src/core/json-input.ts).
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      refuseNonUtf8Charset(req.headers['content-type']);
      done(null, parseJsonBytes(body as Buffer, { subject: 'request body' }));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // JSON routes take JSON only: Fastify's built-in text/plain parser would hand a string to the schema
  // ("body must be object") where the answer is the content type (415).
  app.removeContentTypeParser('text/plain');
  // Query strings and path parameters: the URL half of the same boundary.
  app.addHook('preValidation', async (req) => checkUrlInput(req.url, req.params));

  app.setNotFoundHandler((req, reply) => routerError(req, reply, 'PROBECTL_ERR_NOT_FOUND', 404, `no route ${req.method} ${req.url.split('?')[0]}`));

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
    if (opts.tls) reply.header('strict-transport-security', 'max-age=31536000');
  });

  app.addHook('onResponse', async (req, reply) => {
    const routeLabel = req.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ route: routeLabel, method: req.method, status: String(reply.statusCode) });
    deps.metrics.httpDuration.observe({ route: routeLabel, method: req.method }, reply.elapsedTime / 1000);
    req.log.info({ method: req.method, route: routeLabel, status: reply.statusCode, ms: Math.round(reply.elapsedTime), tenant: req.principal?.tenantId }, 'request');
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'probectl API', version: opts.version, description: 'probectl ecosystem-integration plane. Every route but the operational probes needs a token; errors are JSON {code, message}.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API token' },
          basic: { type: 'http', scheme: 'basic', description: 'Any user name, the API token as password (Grafana datasources)' },
        },
      },
    },
    // A route documented under another path than its router pattern (RouteDef.docs).
    transform: ({ schema, url, route }) => {
      const docs = (route.config as { docs?: RouteDef['docs'] } | undefined)?.docs;
      return docs ? { schema: { ...schema, params: docs.params }, url: docs.url } : { schema, url };
    },
  });

  for (const mounted of opts.routes) {
    if (mounted.def.raw || mounted.def.renderError) await app.register(async (scope) => registerScopedRoute(scope, deps, mounted, logAnswered));
    else registerRoute(app, deps, mounted);
  }

  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

/**
 * A route in its own scope: one whose body is read as raw bytes (remote-write,
 * signed webhooks, form posts), and/or one that renders its errors in its own
 * shape (the Prometheus API). Raw: every content type is taken as a Buffer of
 * at most `raw.limit` bytes (413, or the route's `raw.tooLarge`, beyond); a
 * content type the route does not list is 415. Access still runs first
 * (onRequest), before the body is read; authentication and authorization
 * errors keep probectl's {code, message} shape whatever the route renders.
 */
async function registerScopedRoute(scope: FastifyInstance, deps: AppDeps, mounted: MountedRoute, logAnswered: boolean): Promise<void> {
  const def = mounted.def;
  const raw = def.raw;
  const limit = raw === undefined ? deps.config.bodyLimit : typeof raw.limit === 'function' ? raw.limit(mounted.deps(deps)) : raw.limit;
  if (raw) {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limit }, (req, body, done) => {
      const type = String(req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      if (raw.contentTypes.length > 0 && !raw.contentTypes.includes(type)) {
        done(new ProbectlError('PROBECTL_ERR_UNSUPPORTED_MEDIA_TYPE', `unsupported content type; send ${raw.contentTypes.join(' or ')}`), undefined);
        return;
      }
      done(null, body);
    });
  }
  scope.setErrorHandler(async (err: FastifyError & { validationContext?: string }, req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && raw?.onTooLarge) {
      await raw.onTooLarge({ deps: mounted.deps(deps), params: req.params, headers: req.headers, source: sourceOf(req) }).catch((hookErr: unknown) => req.log.error({ err: (hookErr as Error).message }, 'onTooLarge hook failed'));
    }
    const tooLarge = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && raw?.tooLarge ? raw.tooLarge(limit) : undefined;
    const e = describeError((tooLarge ?? err) as FastifyError & { validationContext?: string }, limit);
    logError(req, err, e, logAnswered);
    if (def.renderError && e.status !== 401 && e.status !== 403) {
      const rendered = def.renderError(e);
      return reply.code(e.status).type(rendered.contentType).send(rendered.body);
    }
    return errorReply(reply, e.code, e.status, e.message, e.extra);
  });
  registerRoute(scope, deps, mounted);
}

function registerRoute(app: FastifyInstance, deps: AppDeps, mounted: MountedRoute): void {
  const def = mounted.def;
  const handlerDeps = mounted.deps(deps);
  const access = def.access;
  const isPublic = 'public' in access;
  const errorResponses = isPublic ? {} : { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
  app.route({
    method: def.method,
    url: def.url,
    ...(def.docs ? { config: { docs: def.docs } } : {}),
    schema: {
      ...def.schema,
      response: { ...errorResponses, ...(def.schema.response ?? {}) },
      summary: def.summary,
      tags: [...def.tags],
      ...(isPublic ? {} : { security: [{ bearer: [] }, { basic: [] }] }),
    },
    // Authentication and authorization run before the body is parsed or validated:
    // an unauthenticated caller learns nothing about what a valid body looks like.
    onRequest: async (req) => {
      if ('public' in access) return;
      const source = sourceOf(req);
      const principal = await deps.auth.authenticate(req.headers.authorization, source);
      if (access.provider && principal.tenantId !== deps.providerTenantId) {
        throw new ProbectlError('PROBECTL_ERR_FORBIDDEN', 'this route is reserved to the provider tenant');
      }
      await deps.auth.authorize(principal, access.anyOf, `${def.method} ${def.url}`, source, access.allOf);
      req.principal = principal;
    },
    handler: async (req, reply) => {
      const gone = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) gone.abort();
      });
      const result = await def.handler({
        deps: handlerDeps,
        principal: req.principal as Principal,
        body: req.body as never,
        query: req.query as never,
        params: req.params as never,
        source: sourceOf(req),
        headers: req.headers,
        signal: gone.signal,
      });
      reply.code(result.status ?? 200);
      if (result.headers) reply.headers(result.headers);
      if (result.contentType) reply.type(result.contentType);
      return result.body;
    },
  });
}
